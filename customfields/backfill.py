"""Writes of R-O3 backfill: start, cancel, and the background run that fills a custom
field for past sessions from the events the portal holds (customfields.services
re-exports start and cancel; the task calls `backfill_run`).

A run is a slice of at most CUSTOMFIELDS_BACKFILL_SLICE_SECONDS, then the job goes to
the back of its queue (its own queue when CUSTOMFIELDS_BACKFILL_QUEUE is set), so live
events queued meanwhile run first. Each Kustomer request waits until the org's window
holds less than CUSTOMFIELDS_BACKFILL_BUDGET_SHARE of its budget (the rest is live
work's reserve) and never sleeps in a worker: the job is queued again with a countdown.
Progress is a cursor on the job row, committed unit by unit; the unit being written is
claimed first (`inflight`), and a run after a worker restart reads that unit's records
back from Kustomer and writes only those that do not hold the value yet.
"""
from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from core.errors import ApplicationError, ConflictError, NotFoundError
from core.locks import try_lock
from core.queue import enqueue, enqueue_on_commit
from customfields import backfill_rules
from customfields.models import BackfillJob, CustomField
from customfields.selectors import custom_field_value
from integrations.kustomer.errors import KustomerError, KustomerRateLimitedError, KustomerTransientError
from integrations.selectors import kustomer_connection_exists, kustomer_connection_get
from integrations.services import kustomer_client_for
from tenants.models import Tenant

logger = logging.getLogger(__name__)

# A job not touched for this long lost its task (a killed worker, a lost message).
STALE_AFTER_SECONDS = 120
_BATCH = 20


# ------------------------------------------------------------------------ the admin's side
def backfill_start(*, tenant: Tenant, field_id: int, days) -> BackfillJob:
    """Queue a backfill of the field for sessions of the last `days` days (400 naming
    `days` or `field`; 404 for another tenant's field; 409 while one runs)."""
    try:
        days = backfill_rules.clean_days(days)
    except backfill_rules.DaysProblem as exc:
        raise ApplicationError(str(exc), field="days") from None
    field = CustomField.objects.filter(tenant=tenant, pk=field_id, deleted_at__isnull=True).first()
    if field is None:
        raise NotFoundError(gettext("No such custom field."))
    if field.state != CustomField.State.CREATED or field.created_at is None:
        raise ApplicationError(gettext("'%(display_name)s' is not created in Kustomer yet: fill "
                                       "it once it is.") % {"display_name": field.display_name},
                               field="field")
    if not kustomer_connection_exists(tenant=tenant):
        raise ApplicationError(gettext("Connect this tenant to Kustomer first."), field="field")
    now = timezone.now()
    job = BackfillJob(tenant=tenant, field=field, days=days, since=now - timedelta(days=days),
                      until=min(field.created_at, now))
    try:
        with transaction.atomic():
            job.save()
            _enqueue_run(job.pk, on_commit=True)
    except IntegrityError:
        raise ConflictError(gettext("A backfill of '%(display_name)s' is already running: "
                                    "cancel it or wait for it.") % {"display_name": field.display_name},
                            field="field") from None
    return job


def backfill_cancel(*, tenant: Tenant, job_id: int) -> BackfillJob:
    """Stop the job: its run stops before the next unit (what is written stays)."""
    job = BackfillJob.objects.filter(tenant=tenant, pk=job_id).first()
    if job is None:
        raise NotFoundError(gettext("No such backfill."))
    now = timezone.now()
    if not BackfillJob.objects.filter(pk=job.pk, state__in=BackfillJob.ACTIVE_STATES).update(
            state=BackfillJob.State.CANCELLED, finished_at=now, note="", updated_at=now):
        raise ConflictError(gettext("This backfill is %(value)s already.") % {"value": job.get_state_display().lower()})
    job.refresh_from_db()
    return job


def _enqueue_run(job_id: int, *, countdown: float = 0, on_commit: bool = False) -> None:
    from customfields.tasks import backfill_run_task

    options = {"countdown": countdown} if countdown > 0 else {}
    if settings.CUSTOMFIELDS_BACKFILL_QUEUE:
        options["queue"] = settings.CUSTOMFIELDS_BACKFILL_QUEUE
    if on_commit:
        enqueue_on_commit(backfill_run_task, job_id, **options)
    else:
        enqueue(backfill_run_task, job_id, **options)


# ------------------------------------------------------------------------ the run
def backfill_run_and_requeue(*, job_id: int) -> float | None:
    """The task's body: one slice under the job's lock (a duplicate delivery finds it
    taken and leaves), then the job back in its queue unless it finished."""
    with try_lock(f"customfields-backfill:{job_id}") as taken:
        if not taken:
            return None
        countdown = backfill_run(job_id=job_id)
    if countdown is not None:
        _enqueue_run(job_id, countdown=countdown)
    return countdown


def _units(job: BackfillJob, *, after: int, limit: int):
    from conversations.selectors import customers_held, sessions_held

    select = customers_held if job.field.klass == CustomField.Klass.CUSTOMER else sessions_held
    return select(tenant=job.tenant, since=job.since, until=job.until, after_pk=after, limit=limit)


def _unit_key(job: BackfillJob, unit) -> int:
    return unit.customer_pk if job.field.klass == CustomField.Klass.CUSTOMER else unit.pk


def _count(job: BackfillJob) -> int:
    from conversations.selectors import customers_held_count, sessions_held_count

    count = customers_held_count if job.field.klass == CustomField.Klass.CUSTOMER else sessions_held_count
    return count(tenant=job.tenant, since=job.since, until=job.until)


def _step(job: BackfillJob, **changes) -> bool:
    """Write `changes` while the job still runs; False once it was cancelled."""
    return bool(BackfillJob.objects.filter(pk=job.pk, state=BackfillJob.State.RUNNING).update(
        **changes, updated_at=timezone.now()))


def _end(job: BackfillJob, state: str, note: str = "") -> None:
    now = timezone.now()
    BackfillJob.objects.filter(pk=job.pk, state__in=BackfillJob.ACTIVE_STATES).update(
        state=state, note=note[:2000], finished_at=now, updated_at=now, inflight=0)


def backfill_run(*, job_id: int) -> float | None:
    """One slice of the job. Returns the seconds until the next slice, or None when the
    job is finished (done, failed or cancelled)."""
    job = BackfillJob.objects.select_related("field", "tenant").filter(pk=job_id).first()
    if job is None or not job.is_active:
        return None
    if job.field.deleted_at is not None:
        _end(job, BackfillJob.State.FAILED, "The field was deleted.")
        return None
    connection = kustomer_connection_get(tenant_id=job.tenant_id)
    if connection is None:
        _end(job, BackfillJob.State.FAILED, "This tenant has no Kustomer connection any more.")
        return None
    now = timezone.now()
    if job.state == BackfillJob.State.QUEUED:
        BackfillJob.objects.filter(pk=job.pk, state=BackfillJob.State.QUEUED).update(
            state=BackfillJob.State.RUNNING, started_at=now, total=_count(job), updated_at=now)
    else:
        BackfillJob.objects.filter(pk=job.pk).update(total=max(_count(job), job.done), updated_at=now)
    job.refresh_from_db()
    if job.state != BackfillJob.State.RUNNING:
        return None
    client = kustomer_client_for(connection=connection)
    client.rate_limit_wait = 0  # never sleep in a worker for a slot: queued again instead
    try:
        return _slice(job, client)
    except KustomerRateLimitedError as exc:
        _step(job, note="Waiting for Kustomer's rate limit.")
        return max(1.0, exc.retry_after)
    except KustomerTransientError as exc:
        _step(job, note=f"Kustomer did not answer ({exc}); trying again.")
        return 5.0
    finally:
        client.close()


def _slice(job: BackfillJob, client) -> float | None:
    deadline = time.monotonic() + settings.CUSTOMFIELDS_BACKFILL_SLICE_SECONDS
    share = settings.CUSTOMFIELDS_BACKFILL_BUDGET_SHARE
    while True:
        units = _units(job, after=job.cursor, limit=_BATCH)
        if not units:
            _end(job, BackfillJob.State.DONE)
            return None
        for unit in units:
            used, budget, paused_for = client.budget_use()
            wait = backfill_rules.backfill_wait_seconds(used=used, budget=budget, paused_for=paused_for, share=share)
            if wait > 0:
                return wait if _step(job, note="Waiting: live events have the rest of the rate budget.") else None
            key = _unit_key(job, unit)
            resumed = job.inflight == key
            if not resumed and not _step(job, inflight=key):
                return None  # cancelled
            outcome = _write_unit(job, client, unit, check_first=resumed)
            elapsed = (timezone.now() - job.started_at).total_seconds() if job.started_at else 0
            rate = backfill_rules.units_per_minute(done_in_run=job.done + 1, elapsed_seconds=elapsed)
            if not _step(job, cursor=key, inflight=0, done=F("done") + 1, rate_per_minute=rate, note="",
                         **{outcome: F(outcome) + 1}):
                return None
            job.refresh_from_db()
            if time.monotonic() > deadline:
                return 0.0  # to the back of the queue: live work queued meanwhile goes first


def _write_unit(job: BackfillJob, client, unit, *, check_first: bool) -> str:
    """Write the field's value on the unit's records: "written", "skipped" (no value or
    no record to hold it) or "failed" (Kustomer refused it for good)."""
    field = job.field
    value = custom_field_value(field, unit.facts)
    is_customer = field.klass == CustomField.Klass.CUSTOMER
    if is_customer:
        records = [unit.kustomer_customer_id] if unit.kustomer_customer_id else []
    else:
        records = list(unit.message_ids)
    if value is None or not records:
        return "skipped"
    failed = False
    for record_id in records:
        try:
            if check_first:  # written before a restart? Kustomer says
                held = (client.get_customer(customer_id=record_id) if is_customer
                        else client.get_message(message_id=record_id)).custom
                if held.get(field.attribute_name) == value:
                    continue
            if is_customer:
                client.update_customer(customer_id=record_id, custom={field.attribute_name: value})
            else:
                client.update_message(message_id=record_id, custom={field.attribute_name: value})
        except KustomerTransientError:
            raise
        except KustomerError as exc:
            logger.info("backfill %s: %s %s refused: %s", job.pk, "customer" if is_customer else "message",
                        record_id, exc)
            failed = True
    return "failed" if failed else "written"


def backfill_jobs_resume_stale(*, older_than_seconds: float = STALE_AFTER_SECONDS) -> int:
    """Queue again the active jobs whose run stopped touching them (a worker killed
    mid-slice, a lost message); a job whose run holds its lock is left to that run."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    resumed = 0
    for job_id in BackfillJob.objects.filter(state__in=BackfillJob.ACTIVE_STATES, updated_at__lte=cutoff).values_list(
            "pk", flat=True)[:200]:
        with try_lock(f"customfields-backfill:{job_id}") as free:
            if not free:
                continue
        BackfillJob.objects.filter(pk=job_id).update(updated_at=timezone.now())
        _enqueue_run(job_id)
        resumed += 1
    return resumed
