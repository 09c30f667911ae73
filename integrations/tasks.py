"""Celery tasks of the Kustomer integration: take ids, call a service, own retries."""
from __future__ import annotations

import logging
import random

from celery import shared_task

from integrations import services
from integrations.kustomer.errors import KustomerError
from integrations.models import KustomerConnection

logger = logging.getLogger(__name__)


def backoff_seconds(attempt: int, *, base: float = 2.0, cap: float = 300.0) -> float:
    """Exponential backoff with full jitter (attempt 0, 1, 2, ...)."""
    return random.uniform(0, min(cap, base * (2**attempt)))


def retry_countdown(exc: KustomerError, attempt: int) -> float:
    """How long to wait before retrying after a retryable Kustomer error: at least the
    wait Kustomer named on a 429, else backoff with jitter."""
    return max(getattr(exc, "retry_after", 0) or 0, backoff_seconds(attempt))


@shared_task(bind=True, acks_late=True, max_retries=50)
def kustomer_connection_verify_task(self, connection_id: int, pending: bool = False) -> None:
    """Retries only while the check's deadline allows (the verification decides); the
    cap is a backstop, the deadline ends it."""
    from integrations.verification import VerificationRetry

    try:
        services.kustomer_connection_verify(connection_id=connection_id, pending=pending)
    except KustomerConnection.DoesNotExist:
        logger.info("kustomer connection %s is gone; nothing to verify", connection_id)
    except VerificationRetry as exc:
        raise self.retry(exc=exc, countdown=exc.countdown) from exc
