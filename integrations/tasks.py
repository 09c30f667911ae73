"""Celery tasks of the Kustomer integration: take ids, call a service, own retries."""
from __future__ import annotations

import random

from celery import shared_task

from integrations import services
from integrations.kustomer.errors import KustomerError


def backoff_seconds(attempt: int, *, base: float = 2.0, cap: float = 300.0) -> float:
    """Exponential backoff with full jitter (attempt 0, 1, 2, ...)."""
    return random.uniform(0, min(cap, base * (2**attempt)))


@shared_task(bind=True, acks_late=True, max_retries=5)
def kustomer_connection_verify_task(self, connection_id: int) -> None:
    try:
        services.kustomer_connection_verify(connection_id=connection_id)
    except KustomerError as exc:
        if not exc.retryable:
            raise
        countdown = max(getattr(exc, "retry_after", 0) or 0, backoff_seconds(self.request.retries))
        raise self.retry(exc=exc, countdown=countdown) from exc
