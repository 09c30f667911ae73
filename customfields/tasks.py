"""Celery tasks of custom fields: take ids, call a service, own the retries."""
from __future__ import annotations

import logging

from celery import shared_task

from core.queue import sweep_behind_queue
from customfields import services
from integrations.kustomer.errors import KustomerError, KustomerTransientError
from integrations.tasks import KustomerTask

logger = logging.getLogger(__name__)


@shared_task(bind=True, base=KustomerTask, acks_late=True, autoretry_for=(KustomerTransientError,), retry_backoff=2,
             retry_backoff_max=300, retry_jitter=True, max_retries=services.PUSH_MAX_RETRIES)
def custom_field_push_task(self, field_id: int) -> None:
    """Create the field's attribute in Kustomer; transient errors retry with backoff (and
    at least Kustomer's named wait on a 429) up to the cap, then the field is failed."""
    try:
        services.custom_field_push(field_id=field_id)
    except KustomerError as exc:
        if isinstance(exc, KustomerTransientError) and self.request.retries < self.max_retries:
            raise  # retried as declared
        services.custom_field_mark_failed(
            field_id=field_id,
            error=f"{exc} — gave up after {self.request.retries + 1} attempts; retry once Kustomer answers again.",
        )
    except Exception:
        # A bug, not Kustomer: fail the field visibly (the sweeper would otherwise queue it
        # again forever) and let the worker log the traceback.
        logger.exception("custom field %s: unexpected error while creating it in Kustomer", field_id)
        services.custom_field_mark_failed(
            field_id=field_id, error="Unexpected error in the portal while creating this field; support has the details."
        )
        raise


@shared_task(acks_late=True, queued_once=True)
def custom_fields_requeue_stale_task(mark: str | None = None) -> int:
    """Beat's tick sends the sweep behind the queue; that run sweeps (core.queue)."""
    return sweep_behind_queue(custom_fields_requeue_stale_task, mark, services.custom_fields_requeue_stale)


@shared_task(acks_late=True)
def backfill_run_task(job_id: int) -> None:
    """R-O3: one slice of a backfill; the service queues the next one (customfields/backfill.py)."""
    from customfields.backfill import backfill_run_and_requeue

    backfill_run_and_requeue(job_id=job_id)


@shared_task(acks_late=True, queued_once=True)
def backfill_resume_stale_task() -> int:
    """Beat's tick: backfills whose run was lost (a killed worker) are queued again."""
    from customfields.backfill import backfill_jobs_resume_stale

    return backfill_jobs_resume_stale()
