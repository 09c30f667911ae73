"""The day simulator with a judge (bench/soak.py, issue 22) in the normal test run, at a
small size, on both set-ups: the single-machine default (SQLite, the embedded broker)
and PostgreSQL + a private Redis with two workers and Kustomer faults. Each ends with
every accepted event settled, the queue empty and 0 violations of the invariants the
judge derives from the events alone, shared numbers (R-O1) and sessions without an end
(R-O2) among them, for the default tenant and for a tenant whose call logging policies
are not the defaults (SPEC §6: a skipped kind, only known numbers, a reopen window,
delayed call and chat records, a default user and team), judged against what its
policies say. `make soak` runs it at full size."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.faults.test_fault_suite import _postgres_answers

ROOT = Path(__file__).resolve().parents[2]


def _soak(*args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL",
                                                           "CELERY_BROKER_URL", "CACHE_URL")}
    done = subprocess.run([sys.executable, "bench/soak.py", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=420)
    tail = (done.stdout + done.stderr)[-6000:]
    assert done.returncode == 0, tail
    assert "VERDICT: PASS: 0 violations" in done.stdout, tail
    # The second tenant's call logging policies (SPEC §6, R-P1..R-P6) were judged too.
    assert "'policies: messages per event': " in done.stdout and "soakp sessions: " in done.stdout, tail
    return done.stdout


@pytest.mark.e2e
@pytest.mark.timeout(450)
def test_a_day_on_the_single_machine_default_ends_consistent():
    out = _soak("--setup", "single", "--events", "60", "--agents", "4", "--rate", "12", "--settle", "150",
                "--database", f"portal_soak_single_{os.getpid()}")
    assert "queue depth peak / end: " in out and out.split("queue depth peak / end: ")[1].split("\n")[0].endswith("/ 0")


@pytest.mark.e2e
@pytest.mark.timeout(450)
def test_a_day_on_postgresql_and_redis_with_faults_ends_consistent():
    missing = [what for what, ok in (("PostgreSQL at 127.0.0.1", _postgres_answers()),
                                     ("redis-server", shutil.which("redis-server") is not None)) if not ok]
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the soak needs {', '.join(missing)} (CI=true)", pytrace=False)
        pytest.skip(f"the soak needs {', '.join(missing)}")
    _soak("--setup", "pg", "--faults", "--priority", "CRM_OVERRIDES", "--events", "60", "--agents", "4",
          "--rate", "12", "--settle", "180", "--database", f"portal_soak_pg_{os.getpid()}", "--drop-database")
