"""`SandboxServer`: the threaded Werkzeug server plus the webhook delivery thread."""
from __future__ import annotations

import logging
import threading
from typing import Sequence

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .app import SandboxApp
from .demo import seed_demo_org
from .store import DEFAULT_CUSTOMER_CREATE_LIMIT_PER_MINUTE, DEFAULT_RATE_LIMIT_PER_MINUTE, Org, SandboxState
from .webhooks import WebhookDispatcher

logger = logging.getLogger(__name__)


class _QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug logs every request to stderr; the sandbox keeps its own request log."""

    def log_request(self, *args, **kwargs) -> None:  # noqa: D401 - Werkzeug hook
        if logger.isEnabledFor(logging.DEBUG):
            super().log_request(*args, **kwargs)

    def log_error(self, *args, **kwargs) -> None:
        # Injected drops and timeouts produce socket errors by design.
        logger.debug("sandbox connection error: %s", args)


class SandboxServer:
    """A Kustomer API look-alike on `host:port` (port 0 picks a free one).

    `webhook_retry_delays` replaces Kustomer's retry schedule (1, 1, 2, 5, 10, 15, 30
    minutes), e.g. `[0.1] * 7` in tests.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        webhook_retry_delays: Sequence[float] | None = None,
        seed: int | None = None,
    ) -> None:
        self.state = SandboxState()
        self.dispatcher = WebhookDispatcher(self.state, webhook_retry_delays)
        self.app = SandboxApp(self.state, self.dispatcher, seed=seed)
        self._server: BaseWSGIServer = make_server(
            host, port, self.app, threaded=True, request_handler=_QuietRequestHandler,
        )
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return self._server.server_address[0]

    @property
    def port(self) -> int:
        return self._server.server_port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "SandboxServer":
        """Serve from a background thread; returns self."""
        self.state.stopping.clear()
        self.dispatcher.start()
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="kustomer-sandbox", daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the management command's way)."""
        self.state.stopping.clear()
        self.dispatcher.start()
        try:
            self._server.serve_forever()
        finally:
            self._shutdown_helpers()

    def stop(self) -> None:
        self.state.stopping.set()  # wake requests sleeping in injected faults
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._server.server_close()
        self._shutdown_helpers()

    def _shutdown_helpers(self) -> None:
        self.state.stopping.set()
        self.dispatcher.stop()

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -- helpers for code and tests that hold the server object -------------------------
    def create_org(
        self,
        name: str,
        api_key: str,
        rate_limit_per_minute: int = DEFAULT_RATE_LIMIT_PER_MINUTE,
        *,
        customer_create_limit_per_minute: int = DEFAULT_CUSTOMER_CREATE_LIMIT_PER_MINUTE,
    ) -> Org:
        return self.state.create_org(
            name, api_key, rate_limit_per_minute, customer_create_limit_per_minute=customer_create_limit_per_minute,
        )

    def seed_demo_org(self, *, name: str = "Sandbox Demo", api_key: str = "sandbox-demo-key", **options) -> Org:
        return seed_demo_org(self.state, name=name, api_key=api_key, **options)
