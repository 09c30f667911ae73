"""`python manage.py kustomer_sandbox --port 8765 [--host 127.0.0.1] [--demo] [--latency-ms 150]`

Runs the Kustomer sandbox (kustomer_sandbox) in the foreground until
Ctrl-C. A thin wrapper: all behaviour lives in the standalone sandbox package.
"""
from __future__ import annotations

import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from kustomer_sandbox import SandboxServer
from kustomer_sandbox.webhooks import DEFAULT_RETRY_DELAYS


class Command(BaseCommand):
    help = "Run the Kustomer sandbox API server in the foreground (Ctrl-C stops it)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--demo", action="store_true", help="seed a demo org (agents, teams, statuses, queues)")
        parser.add_argument("--demo-api-key", default="sandbox-demo-key")
        parser.add_argument("--demo-org-name", default="Sandbox Demo")
        parser.add_argument(
            "--webhook-retry-scale", type=float, default=1.0,
            help="multiply Kustomer's webhook retry delays (1,1,2,5,10,15,30 min), e.g. 0.01 for demos",
        )
        parser.add_argument(
            "--latency-ms", type=int, default=0,
            help="answer every API request this much later, as real Kustomer does (50-150 ms); each request "
                 "waits in its own thread, so the others are not held up (POST /__sandbox/faults changes it)",
        )

    def handle(self, *args, **options):
        if options["webhook_retry_scale"] <= 0:
            raise CommandError("--webhook-retry-scale must be positive")
        delays = [delay * options["webhook_retry_scale"] for delay in DEFAULT_RETRY_DELAYS]
        try:
            server = SandboxServer(options["host"], options["port"], webhook_retry_delays=delays)
        except OSError as exc:
            raise CommandError(f"cannot listen on {options['host']}:{options['port']}: {exc}") from exc
        if options["latency_ms"] < 0:
            raise CommandError("--latency-ms must not be negative")
        if options["latency_ms"]:
            from kustomer_sandbox.faults import fault_config_update

            with server.state.lock:
                fault_config_update(server.state.global_faults, {"latency_ms": options["latency_ms"]})
        if options["demo"]:
            org = server.seed_demo_org(name=options["demo_org_name"], api_key=options["demo_api_key"])
            self.stdout.write(f"Demo org {org.name} ({org.id}), API key: {options['demo_api_key']}")
        self.stdout.write(f"Kustomer sandbox on {server.url}  (API {server.url}/v1/, pages {server.url}/__sandbox/)")
        # Serve from the server's thread; this one waits for Ctrl-C or SIGTERM (how
        # `run_stack` stops it) and then shuts down in order, whatever the server was doing.
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        server.start()
        try:
            while not stop.wait(0.5):
                pass
        finally:
            server.stop()
            self.stdout.write("Kustomer sandbox stopped.")
