"""Fixtures for the sandbox tests: an authenticated client and a webhook receiver."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


@pytest.fixture
def kapi(sandbox_org):
    """A requests session for the sandbox org, with `.url(path)` for /v1 paths."""
    session = sandbox_org.session()
    session.url = lambda path: f"{sandbox_org.base_url}/v1{path}"  # type: ignore[attr-defined]
    yield session
    session.close()


@pytest.fixture
def kapi_demo(sandbox_demo_org):
    """Like `kapi`, for the demo-seeded org (agents, teams, statuses, sessions)."""
    session = sandbox_demo_org.session()
    session.url = lambda path: f"{sandbox_demo_org.base_url}/v1{path}"  # type: ignore[attr-defined]
    yield session
    session.close()


@dataclass
class WebhookReceiver:
    """An HTTP endpoint that records deliveries; answers `fail_first` 500s first."""

    url: str = ""
    received: list[dict] = field(default_factory=list)
    fail_first: int = 0
    attempts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ, start_response):
        request = Request(environ)
        with self.lock:
            self.attempts += 1
            failing = self.attempts <= self.fail_first
            if not failing:
                self.received.append({"headers": dict(request.headers), "body": request.get_data()})
        return Response("boom" if failing else "ok", status=500 if failing else 200)(environ, start_response)


@pytest.fixture
def webhook_receiver():
    receiver = WebhookReceiver()
    server = make_server("127.0.0.1", 0, receiver, threaded=True)
    receiver.url = f"http://127.0.0.1:{server.server_port}/hook"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()
