"""Celery tasks of status inheritance: take ids, call a service, declare retries.

Only transient Kustomer errors are retried (the policy of integrations/tasks.py), with
full-jitter backoff and a cap, never sooner than the wait Kustomer named on a 429.
"""
from __future__ import annotations

import logging

from celery import shared_task
from django.core.cache import cache

from core.queue import enqueue_once, sweep_behind_queue
from integrations.kustomer.errors import KustomerError, KustomerTransientError
from integrations.tasks import KustomerTask
from statusmapping import services

logger = logging.getLogger(__name__)

# A tenant's watcher read not picked up within this is dropped (the next tick sends one).
WATCH_TENANT_EXPIRES_SECONDS = 30.0


@shared_task(base=KustomerTask, acks_late=True, autoretry_for=(KustomerTransientError,), retry_backoff=2,
             retry_backoff_max=300, retry_jitter=True, max_retries=5)
def kustomer_statuses_refresh_task(tenant_id: int) -> None:
    services.kustomer_statuses_refresh(tenant_id=tenant_id)


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=30, retry_backoff_max=900, retry_jitter=True,
             max_retries=8)
def kustomer_status_alerts_email_task(tenant_id: int) -> None:
    """R-O5: the e-mail about new unmapped Kustomer statuses (SMTP errors are OSErrors)."""
    services.kustomer_status_alerts_email(tenant_id=tenant_id)


@shared_task(acks_late=True, queued_once=True)
def kustomer_statuses_refresh_all_task() -> None:
    """Periodic (schedule.py): every tenant with inheritance available reads its
    Kustomer statuses again, so one added or removed in Kustomer shows up."""
    from statusmapping.models import StatusInheritanceSettings

    for tenant_id in StatusInheritanceSettings.objects.filter(
        available=True, tenant__kustomer_connection__isnull=False
    ).values_list("tenant_id", flat=True):
        kustomer_statuses_refresh_task.delay(tenant_id)


@shared_task(base=KustomerTask, acks_late=True, autoretry_for=(KustomerTransientError,), retry_backoff=2,
             retry_backoff_max=300, retry_jitter=True, max_retries=5)
def agent_kustomer_user_resolve_task(agent_id: int) -> None:
    services.agent_kustomer_user_resolve(agent_id=agent_id)


@shared_task(acks_late=True, queued_once=True)
def agents_kustomer_user_resolve_pending_task(limit: int = 50) -> None:
    """Periodic: agents whose Kustomer user was not found yet are looked up again (the
    user may have been created in Kustomer since), a few per run."""
    from statusmapping.models import Agent

    for agent_id in Agent.objects.filter(
        kustomer_user_id="", tenant__kustomer_connection__isnull=False
    ).order_by("kustomer_user_checked_at").values_list("pk", flat=True)[:limit]:
        agent_kustomer_user_resolve_task.delay(agent_id)


@shared_task(base=KustomerTask, acks_late=True, autoretry_for=(KustomerTransientError,), retry_backoff=2,
             retry_backoff_max=300, retry_jitter=True, max_retries=8)
def agent_status_push_task(agent_id: int) -> None:
    """R-S9: push the agent's latest wanted status (several queued pushes collapse)."""
    services.agent_status_push(agent_id=agent_id)


@shared_task(acks_late=True, ignore_result=True, queued_once=True)
def agent_pushes_sweep_task(mark: str | None = None) -> int:
    """Beat's tick sends the sweep behind the queue; that run sweeps (core.queue)."""
    return sweep_behind_queue(agent_pushes_sweep_task, mark, services.agent_pushes_sweep)


@shared_task(base=KustomerTask, acks_late=True, autoretry_for=(KustomerTransientError,), retry_backoff=2,
             retry_backoff_max=300, retry_jitter=True, max_retries=5)
def two_way_prerequisites_check_task(tenant_id: int) -> None:
    services.two_way_prerequisites_check(tenant_id=tenant_id)


@shared_task(base=KustomerTask, acks_late=True, autoretry_for=(KustomerTransientError,), retry_backoff=2,
             retry_backoff_max=300, retry_jitter=True, max_retries=3)
def agent_sign_in_inherit_task(agent_id: int, sign_in_change_id: int) -> None:
    services.agent_sign_in_inherit(agent_id=agent_id, sign_in_change_id=sign_in_change_id)


@shared_task(acks_late=False, ignore_result=True, queued_once=True)
def status_watch_tenant_task(tenant_id: int) -> None:
    """One watcher read of a tenant. Not retried: the next interval reads again, and a
    retry would only add calls to an org that is failing or limiting us."""
    try:
        services.status_watch_tenant(tenant_id=tenant_id)
    except KustomerError as exc:
        logger.info("status watcher of tenant %s: %s", tenant_id, exc)


@shared_task(acks_late=False, ignore_result=True, queued_once=True)
def status_watch_due_task() -> None:
    """Periodic tick (schedule.py): start the watcher of every tenant whose interval
    passed. A short cache lock keeps two beat ticks from fanning out twice, and a
    tenant's read still queued or running is not queued again (it expires unread)."""
    if not cache.add("statusmapping:watch-tick", 1, timeout=1):
        return
    for tenant_id in services.status_watch_due_tenants():
        enqueue_once(status_watch_tenant_task, tenant_id, ttl=WATCH_TENANT_EXPIRES_SECONDS)
    # R-O7: holds that ended apply the change remembered during them (local, fast).
    services.agents_damped_release()


@shared_task(acks_late=False, ignore_result=True, queued_once=True)
def adapter_instances_forget_task() -> None:
    services.adapter_instances_forget()


@shared_task(base=KustomerTask, acks_late=True, autoretry_for=(KustomerTransientError,), retry_backoff=2,
             retry_backoff_max=300, retry_jitter=True, max_retries=5)
def org_move_finish_task(tenant_id: int, move_id: int) -> None:
    """R-S14: the new org's statuses mapped by name, agents re-linked by email."""
    from statusmapping.services.org_move import org_move_finish

    org_move_finish(tenant_id=tenant_id, move_id=move_id)
