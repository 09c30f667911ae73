"""The executor: applies a customer's events one at a time, in ``occurred_at`` order.

Whoever holds the customer's lock (locks.py) applies every pending event of that
customer, so a task that finds the lock taken simply returns. Each event becomes a plan
of actions (rules.py), stored before it runs; each action's result commits on its own,
so a retry skips what is done. This loop is the one exception to the tasks' retry
policy (integrations/tasks.py: ``autoretry_for=(KustomerTransientError,)``): it schedules
its own retries on the event row (``_wait``), because per-customer order needs it."""
from __future__ import annotations

import copy
import logging
import time
from datetime import timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from conversations import rules
from conversations.fetch import FetchBusy, FetchError
from conversations.locks import customer_lock
from conversations.selectors import call_logging_policies_of
from conversations.models import (
    CustomerLink,
    Event,
    EventAction,
    SessionLink,
)
from conversations.plan import action_from_params
from conversations.services.actions import ACTION_EXECUTORS
from conversations.services.fairness import tenant_turn_run
from conversations.services.context import (
    BACKOFF_CAP_SECONDS,
    MAX_RUNS,
    TENANT_ROWS,
    EventContext,
    EventFailed,
    NeedsCustomer,
    RetryLater,
    event_facts,
    tenant_row,
)
from conversations.services.late_files import ATTACH_FILE, late_files_schedule
from conversations.services.needs_customer import event_park_behind_waiting
from conversations.services.placement import situation_for
from conversations.services.tenant_setup import tenant_prepare
from integrations.kustomer.errors import (
    KustomerError,
    KustomerRateLimitedError,
    KustomerTransientError,
)
from integrations.services import kustomer_client_for, kustomer_connection_record_error
from core.logging import log_context
from core.metrics import event_done_observe
from integrations.tasks import backoff_seconds

logger = logging.getLogger(__name__)


def event_process(*, event_pk: int) -> None:
    """Apply the event, and every other pending event of its customer, in order."""
    event = Event.objects.filter(pk=event_pk).only("pk", "tenant_id", "customer_key", "state").first()
    if event is None or event.is_finished:
        return
    # In one of the tenant's in-flight slots, else parked off the workers (fairness.py).
    tenant_turn_run(tenant_id=event.tenant_id, event_pk=event.pk, work=lambda: _customer_drain(event))


def _customer_drain(event: Event) -> None:
    while True:
        with customer_lock(event.tenant_id, event.customer_key) as taken:
            if not taken:
                return  # the holder applies this event too (it drains the customer's queue)
            if not _drain(tenant_id=event.tenant_id, customer_key=event.customer_key):
                return  # out of time: the rest was handed to a fresh task
        # An event accepted while we held the lock, whose own task found it taken, is
        # ours to apply; one waiting for its retry keeps the later ones behind it.
        head = events_pending(event.tenant_id, event.customer_key).only("pk", "next_attempt_at").first()
        if head is None or (head.next_attempt_at and head.next_attempt_at > timezone.now()):
            return


def events_pending(tenant_id: int, customer_key: str):
    return Event.objects.filter(
        tenant_id=tenant_id, customer_key=customer_key, state__in=[Event.State.ACCEPTED, Event.State.PROCESSING]
    ).order_by("occurred_at", "received_at", "pk")


def _drain(*, tenant_id: int, customer_key: str) -> bool:
    """Apply the customer's pending events in order. False when the time budget ran
    out (the next event was queued as a task of its own, within the task time limit)."""
    from conversations.tasks import event_process_task

    deadline = time.monotonic() + settings.SYNC_DRAIN_SECONDS
    while True:
        # The tenant's connection, set-up, webhook subscription and policies come with it.
        event = events_pending(tenant_id, customer_key).select_related("tenant", *TENANT_ROWS).first()
        if event is None:
            return True
        if event.next_attempt_at and event.next_attempt_at > timezone.now():
            return True  # the earliest waits for its retry; later ones wait behind it (order)
        if time.monotonic() > deadline:
            Event.objects.filter(pk=event.pk).update(updated_at=timezone.now())  # queued now (the sweeper's mark)
            event_process_task.delay(event.pk)
            return False
        if event_park_behind_waiting(event):
            continue  # R-O1: behind the number's event that needs a customer (needs_customer.py)
        with log_context(tenant=event.tenant.slug, event=event.event_id):
            if not _apply_event(event):
                return True


def _apply_event(event: Event) -> bool:
    """One run of one event. True when the event is finished (done or failed)."""
    now = timezone.now()
    Event.objects.filter(pk=event.pk).update(
        state=Event.State.PROCESSING, attempts=F("attempts") + 1, processing_started_at=now,
        next_attempt_at=None, updated_at=now, parked_at=None,
    )
    # What the update wrote, without reading the row again (it was read under the
    # customer's lock just now, and this run is the only writer of its attempts).
    event.state, event.attempts, event.processing_started_at = Event.State.PROCESSING, event.attempts + 1, now
    event.next_attempt_at, event.updated_at, event.parked_at = None, now, None
    connection = tenant_row(event.tenant, "kustomer_connection")
    if connection is None:
        _finish_failed(event, "The tenant has no Kustomer connection.")
        return True
    try:
        # A longer wait for the org's budget or a 429 pause gives the worker back (_wait).
        client = kustomer_client_for(connection=connection, budget_wait=settings.SYNC_BUDGET_WAIT_SECONDS)
    except Exception as exc:  # e.g. the stored key cannot be decrypted with the configured keys
        _finish_failed(event, f"Kustomer connection unusable: {type(exc).__name__}: {exc}")
        return True
    ctx = EventContext(tenant=event.tenant, event=event, facts=event_facts(event), client=client,
                       ids=dict(event.kustomer_ids or {}), ids_saved=copy.deepcopy(event.kustomer_ids or {}))
    try:
        tenant_prepare(ctx)
        _run(ctx)
    except KustomerRateLimitedError as exc:
        return _wait(event, str(exc), exc.retry_after, counts=False)
    except KustomerTransientError as exc:
        return _wait(event, str(exc), backoff_seconds(event.transient_failures, base=1.0, cap=BACKOFF_CAP_SECONDS), counts=True)
    except KustomerError as exc:
        kustomer_connection_record_error(connection=connection, error=str(exc))
        _finish_failed(event, str(exc), ids=ctx.ids)
        return True
    except FetchBusy as exc:  # the tenant's other fetches hold every slot: soon again, not a failure
        return _wait(event, f"file fetch: {exc}", 2.0, counts=False)
    except FetchError as exc:
        if exc.retryable:
            return _wait(event, f"file fetch: {exc}", backoff_seconds(event.transient_failures, base=1.0, cap=BACKOFF_CAP_SECONDS),
                         counts=True)
        _finish_failed(event, f"file fetch refused: {exc}", ids=ctx.ids)
        return True
    except RetryLater as exc:
        return _wait(event, exc.message, exc.seconds, counts=exc.counts)
    except EventFailed as exc:
        _finish_failed(event, str(exc), ids=ctx.ids)
        return True
    except NeedsCustomer as exc:
        # R-O1: waits in the "needs a customer" list; what is done stays done.
        now = timezone.now()
        Event.objects.filter(pk=event.pk).update(
            state=Event.State.NEEDS_CUSTOMER, error=str(exc)[:4000], customer_candidates=exc.candidates,
            updated_at=now, attempt_log=_attempt_logged(event, "needs_customer", ended=now, error=str(exc)))
        return True
    except SoftTimeLimitExceeded:
        # The task ran out of time mid-event: not the event's fault; what is done stays done.
        return _wait(event, "interrupted by the task time limit", 1.0, counts=False)
    except Exception as exc:  # a bug must show as a failed event, not vanish in a retry loop
        logger.exception("event %s (%s) failed unexpectedly", event.event_id, event.pk)
        _finish_failed(event, f"internal error: {type(exc).__name__}: {exc}", ids=ctx.ids)
        return True
    finally:
        client.close()
    finished = timezone.now()
    Event.objects.filter(pk=event.pk).update(
        state=Event.State.DONE, error="", finished_at=finished, updated_at=finished,
        attempt_log=_attempt_logged(event, "done", ended=finished),
        kustomer_ids=ctx.ids, kustomer_customer_id=ctx.customer_id or "",
        kustomer_conversation_id=(ctx.conversation.kustomer_conversation_id if ctx.conversation else ""),
    )
    event_done_observe(tenant=event.tenant.slug, type_=event.type, seconds=(finished - event.received_at).total_seconds())
    if ctx.late_files_possible:
        late_files_schedule(event_pk=event.pk)
    return True


def _wait(event: Event, message: str, seconds: float, *, counts: bool) -> bool:
    from conversations.tasks import event_process_task

    failures = event.transient_failures + (1 if counts else 0)
    if failures > settings.SYNC_MAX_TRANSIENT_FAILURES or event.attempts >= MAX_RUNS:
        _finish_failed(event, f"gave up after {event.attempts} tries: {message}")
        return True
    seconds = max(0.5, float(seconds))
    now = timezone.now()
    next_at = now + timedelta(seconds=seconds)
    Event.objects.filter(pk=event.pk).update(
        transient_failures=failures, error=message[:2000], next_attempt_at=next_at, updated_at=now,
        attempt_log=_attempt_logged(event, "retry", ended=now, error=message, next_attempt_at=next_at),
    )
    logger.info("event %s waits %.1fs: %s", event.event_id, seconds, message)
    event_process_task.apply_async((event.pk,), countdown=seconds)
    return False


def _finish_failed(event: Event, message: str, *, ids: dict[str, Any] | None = None) -> None:
    if ids:
        Event.objects.filter(pk=event.pk).update(
            kustomer_ids=ids, kustomer_customer_id=ids.get("customer_id") or "",
            kustomer_conversation_id=ids.get("conversation_id") or "")
    EventAction.objects.filter(event=event, state=EventAction.State.PENDING, attempts__gt=0).update(
        state=EventAction.State.FAILED, error=message[:2000]
    )
    now = timezone.now()
    Event.objects.filter(pk=event.pk).update(
        state=Event.State.FAILED, error=message[:4000], finished_at=now, updated_at=now,
        next_attempt_at=None, attempt_log=_attempt_logged(event, "failed", ended=now, error=message),
    )
    logger.warning("event %s failed: %s", event.event_id, message)


ATTEMPT_LOG_KEEP = 50


def _attempt_logged(event: Event, outcome: str, *, ended, error: str = "", next_attempt_at=None) -> list[dict]:
    """The event's attempt log with this run's end added (the customer's lock makes
    this run the only writer)."""
    entry = {
        "attempt": event.attempts, "outcome": outcome, "error": error[:500],
        "started_at": event.processing_started_at.isoformat() if event.processing_started_at else None,
        "ended_at": ended.isoformat(), "next_attempt_at": next_attempt_at.isoformat() if next_attempt_at else None,
    }
    return list(event.attempt_log or [])[-(ATTEMPT_LOG_KEEP - 1):] + [entry]


def _run(ctx: EventContext) -> None:
    event = ctx.event
    _load_context(ctx)
    # SPEC §6: inputs of the rules (read with the event, TENANT_ROWS)
    policies = call_logging_policies_of(tenant_row(ctx.tenant, "call_logging_policies"))
    if event.plan_stage < 1:
        known = None
        if ctx.customer_link is not None:
            known = rules.KnownCustomer(
                kustomer_customer_id=ctx.customer_link.kustomer_customer_id or None,
                created_by_us=ctx.customer_link.created_by_us,
                created_session_id=ctx.customer_link.created_session_id or None,
            )
        first = rules.decide_customer(ctx.facts, known, policies)
        if first is not None:
            with transaction.atomic():
                # Stage 0 has no actions yet (each stage's rows and mark commit together);
                # counted as tried when stored, as it runs right away (_run_pending).
                row = EventAction.objects.create(event=event, index=0, kind=first.kind, rule=first.rule,
                                                 params=first.params(), attempts=1)
                Event.objects.filter(pk=event.pk).update(plan_stage=1)
            ctx.plan.append(row)
            ctx.counted.add(row.pk)
        # With no customer step nothing is stored for stage 1: the stage-2 mark below
        # records both (a run stopped before it decides again, nothing having been done).
        event.plan_stage = 1
    _run_pending(ctx)
    if event.plan_stage < 2:
        # No customer after the first step: the policies said not to log it, or Kustomer
        # knows no such customer and creating one is off (R-P1, R-P2).
        situation = situation_for(ctx) if ctx.customer_id else rules.Situation(customer_unknown=True)
        decided = rules.decide_conversation(ctx.facts, situation, policies)
        runs_now = not _unfinished(ctx.plan)  # the first new row runs right away: counted when stored
        with transaction.atomic():
            rows = EventAction.objects.bulk_create([
                EventAction(event=event, index=i, kind=a.kind, rule=a.rule, params=a.params(),
                            attempts=1 if runs_now and i == 1 else 0)
                for i, a in enumerate(decided, start=1)
            ])
            Event.objects.filter(pk=event.pk).update(plan_stage=2)
        event.plan_stage = 2
        if any(r.pk is None for r in rows):  # a database that does not return the new ids
            _plan_read(ctx)
        else:
            ctx.plan.extend(rows)
        if rows and runs_now:
            ctx.counted.add(rows[0].pk or _plan_pk(ctx, rows[0].index))
    _run_pending(ctx)


FINISHED_ACTIONS = (EventAction.State.DONE, EventAction.State.SKIPPED)
#: The actions whose executor reads ``row.attempts`` (a create that may have landed
#: although its answer was lost is looked up first): their try is counted before
#: Kustomer is called. The others are idempotent; their try is counted with the outcome.
LOOK_BEFORE_CREATE = frozenset({"ensure_customer", "create_conversation", "add_message", "add_note"})


def _unfinished(plan: list[EventAction]) -> bool:
    return any(r.state not in FINISHED_ACTIONS for r in plan)


def _plan_pk(ctx: EventContext, index: int) -> int:
    return next(r.pk for r in ctx.plan if r.index == index)


def _plan_read(ctx: EventContext) -> None:
    """The event's planned actions, in order (a late file's action apart: it has its own
    task, late_files.py), and whether a late file may be waiting."""
    rows = list(EventAction.objects.filter(event=ctx.event).order_by("index"))
    ctx.plan = [r for r in rows if r.kind != ATTACH_FILE]
    ctx.late_files_possible = ctx.late_files_possible or len(ctx.plan) < len(rows)


def _load_context(ctx: EventContext) -> None:
    ctx.customer_link = CustomerLink.objects.filter(tenant=ctx.tenant, customer_key=ctx.event.customer_key).first()
    if ctx.event.plan_stage == 0:
        ctx.plan, ctx.late_files_possible = [], False  # nothing planned yet (rows come with their stage)
    else:
        _plan_read(ctx)
    use = next((r for r in ctx.plan if r.kind == "use_customer" and r.state == EventAction.State.DONE), None)
    if use is not None:
        ctx.customer_id = use.result.get("customer_id")
    elif ctx.customer_link is not None and ctx.customer_link.kustomer_customer_id:
        ctx.customer_id = ctx.customer_link.kustomer_customer_id
    link = SessionLink.objects.filter(tenant=ctx.tenant, session_id=ctx.event.session_id).select_related(
        "conversation__customer").first()
    if link is not None and link.conversation.customer.customer_key != ctx.event.customer_key:
        # A session is one call, chat or voicemail of one customer: never write this
        # caller's event onto another caller's conversation (the inbox refuses such an
        # event; two accepted at once end here).
        raise EventFailed(f"Session {ctx.event.session_id} already belongs to another customer's conversation; "
                          "send this customer's session with its own id.")
    ctx.session_link, ctx.session_link_read = link, True
    ctx.conversation = link.conversation if link else None


def _run_pending(ctx: EventContext) -> None:
    """Run the plan's actions not done yet, in order; each one's outcome commits before
    the next one calls Kustomer. One UPDATE per action in the common case: the try
    counted with the outcome unless the action looks before creating (then it is
    counted first, or was when the row was stored), and the event's ids written only
    when the action added some."""
    for row in ctx.plan:
        if row.state in FINISHED_ACTIONS:
            continue
        action = action_from_params(row.kind, row.rule, row.params)
        counted = row.pk in ctx.counted
        if not counted:
            row.attempts += 1
            if row.kind in LOOK_BEFORE_CREATE:
                # Counted before Kustomer is called: a later attempt knows a create may have
                # landed although its answer was lost, and looks it up first.
                EventAction.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1)
                counted = True
        tried = {} if counted else {"attempts": F("attempts") + 1}
        try:
            result = ACTION_EXECUTORS[row.kind](ctx, action, row)
        except EventFailed as exc:
            EventAction.objects.filter(pk=row.pk).update(state=EventAction.State.FAILED, error=str(exc)[:2000], **tried)
            raise
        except (KustomerError, FetchError) as exc:
            retryable = isinstance(exc, KustomerTransientError) or (isinstance(exc, FetchError) and exc.retryable)
            EventAction.objects.filter(pk=row.pk).update(
                error=str(exc)[:2000], state=EventAction.State.PENDING if retryable else EventAction.State.FAILED,
                **tried,
            )
            raise
        except BaseException:
            if tried:
                EventAction.objects.filter(pk=row.pk).update(**tried)
            raise
        state = EventAction.State.SKIPPED if result.pop("skipped", False) else EventAction.State.DONE
        done_at = timezone.now()
        EventAction.objects.filter(pk=row.pk).update(state=state, result=result, error="", done_at=done_at, **tried)
        row.state, row.result, row.error, row.done_at = state, result, "", done_at
        if ctx.ids != ctx.ids_saved:
            Event.objects.filter(pk=ctx.event.pk).update(kustomer_ids=ctx.ids, updated_at=timezone.now())
            ctx.ids_saved = copy.deepcopy(ctx.ids)
