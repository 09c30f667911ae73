"""Run the whole product on this machine from one command; one Ctrl-C stops it all.

Starts the Kustomer sandbox (with a demo org), the web server (gunicorn), a Celery
worker and Celery beat, after migrating and setting up the demo tenant. Each process's
output is prefixed with its name. If any process dies, the others are stopped too.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

COLORS = ["\033[36m", "\033[35m", "\033[33m", "\033[32m", "\033[34m"]
RESET = "\033[0m"


def public_url(*, host: str, port: int, environ) -> str:
    """The URL Kustomer's webhooks are subscribed with: PORTAL_PUBLIC_URL when the
    environment names one, else this stack's own address (a stack on another --port gets
    its own webhooks, not port 8000's)."""
    if environ.get("PORTAL_PUBLIC_URL"):
        return environ["PORTAL_PUBLIC_URL"]
    reachable = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
    return f"http://{reachable}:{port}"


class Command(BaseCommand):
    help = "Run sandbox, web server, Celery worker and beat together (Ctrl-C stops all)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--sandbox-port", type=int, default=8765)
        parser.add_argument("--workers", type=int, default=None,
                            help="Tasks the Celery worker runs at once (default CELERY_WORKER_CONCURRENCY).")
        parser.add_argument("--pool", choices=["threads", "prefork", "solo"], default=None,
                            help="Celery pool (default CELERY_WORKER_POOL: threads; docs/concurrency.md).")
        parser.add_argument("--web-workers", type=int, default=2, help="gunicorn worker processes.")
        parser.add_argument("--no-sandbox", action="store_true", help="Use the Kustomer org configured in the portal instead.")

    def handle(self, *args, **opts):
        python = sys.executable
        manage = [python, str(settings.BASE_DIR / "manage.py")]
        env = os.environ.copy()
        sandbox_url = f"http://127.0.0.1:{opts['sandbox_port']}"
        env["KUSTOMER_SANDBOX_URL"] = sandbox_url
        env["PORTAL_PUBLIC_URL"] = public_url(host=opts["host"], port=opts["port"], environ=os.environ)
        settings.PORTAL_PUBLIC_URL = env["PORTAL_PUBLIC_URL"]  # demo_setup runs in this process
        if not opts["no_sandbox"]:
            # The demo's recordings and files are served from this machine (loopback).
            env.setdefault("SYNC_FETCH_ALLOW_PRIVATE", "true")
            # The adapter loads the sandbox's Cards SDK stand-in instead of Kustomer's CDN.
            env.setdefault("KUSTOMER_CARDS_SDK_URL", f"{sandbox_url}/__sandbox/card-js/kustomer-card.min.js")

        call_command("migrate", interactive=False, verbosity=0)
        # Counts of an earlier run's processes would be added to this run's (/metrics).
        for stale in Path(settings.PROMETHEUS_MULTIPROC_DIR).glob("*.db"):
            stale.unlink(missing_ok=True)
        call_command("collectstatic", interactive=False, verbosity=0)

        procs: dict[str, subprocess.Popen] = {}
        specs: list[tuple[str, list[str]]] = []
        if not opts["no_sandbox"]:
            specs.append(("sandbox", manage + ["kustomer_sandbox", "--port", str(opts["sandbox_port"]), "--demo"]))
        specs += [
            (
                "web",
                [python, "-m", "gunicorn", "portal.wsgi:application", "--bind", f"{opts['host']}:{opts['port']}",
                 "--workers", str(opts["web_workers"]), "--access-logfile", "-", "--graceful-timeout", "5"],
            ),
            ("worker", [python, "-m", "celery", "-A", "portal", "worker", "--loglevel", "INFO",
                        # The customer lock holds across threads and processes on SQLite too
                        # (a file lock, conversations/locks.py).
                        "--pool", opts["pool"] or settings.CELERY_WORKER_POOL,
                        "--concurrency", str(opts["workers"] or settings.CELERY_WORKER_CONCURRENCY),
                        "--hostname", "worker@%h"]),
            ("beat", [python, "-m", "celery", "-A", "portal", "beat", "--loglevel", "INFO",
                      "--schedule", str(settings.VAR_DIR / "celerybeat-schedule")]),
        ]
        stopping = threading.Event()

        def stop_all(*_):
            if stopping.is_set():
                return
            stopping.set()
            self.stdout.write("\nStopping…")
            # SIGTERM to each leader only: gunicorn and Celery shut their own children
            # down gracefully (a Celery worker finishes its task first).
            for proc in procs.values():
                if proc.poll() is None:
                    proc.terminate()
            deadline = time.monotonic() + 15
            for name, proc in procs.items():
                try:
                    proc.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    self.stderr.write(f"{name} did not stop in time; killing it.")
                finally:
                    try:
                        os.killpg(proc.pid, signal.SIGKILL)  # whatever it left behind
                    except ProcessLookupError:
                        pass

        signal.signal(signal.SIGINT, stop_all)
        signal.signal(signal.SIGTERM, stop_all)

        for index, (name, cmd) in enumerate(specs):
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, text=True, bufsize=1)
            procs[name] = proc
            threading.Thread(target=self._pump, args=(name, proc, COLORS[index % len(COLORS)]), daemon=True).start()
            if name == "sandbox":
                self._wait_for(f"{sandbox_url}/__sandbox/orgs", procs)

        if not opts["no_sandbox"]:
            call_command("demo_setup", sandbox_url=sandbox_url)
        self._wait_for(f"http://{opts['host']}:{opts['port']}/healthz", procs)
        self.stdout.write(self.style.SUCCESS(f"\nPortal:  http://{opts['host']}:{opts['port']}/   (Ctrl-C stops everything)"))
        if not opts["no_sandbox"]:
            self.stdout.write(self.style.SUCCESS(f"Kustomer sandbox: {sandbox_url}/__sandbox/"))

        while not stopping.is_set():
            for name, proc in procs.items():
                if proc.poll() is not None and not stopping.is_set():
                    self.stderr.write(f"{name} exited with {proc.returncode}; stopping the others.")
                    stop_all()
                    raise CommandError(f"{name} stopped unexpectedly")
            time.sleep(0.5)

    def _pump(self, name: str, proc: subprocess.Popen, color: str) -> None:
        for line in proc.stdout:
            sys.stdout.write(f"{color}{name:>7} |{RESET} {line}")
            sys.stdout.flush()

    def _wait_for(self, url: str, procs: dict, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in procs.items():
                if proc.poll() is not None:
                    raise CommandError(f"{name} exited with {proc.returncode} during start-up")
            try:
                with urllib.request.urlopen(url, timeout=2):
                    return
            except Exception:
                time.sleep(0.3)
        raise CommandError(f"{url} did not answer within {timeout:.0f} s")
