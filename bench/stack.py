"""Start and stop the product's processes for the benchmarks and the fault suite:
the Kustomer sandbox, gunicorn, Celery workers and beat, on PostgreSQL and Redis,
all bound to 127.0.0.1. Every wait has a deadline; every process started here is
stopped here (by its own process group, never by name).

The driver scripts import this module *before* Django is set up: `configure()` puts
the stack's database, broker and settings into the environment first, so the driver
itself reads and writes the same database through the ORM.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
LOG_DIR = ROOT / "var" / "bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, *, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def http_json(method: str, url: str, body=None, headers: dict | None = None, timeout: float = 10.0):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            return response.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw)
        except ValueError:
            return exc.code, raw.decode(errors="replace")


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except Exception:
        return False


@dataclass
class StackConfig:
    database: str  # PostgreSQL database name (recreated)
    broker_url: str
    cache_url: str
    queue: str
    web_port: int = field(default_factory=free_port)
    sandbox_port: int = field(default_factory=free_port)
    pg_url: str = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
    settings_module: str = "bench.settings"
    extra_env: dict = field(default_factory=dict)

    @property
    def database_url(self) -> str:
        return f"{self.pg_url}/{self.database}"

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.sandbox_port}"

    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": self.settings_module,
            "DATABASE_URL": self.database_url,
            "CELERY_BROKER_URL": self.broker_url,
            "CACHE_URL": self.cache_url,
            "KUSTOMER_RATE_LIMIT_URL": self.broker_url,
            "CELERY_TASK_DEFAULT_QUEUE": self.queue,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "DJANGO_DEBUG": "0",
            # BENCH_LOG_LEVEL=INFO: the workers' per-task lines in var/bench/*.log
            "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
            "PORTAL_PUBLIC_URL": self.web_url,
            "KUSTOMER_SANDBOX_URL": self.sandbox_url,
            "SYNC_FETCH_ALLOW_PRIVATE": "1",
            # One key sends the whole load: the throttle's counter runs (its cost is
            # measured) but never refuses.
            "API_RATE_PER_KEY": "100000000/min",
            "PYTHONUNBUFFERED": "1",
            "PORTAL_VAR_DIR": str(ROOT / "var" / "bench" / self.database),
            **self.extra_env,
        }
        return env


def configure(config: StackConfig) -> None:
    """Point this process (the driver) at the stack's database and settings."""
    os.environ.update(config.env())
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def recreate_database(config: StackConfig) -> None:
    import psycopg

    with psycopg.connect(f"{config.pg_url}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{config.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{config.database}"')
    run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], config, timeout=300)


def drop_database(config: StackConfig) -> None:
    """Drop the stack's database (this process's connections to it closed first)."""
    from django.db import connections

    connections.close_all()
    import psycopg

    with psycopg.connect(f"{config.pg_url}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{config.database}" WITH (FORCE)')


def run(cmd: list[str], config: StackConfig, timeout: float) -> str:
    done = subprocess.run(cmd, cwd=ROOT, env=config.env(), capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return done.stdout


class Process:
    """A child process in its own process group, its output in a log file."""

    def __init__(self, name: str, cmd: list[str], config: StackConfig, env: dict | None = None) -> None:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.cmd = cmd
        self.config = config
        self.log_path = LOG_DIR / f"{config.database}-{name}.log"
        self._env = env
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Process":
        log = open(self.log_path, "a")
        log.write(f"\n=== start {time.strftime('%H:%M:%S')} {' '.join(self.cmd)}\n")
        log.flush()
        self.proc = subprocess.Popen(self.cmd, cwd=ROOT, env=self._env or self.config.env(), stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        return self

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def signal(self, sig: int) -> None:
        if self.alive():
            os.killpg(self.proc.pid, sig)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM to the leader only (Celery and gunicorn masters then shut their
        children down warmly), the whole group killed if it is not gone in time."""
        if not self.alive():
            return
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # stragglers of the group, if any
        except ProcessLookupError:
            pass
        if self.proc.poll() is None:
            self.proc.wait(5)

    def kill(self) -> None:
        """SIGKILL the whole group (the worker and its pool children), no goodbye."""
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)

    def children(self) -> list[int]:
        if not self.alive():
            return []
        try:
            out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)], capture_output=True, text=True,
                                 timeout=5).stdout
        except (OSError, subprocess.TimeoutExpired):
            return []
        return [int(p) for p in out.split()]


class Stack:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.processes: list[Process] = []

    def _add(self, process: Process) -> Process:
        self.processes.append(process)
        return process.start()

    def sandbox_subprocess(self, *, latency_ms: int = 0) -> Process:
        """The sandbox in a process of its own (threaded: an added latency holds only
        the request it delays; POST /__sandbox/faults {"latency_ms": ...} changes it)."""
        proc = self._add(Process("sandbox", [PYTHON, "manage.py", "kustomer_sandbox", "--port",
                                             str(self.config.sandbox_port), "--webhook-retry-scale", "0.01",
                                             "--latency-ms", str(latency_ms)],
                                 self.config))
        wait_until(lambda: answers(f"{self.config.sandbox_url}/__sandbox/orgs") or self._dead(proc), timeout=60,
                   what="the Kustomer sandbox")
        self._check(proc)
        return proc

    def web(self, *, workers: int = 3, port: int | None = None, wsgi: str = "portal.wsgi:application") -> Process:
        port = port or self.config.web_port
        proc = self._add(Process(f"web-{port}", [
            PYTHON, "-m", "gunicorn", wsgi, "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
            "--worker-class", "sync", "--graceful-timeout", "5", "--timeout", "60", "--backlog", "2048",
        ], self.config))
        wait_until(lambda: answers(f"http://127.0.0.1:{port}/healthz") or self._dead(proc), timeout=60,
                   what="gunicorn")
        self._check(proc)
        return proc

    def worker(self, name: str, *, concurrency: int | None = None, pool: str | None = None,
               extra: list[str] | None = None) -> Process:
        """A Celery worker: `pool` and `concurrency` default to the stack's environment's
        CELERY_WORKER_POOL / CELERY_WORKER_CONCURRENCY (threads, 16: portal/settings.py),
        read now, so a driver can change them between workers."""
        env = self.config.env()
        pool = pool or env.get("CELERY_WORKER_POOL") or "threads"
        sqlite = env.get("DATABASE_URL", "").startswith("sqlite")
        concurrency = concurrency or int(env.get("CELERY_WORKER_CONCURRENCY") or (4 if sqlite else 16))
        proc = self._add(Process(name, [
            PYTHON, "-m", "celery", "-A", "portal", "worker", "--loglevel", "INFO", "--concurrency", str(concurrency),
            "--pool", pool, "--queues", self.config.queue, "--hostname", f"{name}-{self.config.queue}@%h",
            "--without-gossip", "--without-mingle", *(extra or []),
        ], self.config))
        wait_until(lambda: "ready." in proc.log_tail(20000) or self._dead(proc), timeout=60,
                   what=f"celery worker {name}")
        self._check(proc)
        return proc

    def beat(self) -> Process:
        schedule = LOG_DIR / f"{self.config.database}-beat-schedule"
        for path in LOG_DIR.glob(f"{self.config.database}-beat-schedule*"):
            path.unlink()
        return self._add(Process("beat", [
            PYTHON, "-m", "celery", "-A", "portal", "beat", "--loglevel", "WARNING", "--schedule", str(schedule),
        ], self.config))

    def _dead(self, proc: Process) -> bool:
        return not proc.alive()

    def _check(self, proc: Process) -> None:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited during start-up:\n{proc.log_tail()}")

    def stop(self, process: Process) -> None:
        process.stop()
        if process in self.processes:
            self.processes.remove(process)

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            try:
                process.stop()
            except Exception:  # keep stopping the others
                pass
        self.processes.clear()


def flush_redis(url: str) -> None:
    """Empty the stack's own Redis database before a run. Only ever db 15 of the shared
    server (this suite's) or a private server on another port: never anyone else's."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5)
    port = client.connection_pool.connection_kwargs.get("port")
    db = client.connection_pool.connection_kwargs.get("db")
    if port == 6379 and db != 15:
        raise RuntimeError(f"refusing to flush {url}: only db 15 of the shared Redis belongs to the benchmarks")
    client.flushdb()


def machine_description() -> str:
    import platform

    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) // 1024 // 1024} GiB"
                break
    except OSError:
        pass
    pg = "?"
    try:
        pg = subprocess.run(["psql", "--version"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        pass
    redis_v = "?"
    try:
        redis_v = subprocess.run(["redis-server", "--version"], capture_output=True, text=True,
                                 timeout=5).stdout.split()[2]
    except (OSError, subprocess.TimeoutExpired, IndexError):
        pass
    return (f"{os.cpu_count()} CPUs ({cpu}), {mem} RAM, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, {pg}, Redis {redis_v}")


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"
