"""End-to-end fixtures: the real path, as in production.

HTTP into the API (pytest-django's live server), PostgreSQL, a real Celery worker process
on Redis, HTTP out to the Kustomer sandbox. These need PostgreSQL and Redis: with
CI=true a missing one fails the run loudly instead of skipping.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]


def _require(condition: bool, reason: str) -> None:
    if condition:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"end-to-end tests need {reason} (CI=true)", pytrace=False)
    pytest.skip(f"end-to-end tests need {reason}")


@pytest.fixture(scope="session")
def e2e_queue() -> str:
    """A queue of this test run alone: other runs on the same Redis never take its tasks."""
    return f"e2e-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, e2e_queue):
    """A real `celery worker` process on the test database and the Redis broker."""
    from django.conf import settings
    from django.db import connection

    _require(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    _require(settings.CELERY_BROKER_URL.startswith("redis"), "Redis (set CELERY_BROKER_URL)")
    from portal.celery import app

    app.conf.task_default_queue = e2e_queue
    worker = start_celery_worker(e2e_queue, concurrency=4)
    yield worker
    stop_celery_worker(worker)


def start_celery_worker(queue: str, *, concurrency: int = 2, log_name: str = "worker",
                        pool: str | None = None) -> "WorkerHandle":
    """Start a real `celery worker` process consuming `queue`, on the test database and
    the Redis broker; return once it is ready. `pool`: the product's default
    (CELERY_WORKER_POOL, threads) unless told."""
    from django.conf import settings
    from django.db import connection

    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings_test",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "KUSTOMER_RATE_LIMIT_URL": settings.KUSTOMER_RATE_LIMIT_URL,
        "PYTHONUNBUFFERED": "1",
    }
    log_path = Path(settings.VAR_DIR) / f"{queue}-{log_name}.log"
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "portal", "worker", "--loglevel", "INFO",
         "--pool", pool or settings.CELERY_WORKER_POOL,
         "--concurrency", str(concurrency), "--queues", queue, "--hostname", f"{queue}@%h",
         "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    log.close()  # the child keeps its own descriptor
    deadline = time.monotonic() + 30
    while "ready." not in log_path.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("Celery worker did not start:\n" + log_path.read_text()[-3000:])
        time.sleep(0.2)
    return WorkerHandle(proc=proc, log_path=log_path)


def stop_celery_worker(worker: "WorkerHandle") -> None:
    """Warm shutdown through the leader, then make sure no pool child outlives it holding
    a connection to the test database (which would stop its teardown)."""
    worker.proc.terminate()
    try:
        worker.proc.wait(15)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(worker.proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@dataclass
class WorkerHandle:
    proc: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text()


@dataclass
class E2E:
    """What an end-to-end test works with."""

    tenant: object
    url: str  # the portal's live URL
    api: requests.Session  # authenticated with the tenant's API key (all scopes)
    api_key: str
    sandbox: object  # the sandbox org (see kustomer_sandbox.pytest_plugin)
    worker: WorkerHandle

    def post(self, path: str, body: dict) -> requests.Response:
        return self.api.post(self.url + path, json=body, timeout=30)

    def get(self, path: str) -> requests.Response:
        return self.api.get(self.url + path, timeout=30)

    def wait_for(self, predicate, *, timeout: float = 30, interval: float = 0.2, what: str = "condition"):
        """Poll until predicate() is truthy; fail with the worker's log tail otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what}\n--- worker log ---\n{self.worker.log()[-4000:]}")
            time.sleep(interval)


@pytest.fixture
def e2e(transactional_db, live_server, celery_worker_process, sandbox_org):
    """A tenant connected to a fresh sandbox org, its API key, the live portal and a
    worker; tasks go to the real worker (not run eagerly)."""
    from integrations.models import KustomerConnection
    from portal.celery import app
    from core.crypto import encrypt_secret
    from tests.tenants.factories import TenantFactory, make_api_key

    tenant = TenantFactory(name="E2E Tenant", slug=f"e2e-{uuid.uuid4().hex[:6]}")
    KustomerConnection.objects.create(
        tenant=tenant,
        base_url=sandbox_org.base_url,
        api_key_encrypted=encrypt_secret(sandbox_org.api_key),
        verify_state=KustomerConnection.VerifyState.OK,
    )
    _, plain = make_api_key(tenant)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {plain}"
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        yield E2E(tenant=tenant, url=live_server.url, api=session, api_key=plain, sandbox=sandbox_org, worker=celery_worker_process)
    finally:
        app.conf.task_always_eager = eager


@pytest.fixture(scope="session", autouse=True)
def _drop_stray_test_database_sessions(django_db_setup, django_db_blocker):
    """Before the test database is dropped, end the sessions that test threads left
    open (live-server keep-alive threads serving the browser tests, worker threads of
    race tests): otherwise PostgreSQL refuses to drop it and the next run starts with a
    stale database. (Set up after the database, so torn down before it.)"""
    yield
    from django.db import connection

    if connection.vendor != "postgresql" or not connection.settings_dict["NAME"].startswith("test_"):
        return
    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
