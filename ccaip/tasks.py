"""Celery tasks of the CCAI Platform endpoint: take ids, call a service."""
from __future__ import annotations

from celery import shared_task

from ccaip import services


@shared_task(acks_late=True, ignore_result=True)
def session_settle_task(session_pk: int) -> None:
    services.session_settle(session_pk=session_pk)


@shared_task(acks_late=True, ignore_result=True, queued_once=True)
def sessions_settle_due_task() -> int:
    return services.sessions_settle_due()


@shared_task(acks_late=True, ignore_result=True, queued_once=True)
def sessions_purge_task() -> int:
    return services.sessions_purge()
