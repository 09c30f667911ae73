"""Sweeping and purging: events left unprocessed are re-queued; old finished ones go."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from conversations.locks import customer_lock_free
from conversations.models import (
    Event,
    WebhookDelivery,
)
from conversations.services.executor import events_pending
from conversations.services.late_files import late_files_requeue

logger = logging.getLogger(__name__)


def events_sweep(*, older_than: timedelta | None = None, queued_before: datetime | None = None) -> int:
    """Re-queue events left accepted/processing past the deadline (a task lost by the
    broker, a killed worker). Re-queueing one event per customer is enough: its run
    applies every pending event of that customer.

    Never what is still queued or running: with `queued_before` (the sweeper's mark,
    core.queue) only events last sent or touched before it count, one waiting for its
    retry is left to that retry, and a customer whose events are being applied right
    now (its lock is held) is left to that run."""
    from conversations.tasks import event_process_task

    if older_than is None:
        older_than = timedelta(seconds=settings.SYNC_SWEEP_AFTER_SECONDS)
    now = timezone.now()
    cutoff = now - older_than
    if queued_before is not None:
        cutoff = min(cutoff, queued_before)
    stale = (
        Event.objects.filter(state__in=[Event.State.ACCEPTED, Event.State.PROCESSING], updated_at__lte=cutoff)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now - older_than))
        .order_by("tenant_id", "customer_key", "occurred_at")
    )
    seen: set[tuple[int, str]] = set()
    requeued = 0
    for event in stale.only("pk", "tenant_id", "customer_key")[:5000]:
        key = (event.tenant_id, event.customer_key)
        if key in seen:
            continue
        seen.add(key)
        if not customer_lock_free(event.tenant_id, event.customer_key):
            continue  # being applied now: that run drains the customer's events
        # One re-queue per customer and deadline.
        events_pending(event.tenant_id, event.customer_key).update(updated_at=now)
        event_process_task.delay(event.pk)
        requeued += 1
    requeued += late_files_requeue(cutoff=cutoff)
    if requeued:
        logger.info("sweeper re-queued %d customers' events and late files", requeued)
    return requeued


def events_purge(*, older_than_days: int | None = None) -> int:
    """Forget finished events past the retention (never under 30 days: Kustomer retries
    webhooks for an hour, other senders for days, so ids must be remembered)."""
    days = max(30, int(older_than_days or settings.SYNC_EVENT_RETENTION_DAYS))
    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = Event.objects.filter(state=Event.State.DONE, finished_at__lt=cutoff).delete()
    WebhookDelivery.objects.filter(received_at__lt=cutoff).delete()
    return deleted
