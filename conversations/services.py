"""Writes of the conversation sync: the inbox, the executor, retries, the sweeper and
the Kustomer webhook mirror (SPEC §4, §5).

The executor (``event_process``) applies a customer's events one at a time, in
``occurred_at`` order: whoever holds the customer's lock (locks.py) applies every
pending event of that customer, so a task that finds the lock taken simply returns.
Each event becomes a plan of actions (rules.py), stored before it runs; each action's
result commits on its own, so a retry skips what is done. Every Kustomer create
carries a deterministic externalId; a create that was sent before (its action has an
earlier attempt, or its claim row already existed) is looked up before it is sent again.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from conversations import rules
from conversations.fetch import FetchError, fetch_file
from conversations.locks import customer_lock
from conversations.models import (
    CustomerLink,
    Event,
    EventAction,
    SessionLink,
    SyncedConversation,
    TenantSyncSetup,
    WebhookDelivery,
    WebhookSubscription,
)
from integrations.kustomer.client import KustomerClient, find_or_create
from integrations.kustomer.errors import (
    KustomerBadRequestError,
    KustomerConflictError,
    KustomerError,
    KustomerRateLimitedError,
)
from integrations.kustomer.external_ids import external_id, is_external_id
from integrations.models import KustomerConnection
from integrations.services import kustomer_client_for, kustomer_connection_record_error
from integrations.tasks import backoff_seconds
from core.crypto import decrypt_secret, encrypt_secret
from core.errors import ApplicationError, ConflictError
from core.queue import enqueue, enqueue_on_commit
from tenants.models import Tenant

logger = logging.getLogger(__name__)

MESSAGE_APP = "contact-center"
#: Transient failures (5xx, timeouts, fetch errors) before an event is marked failed:
#: with backoff up to 10 minutes, about an hour and a half of Kustomer outage
#: (SYNC_MAX_TRANSIENT_FAILURES overrides).
MAX_TRANSIENT_FAILURES = 24
BACKOFF_CAP_SECONDS = 600.0
#: A 429 is a pause, but not an endless one.
MAX_RUNS = 200
WEBHOOK_EVENTS = ("kustomer.conversation.create", "kustomer.conversation.update")


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


# ============================================================================ inbox
def body_hash(data: Any) -> str:
    """SHA-256 of the body's canonical JSON: the same JSON sent again with other
    whitespace or key order is the same body."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def event_record(*, tenant: Tenant, payload: dict[str, Any], raw_body: str, received: Any) -> tuple[Event, bool]:
    """Store an accepted event once per (tenant, event id) and queue it.

    ``payload``: the validated, normalised event (E.164 phone, ISO times);
    ``received``: the body as parsed JSON, whose hash decides "same body".
    Returns ``(event, created)``; the same id with another body raises ConflictError."""
    digest = body_hash(received)
    from conversations.tasks import event_process_task

    phone = payload["end_user"].get("phone")
    identifier = payload["end_user"].get("identifier")
    try:
        with transaction.atomic():
            event = Event.objects.create(
                tenant=tenant,
                event_id=payload["id"],
                type=payload["type"],
                occurred_at=parse_datetime(payload["occurred_at"]),
                session_id=payload["session"]["id"],
                customer_key=rules.customer_key(phone=phone, identifier=identifier),
                raw_body=raw_body,
                body_hash=digest,
                payload=payload,
            )
            enqueue_on_commit(event_process_task, event.pk)
    except IntegrityError:
        event = Event.objects.filter(tenant=tenant, event_id=payload["id"]).first()
        if event is None:  # pragma: no cover - an integrity error of another kind
            raise
        if not hmac.compare_digest(event.body_hash, digest):
            raise ConflictError(
                f"Event {payload['id']} was already received with a different body.", field="id"
            ) from None
        return event, False
    return event, True


def event_retry(*, event: Event) -> Event:
    """Queue a failed event again (portal button, API). Actions already done stay done."""
    from conversations.tasks import event_process_task

    with transaction.atomic():
        locked = Event.objects.select_for_update().get(pk=event.pk)
        if locked.state != Event.State.FAILED:
            raise ApplicationError(f"Only failed events can be retried; this one is {locked.state}.", field="state")
        EventAction.objects.filter(event=locked, state=EventAction.State.FAILED).update(
            state=EventAction.State.PENDING, error=""
        )
        Event.objects.filter(pk=locked.pk).update(
            state=Event.State.ACCEPTED, error="", next_attempt_at=None, transient_failures=0, finished_at=None,
            updated_at=timezone.now(),
        )
        enqueue_on_commit(event_process_task, locked.pk)
    event.refresh_from_db()
    return event


def click_to_call_start(*, tenant: Tenant, agent_email: str, phone: str, kustomer_customer_id: str | None) -> Event:
    """R-X2: the agent pressed Call in the adapter: an outbound session starts and its
    ``call.outbound_started`` event takes the same path as every other event."""
    session_id = f"ctc-{uuid.uuid4().hex[:16]}"
    body = {
        "id": f"{session_id}-started",
        "type": rules.OUTBOUND_STARTED,
        "occurred_at": timezone.now().isoformat(),
        "session": {"id": session_id, "channel": "voice", "source": "outbound", "menu": None, "queue": None,
                    "language": None, "recording_enabled": False},
        "end_user": {"phone": phone, "identifier": None, "name": None, "email": None},
        "agent": {"email": agent_email},
        "data": {"kustomer_customer_id": kustomer_customer_id or None},
    }
    event, _ = event_record(tenant=tenant, payload=body, raw_body=json.dumps(body), received=body)
    return event


# ============================================================================ executor
class _Wait(Exception):
    """Stop this run; try the event again after ``seconds``."""

    def __init__(self, message: str, seconds: float, *, counts: bool) -> None:
        super().__init__(message)
        self.message = message
        self.seconds = seconds
        self.counts = counts


class _Fail(Exception):
    """The event cannot be applied (permanent error): mark it failed."""


@dataclass
class _Context:
    tenant: Tenant
    event: Event
    facts: rules.EventFacts
    client: KustomerClient
    customer_link: CustomerLink | None = None
    customer_id: str | None = None
    customer_created_now: bool = False
    conversation: SyncedConversation | None = None
    ids: dict[str, Any] = field(default_factory=dict)


def event_facts(event: Event) -> rules.EventFacts:
    p = event.payload
    session, end_user = p.get("session") or {}, p.get("end_user") or {}
    return rules.EventFacts(
        event_id=event.event_id,
        type=event.type,
        occurred_at=event.occurred_at,
        session_id=event.session_id,
        channel=session.get("channel") or "voice",
        source=session.get("source") or "ivr",
        menu=session.get("menu") or None,
        queue=session.get("queue") or None,
        language=session.get("language") or None,
        recording_enabled=bool(session.get("recording_enabled")),
        phone=end_user.get("phone") or None,
        identifier=end_user.get("identifier") or None,
        name=end_user.get("name") or None,
        email=end_user.get("email") or None,
        agent_email=(p.get("agent") or {}).get("email") or None,
        data=p.get("data") or {},
    )


def event_process(*, event_pk: int) -> None:
    """Apply the event, and every other pending event of its customer, in order."""
    event = Event.objects.filter(pk=event_pk).only("pk", "tenant_id", "customer_key", "state").first()
    if event is None or event.is_finished:
        return
    while True:
        with customer_lock(event.tenant_id, event.customer_key) as taken:
            if not taken:
                return  # the holder applies this event too (it drains the customer's queue)
            if not _drain(tenant_id=event.tenant_id, customer_key=event.customer_key):
                return  # out of time: the rest was handed to a fresh task
        # An event accepted while we held the lock, whose own task found it taken, is
        # ours to apply; one waiting for its retry keeps the later ones behind it.
        head = _pending(event.tenant_id, event.customer_key).only("pk", "next_attempt_at").first()
        if head is None or (head.next_attempt_at and head.next_attempt_at > timezone.now()):
            return


def _pending(tenant_id: int, customer_key: str):
    return Event.objects.filter(
        tenant_id=tenant_id, customer_key=customer_key, state__in=[Event.State.ACCEPTED, Event.State.PROCESSING]
    ).order_by("occurred_at", "received_at", "pk")


def _drain(*, tenant_id: int, customer_key: str) -> bool:
    """Apply the customer's pending events in order. False when the time budget ran
    out (the next event was queued as a task of its own, within the task time limit)."""
    from conversations.tasks import event_process_task

    deadline = time.monotonic() + float(_setting("SYNC_DRAIN_SECONDS", 60))
    while True:
        event = _pending(tenant_id, customer_key).select_related("tenant").first()
        if event is None:
            return True
        if event.next_attempt_at and event.next_attempt_at > timezone.now():
            return True  # the earliest waits for its retry; later ones wait behind it (order)
        if time.monotonic() > deadline:
            event_process_task.delay(event.pk)
            return False
        if not _apply_event(event):
            return True


def _apply_event(event: Event) -> bool:
    """One run of one event. True when the event is finished (done or failed)."""
    now = timezone.now()
    Event.objects.filter(pk=event.pk).update(
        state=Event.State.PROCESSING, attempts=F("attempts") + 1, processing_started_at=now,
        next_attempt_at=None, updated_at=now,
    )
    event.refresh_from_db()
    connection = KustomerConnection.objects.filter(tenant_id=event.tenant_id).first()
    if connection is None:
        _finish_failed(event, "The tenant has no Kustomer connection.")
        return True
    try:
        client = kustomer_client_for(connection=connection)
    except Exception as exc:  # e.g. the stored key cannot be decrypted with the configured keys
        _finish_failed(event, f"Kustomer connection unusable: {type(exc).__name__}: {exc}")
        return True
    ctx = _Context(tenant=event.tenant, event=event, facts=event_facts(event), client=client,
                   ids=dict(event.kustomer_ids or {}))
    try:
        _tenant_prepare(ctx)
        _run(ctx)
    except KustomerRateLimitedError as exc:
        return _wait(event, str(exc), exc.retry_after, counts=False)
    except KustomerError as exc:
        if exc.retryable:
            return _wait(event, str(exc), backoff_seconds(event.transient_failures, base=1.0, cap=BACKOFF_CAP_SECONDS), counts=True)
        kustomer_connection_record_error(connection=connection, error=str(exc))
        _finish_failed(event, str(exc), ids=ctx.ids)
        return True
    except FetchError as exc:
        if exc.retryable:
            return _wait(event, f"file fetch: {exc}", backoff_seconds(event.transient_failures, base=1.0, cap=BACKOFF_CAP_SECONDS),
                         counts=True)
        _finish_failed(event, f"file fetch refused: {exc}", ids=ctx.ids)
        return True
    except _Wait as exc:
        return _wait(event, exc.message, exc.seconds, counts=exc.counts)
    except _Fail as exc:
        _finish_failed(event, str(exc), ids=ctx.ids)
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
    Event.objects.filter(pk=event.pk).update(
        state=Event.State.DONE, error="", finished_at=timezone.now(), updated_at=timezone.now(),
        kustomer_ids=ctx.ids, kustomer_customer_id=ctx.customer_id or "",
        kustomer_conversation_id=(ctx.conversation.kustomer_conversation_id if ctx.conversation else ""),
    )
    return True


def _wait(event: Event, message: str, seconds: float, *, counts: bool) -> bool:
    from conversations.tasks import event_process_task

    failures = event.transient_failures + (1 if counts else 0)
    if failures > int(_setting("SYNC_MAX_TRANSIENT_FAILURES", MAX_TRANSIENT_FAILURES)) or event.attempts >= MAX_RUNS:
        _finish_failed(event, f"gave up after {event.attempts} tries: {message}")
        return True
    seconds = max(0.5, float(seconds))
    Event.objects.filter(pk=event.pk).update(
        transient_failures=failures, error=message[:2000],
        next_attempt_at=timezone.now() + timedelta(seconds=seconds), updated_at=timezone.now(),
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
    Event.objects.filter(pk=event.pk).update(
        state=Event.State.FAILED, error=message[:4000], finished_at=timezone.now(), updated_at=timezone.now(),
        next_attempt_at=None,
    )
    logger.warning("event %s failed: %s", event.event_id, message)


def _run(ctx: _Context) -> None:
    event = ctx.event
    _load_context(ctx)
    if event.plan_stage < 1:
        known = None
        if ctx.customer_link is not None:
            known = rules.KnownCustomer(
                kustomer_customer_id=ctx.customer_link.kustomer_customer_id or None,
                created_by_us=ctx.customer_link.created_by_us,
                created_session_id=ctx.customer_link.created_session_id or None,
            )
        first = rules.decide_customer(ctx.facts, known)
        with transaction.atomic():
            if first is not None:
                EventAction.objects.get_or_create(
                    event=event, index=0, defaults={"kind": first.kind, "rule": first.rule, "params": first.params()}
                )
            Event.objects.filter(pk=event.pk).update(plan_stage=1)
        event.plan_stage = 1
    _run_pending(ctx)
    if event.plan_stage < 2:
        situation = _situation(ctx)
        decided = rules.decide_conversation(ctx.facts, situation)
        with transaction.atomic():
            EventAction.objects.bulk_create([
                EventAction(event=event, index=i, kind=a.kind, rule=a.rule, params=a.params())
                for i, a in enumerate(decided, start=1)
            ])
            Event.objects.filter(pk=event.pk).update(plan_stage=2)
        event.plan_stage = 2
    _run_pending(ctx)


def _load_context(ctx: _Context) -> None:
    ctx.customer_link = CustomerLink.objects.filter(tenant=ctx.tenant, customer_key=ctx.event.customer_key).first()
    use = EventAction.objects.filter(event=ctx.event, kind="use_customer", state=EventAction.State.DONE).first()
    if use is not None:
        ctx.customer_id = use.result.get("customer_id")
    elif ctx.customer_link is not None and ctx.customer_link.kustomer_customer_id:
        ctx.customer_id = ctx.customer_link.kustomer_customer_id
    link = SessionLink.objects.filter(tenant=ctx.tenant, session_id=ctx.event.session_id).select_related(
        "conversation").first()
    ctx.conversation = link.conversation if link else None


def _run_pending(ctx: _Context) -> None:
    for row in EventAction.objects.filter(event=ctx.event).exclude(
        state__in=[EventAction.State.DONE, EventAction.State.SKIPPED]
    ).order_by("index"):
        action = rules.action_from_params(row.kind, row.rule, row.params)
        # Counted before Kustomer is called: a later attempt knows a create may have
        # landed although its answer was lost, and looks it up first.
        EventAction.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1)
        row.attempts += 1
        try:
            result = _EXECUTORS[row.kind](ctx, action, row)
        except _Fail as exc:
            EventAction.objects.filter(pk=row.pk).update(state=EventAction.State.FAILED, error=str(exc)[:2000])
            raise
        except (KustomerError, FetchError) as exc:
            retryable = getattr(exc, "retryable", False)
            EventAction.objects.filter(pk=row.pk).update(
                error=str(exc)[:2000], state=EventAction.State.PENDING if retryable else EventAction.State.FAILED,
            )
            raise
        state = EventAction.State.SKIPPED if result.pop("skipped", False) else EventAction.State.DONE
        EventAction.objects.filter(pk=row.pk).update(state=state, result=result, error="", done_at=timezone.now())
        Event.objects.filter(pk=ctx.event.pk).update(kustomer_ids=ctx.ids, updated_at=timezone.now())


# ---------------------------------------------------------------------------- situation
def _mirror_trusted(ctx: _Context, conversations: list[SyncedConversation]) -> bool:
    """The local status mirror is trusted when Kustomer's webhooks demonstrably reach
    us and every conversation's status was confirmed within the last few seconds;
    otherwise Kustomer is asked directly before a join decision."""
    subscription = WebhookSubscription.objects.filter(tenant=ctx.tenant, active=True).first()
    if subscription is None or subscription.last_delivery_at is None:
        return False
    fresh_after = timezone.now() - timedelta(seconds=float(_setting("SYNC_MIRROR_FRESH_SECONDS", 5)))
    return all(c.status_synced_at and c.status_synced_at >= fresh_after for c in conversations)


def _refresh_conversations(ctx: _Context) -> None:
    """One GET of the customer's conversations (newest first) into the mirror,
    including ones we did not create (they count as the "most recent" for R-T3/R-U2)."""
    now = timezone.now()
    for conv in ctx.client.list_customer_conversations(customer_id=ctx.customer_id, page_size=100, max_pages=1):
        row = SyncedConversation.objects.filter(tenant=ctx.tenant, kustomer_conversation_id=conv.id).first()
        if row is None:
            try:
                with transaction.atomic():
                    SyncedConversation.objects.create(
                        tenant=ctx.tenant, customer=ctx.customer_link, kustomer_customer_id=ctx.customer_id,
                        kustomer_conversation_id=conv.id, kind=SyncedConversation.Kind.OTHER,
                        status=conv.status or "", status_updated_at=conv.updated_at, status_synced_at=now,
                        kustomer_created_at=conv.created_at or now,
                    )
            except IntegrityError:
                pass
            continue
        _mirror_status(row, status=conv.status, updated_at=conv.updated_at, synced_at=now)


def _mirror_status(row: SyncedConversation, *, status: str | None, updated_at: datetime | None,
                   synced_at: datetime) -> None:
    """Keep the newest status we have seen (webhooks arrive out of order)."""
    if not status:
        return
    qs = SyncedConversation.objects.filter(pk=row.pk)
    if updated_at is not None:
        qs = qs.filter(Q(status_updated_at__isnull=True) | Q(status_updated_at__lte=updated_at))
    changed = qs.update(status=status, status_updated_at=updated_at or synced_at, status_synced_at=synced_at)
    if changed:
        row.status, row.status_updated_at, row.status_synced_at = status, updated_at or synced_at, synced_at


def _situation(ctx: _Context) -> rules.Situation:
    facts = ctx.facts
    if ctx.customer_id is None:
        raise _Fail("no Kustomer customer for this event")
    conversations = list(SyncedConversation.objects.filter(
        tenant=ctx.tenant, kustomer_customer_id=ctx.customer_id).exclude(kustomer_conversation_id=""))
    needs_placement = ctx.conversation is None
    always_new = facts.type in (rules.VOICEMAIL_RECEIVED, rules.CALL_ABANDONED, rules.VOICEMAIL_UPDATED)
    if needs_placement and not always_new and not ctx.customer_created_now:
        if not _mirror_trusted(ctx, conversations):
            _refresh_conversations(ctx)
            conversations = list(SyncedConversation.objects.filter(
                tenant=ctx.tenant, kustomer_customer_id=ctx.customer_id).exclude(kustomer_conversation_id=""))
    previous_ref, previous_duration = None, None
    if facts.type == rules.CALLBACK_REQUESTED and facts.data.get("previous_session_id"):
        previous = SessionLink.objects.filter(tenant=ctx.tenant, session_id=facts.data["previous_session_id"]).first()
        if previous is not None:
            previous_ref, previous_duration = str(previous.conversation_id), previous.duration_seconds
    link = ctx.customer_link
    return rules.Situation(
        conversations=tuple(
            rules.ConversationFacts(
                ref=str(c.pk), status=c.status or None, created_at=c.kustomer_created_at, kind=c.kind,
                channel=c.channel or None, menu=c.menu or None, source=c.source or None,
            ) for c in conversations
        ),
        session_conversation=str(ctx.conversation.pk) if ctx.conversation else None,
        customer_just_created=bool(link and link.created_by_us and link.created_session_id == facts.session_id),
        previous_session_conversation=previous_ref,
        previous_session_duration=previous_duration,
    )


# ---------------------------------------------------------------------------- values
def session_facts(ctx: _Context) -> Any:
    """customfields' SessionFacts for the event's session (R-F1, R-F3, R-U8)."""
    from customfields.rules import SessionFacts

    facts, data = ctx.facts, ctx.facts.data
    link = SessionLink.objects.filter(tenant=ctx.tenant, session_id=facts.session_id).first()
    rating = data.get("rating") if facts.type == rules.CSAT_SUBMITTED else None
    return SessionFacts(
        session_id=facts.session_id,
        session_type=rules.session_kind(facts),
        channel=facts.channel,
        source=facts.source,
        started_at=link.started_at if link else facts.occurred_at,
        queue_name=facts.queue,
        menu=facts.menu,
        from_phone=facts.phone,
        end_user_identifier=facts.identifier,
        end_user_email=facts.email,
        call_duration_seconds=data.get("duration_seconds") if facts.type == rules.SESSION_ENDED else None,
        hold_seconds=data.get("hold_seconds"),
        wait_seconds=data.get("wait_seconds"),
        csat_rating=rating,
        csat_comment=data.get("comment") if facts.type == rules.CSAT_SUBMITTED else None,
        custom_data=dict(data.get("custom_data") or {}),
    )


def _field_values(ctx: _Context, klass: str) -> dict[str, Any]:
    try:
        from customfields.selectors import custom_field_values_for_session
    except ImportError:
        return {}  # the custom fields app has not landed its selector: no fields
    return dict(custom_field_values_for_session(tenant=ctx.tenant, klass=klass, facts=session_facts(ctx)) or {})


def _kustomer_user_id(ctx: _Context, email: str) -> str | None:
    """The Kustomer user of an agent, matched by email (R-S5): the agent row's id when
    set, else Kustomer's user list (cached: agents rarely change their email)."""
    try:
        from statusmapping.selectors import agent_get_by_email
    except ImportError:
        agent_get_by_email = None
    if agent_get_by_email is not None:
        agent = agent_get_by_email(tenant=ctx.tenant, email=email)
        if agent is not None and getattr(agent, "kustomer_user_id", ""):
            return agent.kustomer_user_id
    key = f"conversations:kustomer-user:{ctx.tenant.pk}:{hashlib.sha256(email.lower().encode()).hexdigest()[:32]}"
    cached = cache.get(key)
    if cached is not None:
        return cached or None
    users = ctx.client.list_users(email=email)
    user_id = next((u.id for u in users if (u.email or "").lower() == email.lower()), None)
    cache.set(key, user_id or "", 600 if user_id else 60)
    return user_id


def render_transcript(*, session_id: str, lines: list[dict[str, Any]]) -> str:
    """R-D4: the chat transcript as a readable text file."""
    out = [f"Chat transcript: session {session_id}", ""]
    for line in lines:
        at = line.get("at") or ""
        when = parse_datetime(at) if isinstance(at, str) else None
        stamp = when.strftime("%Y-%m-%d %H:%M:%S %Z").strip() if when else str(at)
        out.append(f"[{stamp}] {line.get('from') or '?'}: {line.get('text') or ''}")
    return "\n".join(out) + "\n"


def _attach(ctx: _Context, row: EventAction, key: str, name: str,
            produce: Callable[[], tuple[str, bytes]]) -> dict[str, Any]:
    """Upload once per action and file: the attachment's reference (``{_id, name,
    contentType, contentLength}``) is kept in the action's result before the message or
    note that lists it is sent, so a retry does not upload it again."""
    done = dict(row.result.get("attachments") or {})
    if key in done:
        return done[key]
    content_type, content = produce()  # fetched only when not uploaded yet
    upload = ctx.client.upload_file(name=name, content_type=content_type, content=content)
    reference = upload.reference()
    reference["contentLength"] = reference.get("contentLength") or len(content)
    done[key] = reference
    row.result = {**row.result, "attachments": done}
    EventAction.objects.filter(pk=row.pk).update(result=row.result)
    ctx.ids.setdefault("attachment_ids", []).append(upload.id)
    return reference


def _fetched(url: str, declared_type: str | None = None) -> tuple[str, bytes]:
    fetched = fetch_file(url)
    return (declared_type or fetched.content_type), fetched.content


def _file_name_from_url(url: str, fallback: str) -> str:
    from urllib.parse import urlsplit

    tail = urlsplit(url).path.rsplit("/", 1)[-1]
    return tail or fallback


# ---------------------------------------------------------------------------- executors
def _exec_ensure_customer(ctx: _Context, action: rules.EnsureCustomer, row: EventAction) -> dict[str, Any]:
    key = ctx.event.customer_key
    ext = external_id(ctx.tenant.slug, "customer", key)
    link, claimed = CustomerLink.objects.get_or_create(
        tenant=ctx.tenant, customer_key=key,
        defaults={"external_id": ext, "phone": action.phone or "", "identifier": action.identifier or ""},
    )
    if link.kustomer_customer_id:
        ctx.customer_link, ctx.customer_id = link, link.kustomer_customer_id
        return {"customer_id": link.kustomer_customer_id, "found": "mapping"}
    client = ctx.client
    found, how = None, None
    if not claimed or row.attempts > 1:  # an earlier try may have created it
        found, how = client.get_customer_by_external_id(external_id=link.external_id), "externalId"
    if found is None and action.phone:
        found, how = client.get_customer_by_phone(phone=action.phone), "phone"
    created = False
    if found is None:
        try:
            found = client.create_customer(
                name=action.name or action.phone or action.identifier, external_id=link.external_id,
                emails=[action.email] if action.email else None,
                phones=[{"type": "mobile", "phone": action.phone}] if action.phone else None,
                custom=_field_values(ctx, "customer") or None,
            )
            created, how = True, "created"
        except (KustomerConflictError, KustomerBadRequestError):
            # Taken meanwhile (by our lost create, or by someone else with this phone/email).
            found = client.get_customer_by_external_id(external_id=link.external_id)
            if found is None and action.phone:
                found = client.get_customer_by_phone(phone=action.phone)
            if found is None and action.email:
                found = client.get_customer_by_email(email=action.email)
            if found is None:
                raise
            how = "after-duplicate"
    CustomerLink.objects.filter(pk=link.pk).update(
        kustomer_customer_id=found.id, created_by_us=created,
        created_session_id=ctx.event.session_id if created else "",
    )
    link.refresh_from_db()
    ctx.customer_link, ctx.customer_id, ctx.customer_created_now = link, found.id, created
    ctx.ids["customer_id"] = found.id
    return {"customer_id": found.id, "found": how, "created": created}


def _exec_use_customer(ctx: _Context, action: rules.UseCustomer, row: EventAction) -> dict[str, Any]:
    given = action.kustomer_customer_id
    customer = ctx.client.get_customer(customer_id=given)  # a wrong id fails here, clearly
    link, _ = CustomerLink.objects.get_or_create(
        tenant=ctx.tenant, customer_key=ctx.event.customer_key,
        defaults={"external_id": external_id(ctx.tenant.slug, "customer", ctx.event.customer_key),
                  "kustomer_customer_id": customer.id, "phone": ctx.facts.phone or ""},
    )
    if not link.kustomer_customer_id:
        CustomerLink.objects.filter(pk=link.pk, kustomer_customer_id="").update(kustomer_customer_id=customer.id)
        link.refresh_from_db()
    ctx.customer_link, ctx.customer_id = link, customer.id
    ctx.ids["customer_id"] = customer.id
    return {"customer_id": customer.id}


def _exec_create_conversation(ctx: _Context, action: rules.CreateConversation, row: EventAction) -> dict[str, Any]:
    if ctx.customer_id is None or ctx.customer_link is None:
        raise _Fail("no Kustomer customer to create the conversation for")
    ext = external_id(ctx.tenant.slug, "conversation", action.session_id)
    conv, claimed = SyncedConversation.objects.get_or_create(
        tenant=ctx.tenant, external_id=ext,
        defaults={
            "customer": ctx.customer_link, "kustomer_customer_id": ctx.customer_id, "founding_session_id": action.session_id,
            "kind": action.conversation_kind, "channel": action.channel, "menu": action.menu or "", "source": action.source,
        },
    )
    if not conv.kustomer_conversation_id:
        def create():
            assignee = _assignee_at_create(ctx, row)
            return ctx.client.create_conversation(
                customer_id=ctx.customer_id, external_id=ext, name=action.name[:200], status="open",
                direction=action.direction, custom=dict(action.standard_fields) or None,
                assigned_users=[assignee] if assignee else None,
            )

        found, _ = find_or_create(
            lambda: ctx.client.get_conversation_by_external_id(external_id=ext), create,
            look_first=not claimed or row.attempts > 1,  # an earlier try may have created it
        )
        now = timezone.now()
        with transaction.atomic():
            # A listing may have mirrored it as a foreign conversation first: fold that in.
            twins = SyncedConversation.objects.filter(tenant=ctx.tenant, kustomer_conversation_id=found.id,
                                                      external_id="")
            SessionLink.objects.filter(conversation__in=twins).update(conversation=conv)
            twins.delete()
            SyncedConversation.objects.filter(pk=conv.pk).update(
                kustomer_conversation_id=found.id, status=found.status or "open",
                status_updated_at=found.updated_at or now, status_synced_at=now,
                kustomer_created_at=found.created_at or now,
            )
        conv.refresh_from_db()
    _link_session(ctx, conv, action.rule)
    ctx.ids["conversation_id"] = conv.kustomer_conversation_id
    return {"conversation_id": conv.kustomer_conversation_id, "external_id": ext}


def _assignee_at_create(ctx: _Context, row: EventAction) -> str | None:
    """The plan assigns the new conversation right after creating it (R-X1): send the
    assignee with the create and save the separate update (one request fewer)."""
    later = EventAction.objects.filter(event=ctx.event, index__gt=row.index, kind="assign_conversation",
                                       state=EventAction.State.PENDING).order_by("index").first()
    if later is None:
        return None
    user_id = _kustomer_user_id(ctx, later.params.get("agent_email", ""))
    if user_id:
        ctx.ids["assigned_at_create"] = user_id
    return user_id


def _link_session(ctx: _Context, conv: SyncedConversation, rule: str) -> None:
    link, _ = SessionLink.objects.get_or_create(
        tenant=ctx.tenant, session_id=ctx.event.session_id,
        defaults={"conversation": conv, "rule": rule, "started_at": ctx.event.occurred_at},
    )
    ctx.conversation = link.conversation


def _exec_join_conversation(ctx: _Context, action: rules.JoinConversation, row: EventAction) -> dict[str, Any]:
    conv = SyncedConversation.objects.filter(tenant=ctx.tenant, pk=int(action.conversation_ref)).first()
    if conv is None:
        raise _Fail("the conversation to join is gone")
    _link_session(ctx, conv, action.rule)
    ctx.ids["conversation_id"] = ctx.conversation.kustomer_conversation_id
    return {"conversation_id": ctx.conversation.kustomer_conversation_id}


def _require_conversation(ctx: _Context) -> SyncedConversation:
    if ctx.conversation is None or not ctx.conversation.kustomer_conversation_id:
        raise _Fail(f"session {ctx.event.session_id} has no Kustomer conversation")
    return ctx.conversation


def _exec_add_message(ctx: _Context, action: rules.AddMessage, row: EventAction) -> dict[str, Any]:
    conv = _require_conversation(ctx)
    ext = external_id(ctx.tenant.slug, "message", ctx.event.event_id, row.index)

    def find():
        return ctx.client.find_conversation_message(conversation_id=conv.kustomer_conversation_id, external_id=ext)

    # Only a retry can find an earlier create (the look-up scans the timeline).
    if row.attempts > 1 and (found := find()) is not None:
        ctx.ids.setdefault("message_ids", []).append(found.id)
        return {"message_id": found.id, "found": True}
    attachments = []
    if action.recording_url:
        url = action.recording_url
        name = _file_name_from_url(url, f"recording-{ctx.event.session_id}")
        attachments.append(_attach(ctx, row, "recording", name, lambda: _fetched(url)))
    custom = _field_values(ctx, "message")
    message, _ = find_or_create(
        find,
        lambda: ctx.client.create_message(
            conversation_id=conv.kustomer_conversation_id, channel=action.channel, direction=action.direction,
            app=MESSAGE_APP, preview=action.preview[:1000], external_id=ext, custom=custom or None,
            attachments=[a["_id"] for a in attachments] or None,  # messages take bare ids
            meta={"sessionId": ctx.event.session_id, "eventId": ctx.event.event_id, "eventType": ctx.event.type},
        ),
        look_first=False,
    )
    ctx.ids.setdefault("message_ids", []).append(message.id)
    return {**row.result, "message_id": message.id}


def _exec_add_note(ctx: _Context, action: rules.AddNote, row: EventAction) -> dict[str, Any]:
    conv = _require_conversation(ctx)
    ext = external_id(ctx.tenant.slug, "note", ctx.event.event_id, row.index)

    def find():
        return ctx.client.find_conversation_note(conversation_id=conv.kustomer_conversation_id, external_id=ext)

    if row.attempts > 1 and (found := find()) is not None:
        ctx.ids.setdefault("note_ids", []).append(found.id)
        return {"note_id": found.id, "found": True}
    attachments = []
    if action.transcript:
        text = render_transcript(session_id=ctx.event.session_id, lines=list(action.transcript))
        attachments.append(_attach(ctx, row, "transcript", f"chat-transcript-{ctx.event.session_id}.txt",
                                   lambda: ("text/plain", text.encode("utf-8"))))
    for number, item in enumerate(action.files):
        url = str(item.get("url"))
        name = str(item.get("name") or _file_name_from_url(url, f"file-{number + 1}"))
        attachments.append(_attach(ctx, row, f"file-{number}", name,
                                   lambda url=url, declared=item.get("content_type"): _fetched(url, declared)))
    note, _ = find_or_create(
        find,
        lambda: ctx.client.create_note(conversation_id=conv.kustomer_conversation_id, body=action.body[:10000],
                                       external_id=ext, attachments=attachments or None),
        look_first=False,
    )
    ctx.ids.setdefault("note_ids", []).append(note.id)
    return {**row.result, "note_id": note.id}


def _exec_assign_conversation(ctx: _Context, action: rules.AssignConversation, row: EventAction) -> dict[str, Any]:
    conv = _require_conversation(ctx)
    user_id = _kustomer_user_id(ctx, action.agent_email)
    if user_id is None:
        return {"skipped": True, "reason": f"no Kustomer user with email {action.agent_email}"}
    ctx.ids["assigned_user_id"] = user_id
    if ctx.ids.get("assigned_at_create") == user_id and conv.founding_session_id == ctx.event.session_id:
        return {"user_id": user_id, "at_create": True}
    ctx.client.update_conversation(conversation_id=conv.kustomer_conversation_id, assigned_users=[user_id])
    return {"user_id": user_id}


def _exec_assign_customer(ctx: _Context, action: rules.AssignCustomer, row: EventAction) -> dict[str, Any]:
    if ctx.customer_id is None:
        raise _Fail("no Kustomer customer to assign")
    user_id = _kustomer_user_id(ctx, action.agent_email)
    if user_id is None:
        return {"skipped": True, "reason": f"no Kustomer user with email {action.agent_email}"}
    ctx.client.update_customer(customer_id=ctx.customer_id, custom={
        "ccAssignedUserStr": user_id, "ccAssignedAgentEmailStr": action.agent_email,
    })
    return {"user_id": user_id}


def _exec_update_conversation(ctx: _Context, action: rules.UpdateConversation, row: EventAction) -> dict[str, Any]:
    conv = _require_conversation(ctx)
    custom = {k: v for k, v in dict(action.custom).items() if v is not None}
    updated = ctx.client.update_conversation(conversation_id=conv.kustomer_conversation_id, status=action.status,
                                             custom=custom or None)
    if updated.status:
        _mirror_status(conv, status=updated.status, updated_at=updated.updated_at, synced_at=timezone.now())
    return {"status": updated.status}


_EXECUTORS = {
    "ensure_customer": _exec_ensure_customer,
    "use_customer": _exec_use_customer,
    "create_conversation": _exec_create_conversation,
    "join_conversation": _exec_join_conversation,
    "add_message": _exec_add_message,
    "add_note": _exec_add_note,
    "assign_conversation": _exec_assign_conversation,
    "assign_customer": _exec_assign_customer,
    "update_conversation": _exec_update_conversation,
}


# ============================================================================ tenant setup
def _tenant_prepare(ctx: _Context) -> None:
    """Once per tenant: define the product's conversation/customer attributes in
    Kustomer's metadata (merged by PUT), and subscribe to conversation webhooks."""
    setup, _ = TenantSyncSetup.objects.get_or_create(tenant=ctx.tenant)
    if setup.metadata_version < rules.METADATA_VERSION:
        ctx.client.put_metadata(resource="conversation", properties=rules.CONVERSATION_ATTRIBUTES)
        ctx.client.put_metadata(resource="customer", properties=rules.CUSTOMER_ATTRIBUTES)
        TenantSyncSetup.objects.filter(pk=setup.pk).update(
            metadata_version=rules.METADATA_VERSION, metadata_defined_at=timezone.now())
    subscription = WebhookSubscription.objects.filter(tenant=ctx.tenant).first()
    retry_after = timezone.now() - timedelta(seconds=float(_setting("SYNC_WEBHOOK_RETRY_SECONDS", 600)))
    if subscription is None or (not subscription.kustomer_webhook_id and (
            subscription.last_attempt_at is None or subscription.last_attempt_at < retry_after)):
        try:
            webhook_subscription_ensure(tenant=ctx.tenant, client=ctx.client)
        except KustomerRateLimitedError:
            raise
        except KustomerError as exc:
            # The mirror then stays untrusted and every join decision asks Kustomer.
            logger.warning("tenant %s: webhook subscription failed: %s", ctx.tenant.slug, exc)


def webhook_subscription_ensure(*, tenant: Tenant, client: KustomerClient | None = None,
                                public_url: str | None = None) -> WebhookSubscription:
    """Subscribe the tenant to Kustomer's conversation webhooks (once). The token
    Kustomer returns is the HMAC key of deliveries: stored encrypted, never shown.

    The tenant's subscription row is locked while Kustomer is asked, so two workers
    never create two subscriptions (the second would replace the first's token)."""
    WebhookSubscription.objects.get_or_create(tenant=tenant)
    own_client = client is None
    if own_client:
        client = kustomer_client_for(connection=KustomerConnection.objects.get(tenant=tenant))
    failure: KustomerError | None = None
    try:
        with transaction.atomic():
            subscription = WebhookSubscription.objects.select_for_update().get(tenant=tenant)
            if subscription.kustomer_webhook_id:
                return subscription
            subscription.last_attempt_at = timezone.now()
            base = (public_url or settings.PORTAL_PUBLIC_URL).rstrip("/")
            url = f"{base}/webhooks/kustomer/{subscription.public_id}"
            try:
                webhook = client.create_outbound_webhook(name=f"Contact center sync ({tenant.slug})", url=url,
                                                         events=list(WEBHOOK_EVENTS))
            except KustomerError as exc:
                failure = exc
                subscription.last_error = str(exc)[:2000]
            else:
                subscription.kustomer_webhook_id = webhook.id
                subscription.url = url
                if webhook.token:
                    subscription.token_encrypted = encrypt_secret(webhook.token)
                    subscription.active, subscription.last_error = True, ""
                else:
                    subscription.active, subscription.last_error = False, "Kustomer returned no webhook token"
            subscription.save()
    finally:
        if own_client:
            client.close()
    if failure is not None:
        raise failure
    return subscription


# ============================================================================ webhooks
def webhook_signature_valid(*, subscription: WebhookSubscription, raw_body: bytes, signature: str | None) -> bool:
    if not signature or not subscription.token_encrypted:
        return False
    expected = hmac.new(decrypt_secret(subscription.token_encrypted).encode(), raw_body, hashlib.sha256).hexdigest()
    # Bytes: compare_digest raises TypeError on a str with non-ASCII characters (a forged header).
    return hmac.compare_digest(expected.encode(), signature.strip().lower().encode("utf-8", "surrogateescape"))


def webhook_delivery_record(*, subscription: WebhookSubscription, raw_body: bytes, event_name: str) -> tuple[WebhookDelivery, bool]:
    """Store a verified delivery once per Kustomer event id; process it in a task."""
    from conversations.tasks import webhook_delivery_process_task

    try:
        body = json.loads(raw_body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ApplicationError("The body is not JSON.", field="body") from None
    if not isinstance(body, dict) or not body.get("id"):
        raise ApplicationError("The delivery has no event id.", field="id")
    try:
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(
                subscription=subscription, kustomer_event_id=str(body["id"])[:100],
                name=str(body.get("name") or event_name)[:100], raw_body=raw_body.decode("utf-8", errors="replace"),
            )
            WebhookSubscription.objects.filter(pk=subscription.pk).update(last_delivery_at=timezone.now())
            enqueue_on_commit(webhook_delivery_process_task, delivery.pk)
    except IntegrityError:
        return WebhookDelivery.objects.get(subscription=subscription, kustomer_event_id=str(body["id"])[:100]), False
    return delivery, True


def webhook_delivery_process(*, delivery_pk: int) -> None:
    """A conversation create/update from Kustomer updates the status mirror."""
    delivery = WebhookDelivery.objects.select_related("subscription").filter(pk=delivery_pk).first()
    if delivery is None or delivery.state != WebhookDelivery.State.RECEIVED:
        return
    body = json.loads(delivery.raw_body)
    data = body.get("data") if isinstance(body.get("data"), dict) else {}
    state = WebhookDelivery.State.IGNORED
    if str(body.get("name", "")).startswith("kustomer.conversation.") and data.get("id"):
        attributes = data.get("attributes") if isinstance(data.get("attributes"), dict) else {}
        row = SyncedConversation.objects.filter(
            tenant_id=delivery.subscription.tenant_id, kustomer_conversation_id=str(data["id"])).first()
        updated = attributes.get("updatedAt") or attributes.get("modifiedAt") or body.get("createdAt")
        updated_at = parse_datetime(updated) if isinstance(updated, str) else None
        if row is None:
            row = _mirror_foreign_conversation(delivery.subscription.tenant_id, data, attributes, updated_at)
        if row is not None:
            _mirror_status(row, status=attributes.get("status"), updated_at=updated_at, synced_at=timezone.now())
            state = WebhookDelivery.State.PROCESSED
    WebhookDelivery.objects.filter(pk=delivery.pk).update(state=state, processed_at=timezone.now())


def webhook_deliveries_sweep(*, older_than: timedelta = timedelta(minutes=1)) -> int:
    """Re-queue Kustomer webhook deliveries stored but not processed past the deadline
    (their task was lost by the broker or a killed worker): a delivery answered 200 to
    Kustomer is never retried by Kustomer, so it must not be lost here either."""
    from conversations.tasks import webhook_delivery_process_task

    stale = WebhookDelivery.objects.filter(
        state=WebhookDelivery.State.RECEIVED, received_at__lt=timezone.now() - older_than
    ).values_list("pk", flat=True)[:1000]
    count = 0
    for pk in stale:
        count += enqueue(webhook_delivery_process_task, pk)
    if count:
        logger.info("sweeper re-queued %s webhook deliveries", count)
    return count


def _mirror_foreign_conversation(tenant_id: int, data: dict, attributes: dict,
                                 updated_at: datetime | None) -> SyncedConversation | None:
    """A conversation made in Kustomer (not by us) for one of our customers counts as
    that customer's "most recent conversation" (R-T3/R-U2): keep it in the mirror."""
    relationships = data.get("relationships") if isinstance(data.get("relationships"), dict) else {}
    customer_ref = (relationships.get("customer") or {}).get("data") or {}
    customer_id = customer_ref.get("id") if isinstance(customer_ref, dict) else None
    link = CustomerLink.objects.filter(tenant_id=tenant_id, kustomer_customer_id=customer_id).first() if customer_id else None
    if link is None or is_external_id(str(attributes.get("externalId") or "")):
        return None  # not one of our customers, or ours (its create is being recorded)
    created = parse_datetime(attributes["createdAt"]) if isinstance(attributes.get("createdAt"), str) else None
    try:
        with transaction.atomic():
            return SyncedConversation.objects.create(
                tenant_id=tenant_id, customer=link, kustomer_customer_id=customer_id,
                kustomer_conversation_id=str(data["id"]), kind=SyncedConversation.Kind.OTHER,
                status="", kustomer_created_at=created or updated_at or timezone.now(),
            )
    except IntegrityError:  # ours after all (its create answer is on its way), or a twin delivery
        return SyncedConversation.objects.filter(tenant_id=tenant_id, kustomer_conversation_id=str(data["id"])).first()


# ============================================================================ sweeper
def events_sweep(*, older_than: timedelta | None = None) -> int:
    """Re-queue events left accepted/processing past the deadline (a task lost by the
    broker, a killed worker). Re-queueing one event per customer is enough: its run
    applies every pending event of that customer."""
    from conversations.tasks import event_process_task

    if older_than is None:
        older_than = timedelta(seconds=float(_setting("SYNC_SWEEP_AFTER_SECONDS", 120)))
    now = timezone.now()
    stale = (
        Event.objects.filter(state__in=[Event.State.ACCEPTED, Event.State.PROCESSING], updated_at__lte=now - older_than)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now - older_than))
        .order_by("tenant_id", "customer_key", "occurred_at")
    )
    seen: set[tuple[int, str]] = set()
    for event in stale.only("pk", "tenant_id", "customer_key")[:5000]:
        key = (event.tenant_id, event.customer_key)
        if key in seen:
            continue
        seen.add(key)
        # One re-queue per customer and deadline.
        _pending(event.tenant_id, event.customer_key).update(updated_at=now)
        event_process_task.delay(event.pk)
    if seen:
        logger.info("sweeper re-queued %d customers' events", len(seen))
    return len(seen)


def events_purge(*, older_than_days: int | None = None) -> int:
    """Forget finished events past the retention (never under 30 days: Kustomer retries
    webhooks for an hour, other senders for days, so ids must be remembered)."""
    days = max(30, int(older_than_days or _setting("SYNC_EVENT_RETENTION_DAYS", 90)))
    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = Event.objects.filter(state=Event.State.DONE, finished_at__lt=cutoff).delete()
    WebhookDelivery.objects.filter(received_at__lt=cutoff).delete()
    return deleted
