"""R-O3 backfill end to end (the API on a live server, PostgreSQL, real Celery workers on
Redis, the Kustomer sandbox): sessions made before a field existed get its value in
Kustomer from the events the portal holds; a cancelled job stops; a job whose worker is
killed resumes on another without writing any record twice; and live events are not
delayed behind it (it keeps off the live events' reserve of the rate budget)."""
from __future__ import annotations

import os
import signal
import uuid
from collections import Counter

import pytest

from tests.conversations.e2e_helpers import apply, event, wait_done, send
from tests.e2e_fixtures import start_celery_worker, stop_celery_worker

pytestmark = pytest.mark.e2e


def _field(e2e, key: str) -> int:
    r = e2e.post("/api/v1/custom-fields", {"key": key})
    assert r.status_code == 201, r.text
    field_id = r.json()["id"]
    e2e.wait_for(lambda: e2e.get(f"/api/v1/custom-fields/{field_id}").json()["state"] == "created",
                 timeout=60, what=f"{key} created in Kustomer")
    return field_id


def _start(e2e, field_id: int, days: int = 30) -> int:
    r = e2e.post(f"/api/v1/custom-fields/{field_id}/backfills", {"days": days})
    assert r.status_code == 202, r.text
    return r.json()["id"]


def _job(e2e, job_id: int) -> dict:
    r = e2e.get(f"/api/v1/backfills/{job_id}")
    assert r.status_code == 200, r.text
    return r.json()


def _until(e2e, job_id: int, predicate, what: str, timeout: float = 60) -> dict:
    return e2e.wait_for(lambda: (j := _job(e2e, job_id)) and predicate(j) and j, timeout=timeout, what=what)


def _sessions(e2e, count: int, *, prefix: str) -> list[dict]:
    """`count` calls the portal logged before any field existed (one message each)."""
    done = []
    for n in range(count):
        body = event("call.answered", f"{prefix}-{n}", phone=f"+1415555{n:04d}", agent=None)
        done.append(apply(e2e, body))
    return done


def _message_custom(e2e, message_id: str) -> dict:
    return next(m for m in e2e.sandbox.messages() if m["id"] == message_id)["attributes"].get("custom") or {}


def test_r_o3_kustomer_holds_the_values_of_earlier_sessions_afterwards(e2e):
    calls = _sessions(e2e, 2, prefix="bf-call")
    chat = apply(e2e, event("session.started", "bf-chat", phone=None, identifier="app-user-7", channel="chat",
                            source="mobile_sdk", agent=None))
    ended = apply(e2e, event("session.ended", "bf-call-0", phone="+14155550000", agent=None,
                             data={"duration_seconds": 42}))
    queue, duration, user_id = _field(e2e, "queue_name"), _field(e2e, "call_duration"), _field(e2e, "custom_user_id")
    messages = [m for s in calls + [chat, ended] for m in s["kustomer"].get("message_ids", [])]
    assert messages and all("queueNameStr" not in _message_custom(e2e, m) for m in messages)  # R-F3: not live

    jobs = {name: _start(e2e, field) for name, field in (("queue", queue), ("duration", duration), ("user", user_id))}
    finished = {name: _until(e2e, job, lambda j: j["state"] == "done", f"{name} backfill done")
                for name, job in jobs.items()}

    assert finished["queue"]["total"] == 3 and finished["queue"]["written"] == 3 and finished["queue"]["percent"] == 100
    for m in messages:
        assert _message_custom(e2e, m)["queueNameStr"] == "Billing"
    # The duration came with the session's end: the call's messages hold it, the other call and the chat skip.
    assert finished["duration"]["written"] == 1 and finished["duration"]["skipped"] == 2
    for m in calls[0]["kustomer"]["message_ids"]:
        assert _message_custom(e2e, m)["callDurationNum"] == 42
    # An Account field goes on the customer: only the app user has an identifier.
    assert finished["user"]["total"] == 3 and finished["user"]["written"] == 1
    customer = next(c for c in e2e.sandbox.customers() if c["id"] == chat["kustomer"]["customer_id"])
    assert customer["attributes"]["custom"]["customUserIdStr"] == "app-user-7"

    again = e2e.post(f"/api/v1/custom-fields/{queue}/backfills", {"days": 0})
    assert again.status_code == 400 and "days" in again.json()["errors"]


def test_r_o3_live_events_go_first_and_a_cancelled_backfill_stops(e2e):
    from integrations.models import KustomerConnection

    sessions = _sessions(e2e, 12, prefix="bf-live")
    queue = _field(e2e, "queue_name")
    # A small budget of its own (a fresh org key): 18 a window after the safety margin,
    # 9 of them for the backfill; the rest is the live events' reserve.
    KustomerConnection.objects.filter(tenant=e2e.tenant).update(
        rate_limit_per_minute=20, kustomer_org_id=f"org-{uuid.uuid4().hex[:8]}")
    job = _start(e2e, queue)
    held = _until(e2e, job, lambda j: j["done"] >= 1 and "Waiting" in j["note"], "the backfill held at its share")
    assert held["state"] == "running" and held["done"] <= 9 < held["total"]

    live = event("call.answered", "bf-live-new", phone="+14155550003", agent=None)
    send(e2e, live)
    wait_done(e2e, live["id"], timeout=15)  # not behind the backfill: its reserve was free
    assert _job(e2e, job)["done"] < 12

    r = e2e.post(f"/api/v1/backfills/{job}/cancel", {})
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    stopped = r.json()["done"]
    KustomerConnection.objects.filter(tenant=e2e.tenant).update(rate_limit_per_minute=1000)
    import time

    time.sleep(4)  # two of its budget waits: a live job would go on now
    after = _job(e2e, job)
    assert after["state"] == "cancelled" and after["done"] == stopped and after["seconds_left"] is None
    patched = {r["path"].rsplit("/", 1)[-1] for r in e2e.sandbox.requests(method="PATCH", path_contains="/messages/")}
    assert len(patched) == after["written"] < 12  # the rest never got it
    assert e2e.post(f"/api/v1/backfills/{job}/cancel", {}).status_code == 409


def test_r_o3_a_backfill_whose_worker_is_killed_resumes_without_writing_twice(e2e, settings, monkeypatch):
    from customfields.backfill import backfill_jobs_resume_stale

    queue_name = f"{e2e.worker.log_path.stem.split('-worker')[0]}-backfill"
    settings.CUSTOMFIELDS_BACKFILL_QUEUE = queue_name  # the live server sends the job there
    monkeypatch.setenv("CUSTOMFIELDS_BACKFILL_QUEUE", queue_name)
    sessions = _sessions(e2e, 6, prefix="bf-kill")
    field = _field(e2e, "queue_name")
    e2e.sandbox.inject_faults(latency_ms=700, methods=["PATCH"], path_contains="/messages/")
    worker = start_celery_worker(queue_name, concurrency=1, log_name="backfill-1")
    try:
        job = _start(e2e, field)
        _until(e2e, job, lambda j: j["done"] >= 2, "two sessions filled")
    finally:
        os.killpg(worker.proc.pid, signal.SIGKILL)  # mid-slice, maybe mid-write
        worker.proc.wait(10)
    killed_at = _job(e2e, job)
    assert killed_at["state"] == "running" and killed_at["done"] < 6

    worker = start_celery_worker(queue_name, concurrency=1, log_name="backfill-2")
    try:
        # Beat's sweep finds the job untouched; its lock went with the killed worker's connection.
        e2e.wait_for(lambda: backfill_jobs_resume_stale(older_than_seconds=0), timeout=20, what="the job resumed")
        finished = _until(e2e, job, lambda j: j["state"] == "done", "the resumed backfill done")
    finally:
        stop_celery_worker(worker)
    assert finished["written"] == 6 and finished["done"] == 6
    writes = Counter(r["path"] for r in e2e.sandbox.requests(method="PATCH", path_contains="/messages/"))
    assert len(writes) == 6 and set(writes.values()) == {1}, writes  # every message written once
    for s in sessions:
        for m in s["kustomer"]["message_ids"]:
            assert _message_custom(e2e, m)["queueNameStr"] == "Billing"
