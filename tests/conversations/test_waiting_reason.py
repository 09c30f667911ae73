"""Issue 22: the dashboard only said "Oldest unprocessed event … waiting 14 min". The
event's page and the dashboard now say why an event waits: its retry (when, after
which error), the earlier event of the same customer it is behind, being applied, or
not taken by a worker yet."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from conversations import selectors
from conversations.models import Event

pytestmark = pytest.mark.django_db


def make(tenant, event_id, *, key="+14155550123", age=0, **kw):
    now = timezone.now()
    return Event.objects.create(
        tenant=tenant, event_id=event_id, type="call.answered", occurred_at=now - timedelta(seconds=100 - age),
        session_id="s", customer_key=key, raw_body="{}", body_hash="0" * 64, payload={},
        received_at=now - timedelta(seconds=600 - age), **kw)


def test_every_waiting_event_says_why(tenant, admin_client):
    now = timezone.now()
    retrying = make(tenant, "e-retry", state="processing", attempts=2, error="Kustomer 503 Service Unavailable",
                    next_attempt_at=now + timedelta(seconds=90))
    behind = make(tenant, "e-behind", age=5)
    queued = make(tenant, "e-queued", key="+14155550999", age=10)
    applying = make(tenant, "e-applying", key="+14155550888", age=20, state="processing", attempts=1)
    done = make(tenant, "e-done", key="+14155550777", state="done")

    assert selectors.event_waiting_reason(retrying, now=now).startswith("waiting for its retry at ")
    assert "(in 1 min 30 s) after: Kustomer 503" in selectors.event_waiting_reason(retrying, now=now)
    assert selectors.event_waiting_reason(behind, now=now).startswith(
        "behind event e-retry of the same customer (events of one customer are applied in order), which is waiting for its retry")
    assert selectors.event_waiting_reason(queued, now=now).startswith("queued, not taken by a worker yet (9 min 4")
    assert selectors.event_waiting_reason(applying, now=now) == "being applied now (attempt 1)"
    assert selectors.event_waiting_reason(done, now=now) == ""

    page = admin_client.get(f"/sync/events/{behind.pk}/").content.decode()
    assert 'data-testid="waiting-reason">behind event e-retry of the same customer' in page
    dashboard = admin_client.get("/").content.decode()
    assert "e-retry" in dashboard and 'data-testid="oldest-reason">waiting for its retry at' in dashboard
    assert "after: Kustomer 503 Service Unavailable" in dashboard
