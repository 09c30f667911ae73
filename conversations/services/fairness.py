"""Fairness between tenants (SPEC §5, docs/concurrency.md): one tenant's events hold at
most ``SYNC_TENANT_IN_FLIGHT`` worker slots at once, on every machine.

An event's task first takes one of its tenant's slots (conversations/locks.py:
``tenant_slot``, advisory locks released with the holder's connection). When all are
held it does not wait in its worker, nor bounce through the broker: it marks the event
parked and returns. Whoever frees one of the tenant's slots then hands it on: it sends
the task of the tenant's longest-parked event (to the back of the queue, behind the
other tenants' work). The parked task looks once more after marking (a holder that
released between the first look and the mark could not have seen it), so no event is
left parked while a slot is free; the sweeper re-queues whatever a lost task left.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.utils import timezone

from conversations.locks import tenant_slot
from conversations.models import Event

logger = logging.getLogger(__name__)

PENDING = (Event.State.ACCEPTED, Event.State.PROCESSING)


def tenant_turn_run(*, tenant_id: int, event_pk: int, work: Callable[[], None]) -> bool:
    """Run ``work`` in one of the tenant's slots; False when the event was parked."""
    slots = max(1, settings.SYNC_TENANT_IN_FLIGHT)
    parked = False
    while True:
        took = False
        try:
            with tenant_slot(tenant_id, slots) as slot:
                if slot is not None:
                    took = True
                    if parked:
                        Event.objects.filter(pk=event_pk).update(parked_at=None)
                    work()
        finally:
            if took:
                tenant_slot_hand_on(tenant_id=tenant_id)  # after the release: the slot is free
        if took:
            return True
        if parked:
            return False
        Event.objects.filter(pk=event_pk, state__in=PENDING).update(parked_at=timezone.now())
        parked = True


def tenant_slot_hand_on(*, tenant_id: int) -> bool:
    """Send the task of the tenant's longest-parked event, if any (one per freed slot)."""
    from conversations.tasks import event_process_task

    parked = (Event.objects.filter(tenant_id=tenant_id, parked_at__isnull=False, state__in=PENDING)
              .order_by("parked_at", "pk").values_list("pk", flat=True))
    for pk in parked[:10]:
        # Compare-and-clear: of two holders freeing slots at once, each sends another event.
        if not Event.objects.filter(pk=pk, parked_at__isnull=False).update(parked_at=None, updated_at=timezone.now()):
            continue
        try:
            event_process_task.delay(pk)
        except Exception:  # the broker is down: the sweeper sends it later (updated_at is its mark)
            logger.warning("hand-on of parked event %s not sent; the sweeper will", pk, exc_info=True)
        return True
    return False
