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


@pytest.mark.django_db(transaction=True)
def test_sweeper_requeue_never_sends_an_event_still_queued_or_being_applied(tenant, monkeypatch):
    """Issue 22: the sweeper re-queued events that were only waiting in a long queue.
    It sends again only an event last queued before its mark (core.queue.sweep_mark),
    and never one whose customer is being applied right now (its lock is held)."""
    import threading

    from django.db import connections

    from conversations.locks import customer_lock

    queued = []
    monkeypatch.setattr("conversations.tasks.event_process_task.delay", lambda pk: queued.append(pk))
    mark = timezone.now() - timedelta(minutes=3)
    lost = make_event(tenant, "lost", age=timedelta(minutes=10))
    make_event(tenant, "still-queued", key="+14155550444", age=timedelta(minutes=2))  # sent after the mark
    make_event(tenant, "being-applied", state="processing", key="+14155550555", age=timedelta(minutes=10))

    held, release = threading.Event(), threading.Event()

    def hold():
        try:
            with customer_lock(tenant.pk, "+14155550555") as taken:
                assert taken
                held.set()
                release.wait(10)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(10)
    try:
        assert services.events_sweep(older_than=timedelta(minutes=1), queued_before=mark) == 1
        assert queued == [lost.pk]
    finally:
        release.set()
        holder.join()
    queued.clear()
    # The holder is gone (a killed worker releases it too): now that one is swept.
    assert services.events_sweep(older_than=timedelta(minutes=1), queued_before=mark) == 1
    assert [Event.objects.get(pk=pk).event_id for pk in queued] == ["being-applied"]


def test_the_sweep_tick_only_sends_the_sweep_behind_the_queue(tenant, monkeypatch):
    """The beat tick sweeps nothing itself: it sends one sweep with its mark behind
    everything queued, and not a second while that one waits."""
    from conversations import tasks

    sent = []
    monkeypatch.setattr(tasks.events_sweep_task, "apply_async", lambda args, **o: sent.append(tuple(args)))
    from django.core.cache import cache
    cache.clear()
    assert tasks.events_sweep_task.run() == 0
    assert tasks.events_sweep_task.run() == 0
    assert len(sent) == 1 and len(sent[0]) == 1  # (mark,)
    make_event(tenant, "lost")
    monkeypatch.setattr("conversations.tasks.event_process_task.delay", lambda pk: None)
    later = (timezone.now() + timedelta(seconds=1)).isoformat()
    assert tasks.events_sweep_task.run(later) == 1
    assert tasks.events_sweep_task.run() == 0 and len(sent) == 2  # the next tick may send again
