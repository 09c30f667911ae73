"""Celery tasks of the conversation sync: take ids, call a service.

The event executor is the one exception to the tasks' retry policy
(integrations/tasks.py): its retries are its own wait loop (it records why and when on
the event row and re-enqueues with a countdown) because one customer's events must run
in order, so a lost task costs a delay: the sweeper re-queues it. The webhook
subscription declares its retries like every other task that calls Kustomer.
"""
from __future__ import annotations

from celery import shared_task

from conversations import services
from core.queue import sweep_behind_queue
from integrations.kustomer.errors import KustomerTransientError
from integrations.tasks import KustomerTask


@shared_task(acks_late=True, ignore_result=True)
def event_process_task(event_pk: int) -> None:
    services.event_process(event_pk=event_pk)


@shared_task(acks_late=True, ignore_result=True)
def webhook_delivery_process_task(delivery_pk: int) -> None:
    services.webhook_delivery_process(delivery_pk=delivery_pk)


@shared_task(acks_late=True, ignore_result=True, queued_once=True)
def events_sweep_task(mark: str | None = None) -> int:
    """Beat's tick sends the sweep behind the queue; that run sweeps (core.queue)."""
    return sweep_behind_queue(events_sweep_task, mark, services.events_sweep)


@shared_task(acks_late=True, ignore_result=True, queued_once=True)
def webhook_deliveries_sweep_task(mark: str | None = None) -> int:
    """Beat's tick sends the sweep behind the queue; that run sweeps (core.queue)."""
    return sweep_behind_queue(webhook_deliveries_sweep_task, mark, services.webhook_deliveries_sweep)


@shared_task(acks_late=True, ignore_result=True, queued_once=True)
def sessions_close_out_task() -> int:
    """R-O2: beat's tick; queued once at a time (core.queue)."""
    from conversations.services.close_out import sessions_close_out

    return sessions_close_out()


@shared_task(acks_late=True, ignore_result=True, queued_once=True)
def events_purge_task() -> int:
    return services.events_purge()


@shared_task(base=KustomerTask, acks_late=True, ignore_result=True, autoretry_for=(KustomerTransientError,),
             retry_backoff=2, retry_backoff_max=300, retry_jitter=True, max_retries=5)
def webhook_subscription_ensure_task(tenant_id: int) -> None:
    """Subscribe the tenant's Kustomer webhooks (sent when its connection is verified)."""
    from tenants.models import Tenant

    services.webhook_subscription_ensure(tenant=Tenant.objects.get(pk=tenant_id))


@shared_task(base=KustomerTask, acks_late=True, ignore_result=True, autoretry_for=(KustomerTransientError,),
             retry_backoff=2, retry_backoff_max=300, retry_jitter=True, max_retries=5)
def org_move_webhook_task(tenant_id: int, move_id: int) -> None:
    """R-S14: the webhook subscription moves to the new org."""
    from conversations.services.org_move import org_move_webhook

    org_move_webhook(tenant_id=tenant_id, move_id=move_id)


@shared_task(acks_late=True, ignore_result=True)
def late_file_fetch_task(action_pk: int) -> None:
    """One try of a file that did not answer while its event ran (late_files.py); the
    service schedules its own next try with backoff, up to its limit."""
    services.late_file_fetch(action_pk=action_pk)
