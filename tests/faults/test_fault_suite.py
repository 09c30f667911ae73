"""The fault suite in the normal test run, at a small size: a day of traffic while
workers are SIGKILLed, the broker is lost, Kustomer is cut off and storms 429/5xx,
with every event and webhook delivered twice and out of order; then the sandbox's
records are checked (SPEC §5: every accepted event applied exactly once).

It starts its own stack (bench/faults.py: a database of its own, dropped after, a private
redis-server, gunicorn, two workers, beat, the sandbox) in a subprocess, so it needs
PostgreSQL at 127.0.0.1 and the redis-server binary. `make faults` runs the full size.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _postgres_answers() -> bool:
    try:
        import psycopg

        with psycopg.connect(os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432") + "/postgres",
                             connect_timeout=3):
            return True
    except Exception:
        return False


@pytest.mark.e2e
@pytest.mark.timeout(600)
def test_fault_suite_loses_and_duplicates_nothing():
    missing = [what for what, ok in (("PostgreSQL at 127.0.0.1", _postgres_answers()),
                                     ("redis-server", shutil.which("redis-server") is not None)) if not ok]
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the fault suite needs {', '.join(missing)} (CI=true)", pytrace=False)
        pytest.skip(f"the fault suite needs {', '.join(missing)}")
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL",
                                                           "CELERY_BROKER_URL", "CACHE_URL")}
    done = subprocess.run(
        # A database of this run alone: two people's test runs on one machine never collide.
        [sys.executable, "bench/faults.py", "--events", "50", "--outage", "15", "--settle", "180", "--no-record",
         "--database", f"portal_bench_faults_{os.getpid()}", "--drop-database"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=560,
    )
    tail = (done.stdout + done.stderr)[-6000:]
    assert done.returncode == 0, tail
    assert "VERDICT: PASS: 0 lost, 0 duplicated" in done.stdout, tail
