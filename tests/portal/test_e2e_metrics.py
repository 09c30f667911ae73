"""End to end: after events went through the real worker to the sandbox (one of them
through a 429 and a 503), an agent-status event was decided and the watcher read
Kustomer, a scrape of /metrics shows each metric with the values the sandbox and the
database agree on."""
from __future__ import annotations

import time

import pytest
import requests
from django.utils import timezone

from conversations.models import Event
from statusmapping import services as status_services
from statusmapping.models import StatusInheritanceSettings
from statusmapping.tasks import status_watch_tenant_task
from tests.conversations.e2e_helpers import apply, event
from tests.portal.test_operations import samples

pytestmark = pytest.mark.e2e


def test_metrics_after_an_e2e_run(e2e, e2e_queue):
    slug = e2e.tenant.slug
    t = ("tenant", slug)
    started = time.monotonic()
    apply(e2e, event("call.answered", "m-1", agent=None))
    # The next Kustomer request answers 503, then requests answer 429 for a moment.
    e2e.sandbox.inject_faults(error_next=1, error_status=503)
    apply(e2e, event("session.started", "m-2", channel="chat", phone="+14155550999", agent=None))
    e2e.sandbox.inject_faults(rate_limit_storm_seconds=1.5)
    apply(e2e, event("call.answered", "m-3", phone="+14155550888", agent=None), timeout=60)
    elapsed = time.monotonic() - started

    # A status event for an agent the portal does not know: decided, stored, counted.
    answer = e2e.post("/api/v1/agent-status/events", {
        "id": "st-unknown", "source": "contact_center", "agent_email": "nobody@example.com", "status": "Break",
        "kind": "manual", "occurred_at": timezone.now().isoformat()})
    assert answer.status_code in (200, 201, 202), answer.text
    decision = answer.json()["decision"]

    # The watcher reads the tenant's work sessions once (inheritance on).
    status_services.status_inheritance_availability_set(tenant=e2e.tenant, available=True, changed_by="e2e")
    StatusInheritanceSettings.objects.filter(tenant=e2e.tenant).update(enabled=True, watched_at=None)
    status_watch_tenant_task.delay(e2e.tenant.pk)
    e2e.wait_for(lambda: StatusInheritanceSettings.objects.get(tenant=e2e.tenant).watched_at, what="watcher read")

    scrape = requests.get(e2e.url + "/metrics", timeout=30)
    assert scrape.status_code == 200
    assert scrape.headers["Content-Type"].startswith("text/plain")
    got = samples(scrape.text)

    # What the sandbox saw of this org is what the portal counted for this tenant.
    log = e2e.sandbox.requests()
    statuses = [entry["status"] for entry in log]
    assert statuses.count(429) >= 1 and statuses.count(503) == 1
    assert got[("portal_kustomer_requests_total", t)] == len(log)
    assert got[("portal_kustomer_rate_limited_total", t)] == statuses.count(429)
    assert got[("portal_kustomer_errors_total", ("reason", "server"), t)] == 1

    assert got[("portal_events", ("state", "done"), t, ("type", "call.answered"))] == 2
    assert got[("portal_events", ("state", "done"), t, ("type", "session.started"))] == 1
    assert got[("portal_events_waiting", t)] == 0
    assert got[("portal_oldest_waiting_event_age_seconds", t)] == 0

    # Latency: three events done, each within the time the test took.
    assert got[("portal_event_latency_seconds_count", t, ("type", "call.answered"))] == 2
    assert got[("portal_event_latency_seconds_count", t, ("type", "session.started"))] == 1
    done = Event.objects.filter(tenant=e2e.tenant, state=Event.State.DONE)
    total = sum((e.finished_at - e.received_at).total_seconds() for e in done)
    measured = (got[("portal_event_latency_seconds_sum", t, ("type", "call.answered"))]
                + got[("portal_event_latency_seconds_sum", t, ("type", "session.started"))])
    assert abs(measured - total) < 0.5 and measured < elapsed
    assert got[("portal_event_latency_seconds_bucket", ("le", "+Inf"), t, ("type", "call.answered"))] == 2

    assert got[("portal_status_decisions_total", ("decision", decision), ("kind", "manual"),
                ("source", "contact_center"), t)] == 1
    # The event that met the 503 shows both runs, with times, on its attempt log.
    retried = Event.objects.get(tenant=e2e.tenant, session_id="m-2")
    assert [entry["outcome"] for entry in retried.attempt_log] == ["retry", "done"]
    assert "503" in retried.attempt_log[0]["error"] and retried.attempt_log[0]["next_attempt_at"]
    assert all(entry["started_at"] <= entry["ended_at"] for entry in retried.attempt_log)

    lag = got[("portal_watcher_lag_seconds", t)]
    assert 0 <= lag < 30
    assert got[("portal_broker_queue_depth", ("queue", e2e_queue))] >= 0
