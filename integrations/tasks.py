"""Celery tasks of the Kustomer integration: take ids, call a service, own retries.

The one retry policy of tasks that call Kustomer: a task declares
``autoretry_for=(KustomerTransientError,)`` (nothing else is retried), exponential
backoff with full jitter and a cap (``retry_backoff=2, retry_backoff_max=300,
retry_jitter=True``: after 0-2 s, 0-4 s, 0-8 s ... at most 300 s) and its own
``max_retries``, on ``base=KustomerTask``, which only adds that a retry after a 429 waits
at least what Kustomer named. The conversation executor
(conversations/services/executor.py) is the one exception: it keeps its own wait loop on
the event row, because one customer's events must run in order.
"""
from __future__ import annotations

import logging
import random

from celery import Task, shared_task

from integrations import services
from integrations.kustomer.errors import KustomerTransientError
from integrations.models import KustomerConnection

logger = logging.getLogger(__name__)


class KustomerTask(Task):
    """Base of tasks that call Kustomer: a retry is never sooner than the wait a 429
    named (``retry_after``), whatever the backoff drew."""

    def retry(self, args=None, kwargs=None, exc=None, throw=True, eta=None, countdown=None, max_retries=None,
              **options):
        wait = getattr(exc, "retry_after", None)
        if wait and eta is None and (countdown is None or countdown < wait):
            countdown = wait
        return super().retry(args=args, kwargs=kwargs, exc=exc, throw=throw, eta=eta, countdown=countdown,
                             max_retries=max_retries, **options)


def backoff_seconds(attempt: int, *, base: float = 2.0, cap: float = 300.0) -> float:
    """Exponential backoff with full jitter (attempt 0, 1, 2, ...)."""
    return random.uniform(0, min(cap, base * (2**attempt)))


@shared_task(bind=True, acks_late=True, max_retries=50)
def kustomer_connection_verify_task(self, connection_id: int, pending: bool = False, language: str | None = None) -> None:
    """Retries only while the check's deadline allows (the verification decides); the
    cap is a backstop, the deadline ends it. `language`: the admin's who asked, so the
    recorded words read in it (the portal's default without one)."""
    from django.conf import settings
    from django.utils import translation

    from integrations.verification import VerificationRetry

    try:
        with translation.override(language or settings.LANGUAGE_CODE):
            services.kustomer_connection_verify(connection_id=connection_id, pending=pending)
    except KustomerConnection.DoesNotExist:
        logger.info("kustomer connection %s is gone; nothing to verify", connection_id)
    except VerificationRetry as exc:
        raise self.retry(exc=exc, countdown=exc.countdown) from exc


@shared_task(base=KustomerTask, acks_late=True, autoretry_for=(KustomerTransientError,), retry_backoff=2,
             retry_backoff_max=300, retry_jitter=True, max_retries=5)
def kustomer_app_sync_task(app_id: int) -> None:
    """R-X4: register / install the tenant's Kustomer app and read back its versions."""
    from integrations import app_services
    from integrations.models import KustomerApp

    try:
        app_services.kustomer_app_sync(app_id=app_id)
    except (KustomerApp.DoesNotExist, KustomerConnection.DoesNotExist):
        logger.info("kustomer app %s or its connection is gone; nothing to do", app_id)
