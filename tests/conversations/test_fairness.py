"""Fairness between tenants (SPEC §5, conversations/services/fairness.py): a tenant's
events hold at most SYNC_TENANT_IN_FLIGHT slots across connections (each worker thread
has its own); one beyond them is parked, not run, and the next slot to free sends it,
once."""
from __future__ import annotations

import threading

import pytest
from django.db import connections
from django.utils import timezone

from conversations.locks import tenant_slot
from conversations.models import Event
from conversations.services.fairness import tenant_slot_hand_on, tenant_turn_run
from tests.tenants.factories import TenantFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _event(tenant, event_id: str, key: str = "+14155550123") -> Event:
    return Event.objects.create(tenant=tenant, event_id=event_id, type="call.answered", occurred_at=timezone.now(),
                                session_id=f"s-{event_id}", customer_key=key, raw_body="{}", body_hash="0" * 64,
                                payload={})


class SlotHolder:
    """Holds one of a tenant's slots from another connection (another worker thread)."""

    def __init__(self, tenant_id: int, slots: int) -> None:
        self.taken: list[int | None] = []
        self._held, self._release = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._run, args=(tenant_id, slots))

    def _run(self, tenant_id: int, slots: int) -> None:
        try:
            with tenant_slot(tenant_id, slots) as slot:
                self.taken.append(slot)
                self._held.set()
                self._release.wait(10)
        finally:
            connections.close_all()

    def __enter__(self) -> "SlotHolder":
        self._thread.start()
        assert self._held.wait(10)
        return self

    def __exit__(self, *exc) -> None:
        self._release.set()
        self._thread.join(10)


def test_a_tenants_slots_are_exclusive_across_connections_and_per_tenant():
    tenant, other = TenantFactory(slug="fair-a"), TenantFactory(slug="fair-b")
    with SlotHolder(tenant.pk, 2) as first, SlotHolder(tenant.pk, 2) as second:
        assert sorted(first.taken + second.taken) == [0, 1]
        with tenant_slot(tenant.pk, 2) as slot:
            assert slot is None  # both held elsewhere
        with tenant_slot(other.pk, 2) as slot:
            assert slot is not None  # another tenant's slots are its own
    with tenant_slot(tenant.pk, 2) as slot:
        assert slot is not None  # released


def test_an_event_beyond_its_tenants_slots_is_parked_and_the_freed_slot_sends_it_once(settings, monkeypatch):
    settings.SYNC_TENANT_IN_FLIGHT = 1
    sent: list[int] = []
    monkeypatch.setattr("conversations.tasks.event_process_task.delay", lambda pk: sent.append(pk))
    tenant = TenantFactory(slug="fair-c")
    waiting = _event(tenant, "waiting")
    with SlotHolder(tenant.pk, 1):
        ran = tenant_turn_run(tenant_id=tenant.pk, event_pk=waiting.pk, work=lambda: pytest.fail("ran without a slot"))
        assert ran is False
        assert Event.objects.get(pk=waiting.pk).parked_at is not None
        assert sent == []
    # The slot is free: the next event to run in it hands the parked one on when it ends.
    runs: list[str] = []
    other = _event(tenant, "other", key="+14155550999")
    assert tenant_turn_run(tenant_id=tenant.pk, event_pk=other.pk, work=lambda: runs.append("other")) is True
    assert runs == ["other"]
    assert sent == [waiting.pk]
    assert Event.objects.get(pk=waiting.pk).parked_at is None
    assert tenant_slot_hand_on(tenant_id=tenant.pk) is False  # sent once, not by every freed slot


def test_work_that_raises_still_frees_its_slot_and_hands_on(settings, monkeypatch):
    settings.SYNC_TENANT_IN_FLIGHT = 1
    sent: list[int] = []
    monkeypatch.setattr("conversations.tasks.event_process_task.delay", lambda pk: sent.append(pk))
    tenant = TenantFactory(slug="fair-d")
    parked = _event(tenant, "parked")
    Event.objects.filter(pk=parked.pk).update(parked_at=timezone.now())
    failing = _event(tenant, "failing", key="+14155550999")

    def boom():
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError):
        tenant_turn_run(tenant_id=tenant.pk, event_pk=failing.pk, work=boom)
    assert sent == [parked.pk]
    with tenant_slot(tenant.pk, 1) as slot:
        assert slot == 0


def test_a_finished_parked_event_is_not_sent(settings, monkeypatch):
    """Its customer's holder applied it meanwhile (the drain takes every pending event)."""
    sent: list[int] = []
    monkeypatch.setattr("conversations.tasks.event_process_task.delay", lambda pk: sent.append(pk))
    tenant = TenantFactory(slug="fair-e")
    done = _event(tenant, "done")
    Event.objects.filter(pk=done.pk).update(parked_at=timezone.now(), state=Event.State.DONE)
    assert tenant_slot_hand_on(tenant_id=tenant.pk) is False
    assert sent == []
