"""End to end: HTTP into the live API, PostgreSQL, a real Celery worker on Redis, HTTP
out to the Kustomer sandbox. Needs DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL (Redis)."""
from __future__ import annotations

import time

import pytest
from django.utils import timezone

from statusmapping import services
from statusmapping.tasks import status_watch_tenant_task
from tests.statusmapping.conftest import seed_sandbox_org

pytestmark = pytest.mark.e2e


def test_watcher_and_two_way_push_through_the_worker(e2e):
    org = seed_sandbox_org(e2e.sandbox)
    s = org.statuses
    tenant = e2e.tenant

    # R-S2: statuses read from Kustomer by the worker.
    assert e2e.post("/api/v1/kustomer-statuses/refresh", {}).status_code == 202
    e2e.wait_for(lambda: len(e2e.get("/api/v1/kustomer-statuses").json()["results"]) == 5, what="statuses read")
    mapping = {"mapping": {s["Available"]: "Available", s["Away"]: "Break", s["Email"]: "Break", s["Offline"]: "Offline"},
               "push": {"Lunch": s["Away"], "Available": s["Available"]}}
    assert e2e.api.put(e2e.url + "/api/v1/status-mapping", json=mapping, timeout=30).status_code == 200

    # R-S5: the agent linked to their Kustomer user by email (worker).
    assert e2e.post("/api/v1/agents", {"email": "agent1@example.com"}).status_code == 201
    e2e.wait_for(lambda: e2e.get("/api/v1/agents/agent1@example.com").json()["kustomer_user_id"], what="user linked")

    services.status_inheritance_availability_set(tenant=tenant, available=True, changed_by="e2e")
    assert e2e.api.put(e2e.url + "/api/v1/status-inheritance", json={"enabled": True}, timeout=30).status_code == 200

    # The watcher picks up a status the agent set in Kustomer.
    org.set_status("agent1@example.com", "Away")
    changed = time.monotonic()
    status_watch_tenant_task.delay(tenant.pk)
    e2e.wait_for(lambda: e2e.get("/api/v1/agents/agent1@example.com").json()["cc_status"] == "Break",
                 what="watcher applied Away → Break")
    print(f"watcher: sandbox change reached the CC status in {time.monotonic() - changed:.2f}s (task started by hand)")

    # R-S9: two-way, after the worker checked the prerequisites.
    assert e2e.api.put(e2e.url + "/api/v1/status-inheritance", json={"direction": "TWO_WAY"},
                       timeout=30).status_code == 200
    e2e.wait_for(lambda: e2e.get("/api/v1/status-inheritance").json()["two_way"]["ready"], what="two-way ready")
    e2e.sandbox.server.state.request_log.clear()
    answer = e2e.post("/api/v1/agent-status/events", {
        "id": "cc-available", "source": "contact_center", "agent_email": "agent1@example.com", "status": "Available",
        "kind": "manual", "occurred_at": timezone.now().isoformat()}).json()
    assert answer["decision"] == "applied" and answer["agent_status"] == "Available"
    e2e.wait_for(lambda: org.work_session_status("agent1@example.com") == s["Available"], what="push to Kustomer")

    # No echo: the watcher reading the pushed status changes nothing, and nothing is pushed back.
    from statusmapping.models import StatusInheritanceSettings

    StatusInheritanceSettings.objects.filter(tenant=tenant).update(watched_at=None)
    status_watch_tenant_task.delay(tenant.pk)
    e2e.wait_for(lambda: e2e.sandbox.requests(path_contains="/routing/work-sessions", method="GET"),
                 what="watcher read")
    time.sleep(0.5)
    agent = e2e.get("/api/v1/agents/agent1@example.com").json()
    assert agent["cc_status"] == "Available"
    assert len(e2e.sandbox.requests(method="PUT")) == 1
