"""Celery tasks of the conversation sync: take ids, call a service.

Retries are the service's own (it records why and when on the event row and
re-enqueues with a countdown), so a lost task costs a delay: the sweeper re-queues it.
"""
from __future__ import annotations

from celery import shared_task

from conversations import services


@shared_task(acks_late=True, ignore_result=True)
def event_process_task(event_pk: int) -> None:
    services.event_process(event_pk=event_pk)


@shared_task(acks_late=True, ignore_result=True)
def webhook_delivery_process_task(delivery_pk: int) -> None:
    services.webhook_delivery_process(delivery_pk=delivery_pk)


@shared_task(acks_late=True, ignore_result=True, queued_once=True)
def events_sweep_task() -> int:
    return services.events_sweep()


@shared_task(acks_late=True, ignore_result=True, queued_once=True)
def webhook_deliveries_sweep_task() -> int:
    return services.webhook_deliveries_sweep()


@shared_task(acks_late=True, ignore_result=True, queued_once=True)
def events_purge_task() -> int:
    return services.events_purge()


@shared_task(acks_late=True, ignore_result=True, max_retries=5)
def webhook_subscription_ensure_task(tenant_id: int) -> None:
    """Subscribe the tenant's Kustomer webhooks (sent when its connection is verified)."""
    from tenants.models import Tenant

    services.webhook_subscription_ensure(tenant=Tenant.objects.get(pk=tenant_id))
