"""The database is the durable inbox (SPEC §5): the sweeper re-queues events left
accepted/processing past the deadline; ids are remembered for at least 30 days."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from conversations import services
from conversations.models import Event

pytestmark = pytest.mark.django_db


def make_event(tenant, event_id, *, state="accepted", key="+14155550123", age=timedelta(minutes=10), **kw):
    event = Event.objects.create(
        tenant=tenant, event_id=event_id, type="call.answered", occurred_at=timezone.now(), session_id="s",
        customer_key=key, raw_body="{}", body_hash="0" * 64, payload={}, state=state, **kw)
    Event.objects.filter(pk=event.pk).update(updated_at=timezone.now() - age)
    return event


def test_stale_events_are_requeued_once_per_customer(tenant, monkeypatch):
    queued = []
    monkeypatch.setattr("conversations.tasks.event_process_task.delay", lambda pk: queued.append(pk))
    a = make_event(tenant, "a")
    make_event(tenant, "b")  # same customer: a's run applies it too
    c = make_event(tenant, "c", state="processing", key="+14155550999")
    make_event(tenant, "fresh", key="+14155550111", age=timedelta(seconds=1))
    make_event(tenant, "done", state="done", key="+14155550222")
    make_event(tenant, "waiting", key="+14155550333", next_attempt_at=timezone.now() + timedelta(minutes=5))
    assert services.events_sweep(older_than=timedelta(minutes=2)) == 2
    assert sorted(queued) == sorted([a.pk, c.pk])
    queued.clear()
    assert services.events_sweep(older_than=timedelta(minutes=2)) == 0  # one re-queue per deadline


def test_requeued_event_without_connection_fails_visibly(tenant):
    """Eager tasks here: the re-queued event runs and ends failed with the reason."""
    event = make_event(tenant, "lonely")
    services.events_sweep(older_than=timedelta(minutes=1))
    event.refresh_from_db()
    assert event.state == "failed" and "no Kustomer connection" in event.error


def test_event_ids_are_remembered_at_least_30_days(tenant):
    old = make_event(tenant, "old", state="done", finished_at=timezone.now() - timedelta(days=31))
    recent = make_event(tenant, "recent", state="done", finished_at=timezone.now() - timedelta(days=29))
    failed = make_event(tenant, "failed-old", state="failed", finished_at=timezone.now() - timedelta(days=400))
    services.events_purge(older_than_days=1)  # asked for 1 day: never under 30
    assert set(Event.objects.values_list("event_id", flat=True)) == {"recent", "failed-old"}
    assert not Event.objects.filter(pk=old.pk).exists() and recent and failed
