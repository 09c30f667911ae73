"""Writes of the CCAI Platform inbound endpoint: credentials, the agent map, deliveries
and their translation into the product's events.

A delivery is stored once per (tenant, event_id) and translated in the same
transaction: the session's row is locked, every delivery of the session is folded into
its state (rules.fold_session), and the product events that state implies and that were
not recorded before go through the product's own inbox (`event_record`), exactly as if
the contact center had posted them to `POST /api/v1/events`. So the answer to CCAI
Platform goes out only once everything is a row, and SPEC §4 applies unchanged.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from ccaip import rules
from ccaip.models import Delivery, Endpoint, Session
from conversations import services as conversation_services
from core.errors import ApplicationError, ConflictError
from core.queue import enqueue_on_commit
from tenants.models import Tenant

logger = logging.getLogger(__name__)

#: The page's "last delivery" is kept to within this many seconds.
LAST_DELIVERY_RESOLUTION_SECONDS = 5


def _settle_seconds() -> float:
    """Seconds a session that ended with an agent nobody saw connected waits for a late
    delivery before it is decided as abandoned (CCAIP_SETTLE_SECONDS)."""
    return settings.CCAIP_SETTLE_SECONDS


def _digest(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


# ============================================================================ credentials
def endpoint_credentials_set(*, tenant: Tenant, username: str) -> tuple[Endpoint, str]:
    """Set the basic-auth username and a new generated password (returned once, stored
    as a digest). The endpoint URL stays the same; the old password stops working."""
    username = username.strip()
    if not username or ":" in username or len(username) > 150:
        raise ApplicationError(gettext("A username of 1 to 150 characters, without ':'."), field="username")
    password = secrets.token_urlsafe(24)
    now = timezone.now()
    endpoint, created = Endpoint.objects.get_or_create(
        tenant=tenant, defaults={"username": username, "password_hash": _digest(password), "password_set_at": now})
    if not created:
        Endpoint.objects.filter(pk=endpoint.pk).update(username=username, password_hash=_digest(password),
                                                       password_set_at=now, updated_at=now)
        endpoint.refresh_from_db()
    logger.info("ccaip credentials set for tenant %s (user %s)", tenant.slug, username)
    return endpoint, password


def endpoint_agent_emails_set(*, tenant: Tenant, text: str) -> Endpoint:
    """The map from CCAI Platform agent ids to the agents' emails, one `id = email` a line."""
    endpoint = Endpoint.objects.filter(tenant=tenant).first()
    if endpoint is None:
        raise ApplicationError(gettext("Set the endpoint's credentials first."), field="agent_emails")
    try:
        mapping = rules.parse_agent_emails(text)
        for email in mapping.values():
            validate_email(email)
    except ValueError as exc:
        raise ApplicationError(str(exc), field="agent_emails") from None
    except DjangoValidationError:
        raise ApplicationError(gettext("One of the emails is not an email address."), field="agent_emails") from None
    Endpoint.objects.filter(pk=endpoint.pk).update(agent_emails=mapping, updated_at=timezone.now())
    endpoint.refresh_from_db()
    return endpoint


def endpoint_authenticate(*, public_id: Any, username: str, password: str) -> Endpoint | None:
    """The endpoint when both the username and the password match (constant-time
    compares, the password against its digest), else None."""
    endpoint = Endpoint.objects.select_related("tenant").filter(public_id=public_id).first()
    if endpoint is None:
        _digest(password)  # the same work whether or not the endpoint exists
        return None
    user_ok = hmac.compare_digest(endpoint.username.encode(), username.encode())
    password_ok = hmac.compare_digest(endpoint.password_hash, _digest(password))
    return endpoint if (user_ok and password_ok) else None


# ============================================================================ deliveries
@dataclass
class DeliveryResult:
    accepted: int = 0
    repeats: int = 0
    recorded: list[str] = field(default_factory=list)


def deliveries_record(*, endpoint: Endpoint, channel: str, events: list[dict[str, Any]]) -> DeliveryResult:
    """Store each event object once (by event_id) and translate the sessions it touched.
    ``events``: validated event objects as received (event_id, timestamp, session fields)."""
    if channel not in rules.CHANNELS:
        raise ApplicationError(gettext("Unknown channel %(channel)s.") % {"channel": channel}, field="channel")
    tenant = endpoint.tenant
    result = DeliveryResult()
    now = timezone.now()
    by_session: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_session.setdefault(str(rules.session_fields(event).get("call_id")).strip(), []).append(event)
    with transaction.atomic():
        # Sessions in one order (by call id) and each locked before its deliveries are
        # inserted: the insert's foreign-key check takes a share lock on the session row,
        # so inserting first and locking after would let two requests of one session
        # deadlock; locking first, in one order, never does.
        for call_id in sorted(by_session):
            session, _ = Session.objects.get_or_create(tenant=tenant, channel=channel, call_id=call_id)
            session = Session.objects.select_for_update().get(pk=session.pk)
            fresh: list[Delivery] = []
            for event in by_session[call_id]:
                event_id = str(event["event_id"]).lower()
                try:
                    with transaction.atomic():
                        fresh.append(Delivery.objects.create(
                            tenant=tenant, session=session, event_id=event_id,
                            timestamp_ms=int(event["timestamp"]), body=event, received_at=now,
                        ))
                except IntegrityError:
                    Delivery.objects.filter(tenant=tenant, event_id=event_id).update(repeats=F("repeats") + 1)
                    result.repeats += 1
            if not fresh:
                continue
            result.accepted += len(fresh)
            outcome = _translate(session=session, endpoint=endpoint, settled=False)
            result.recorded += outcome["recorded"]
            # What the session's new deliveries became shows on the latest of them; the
            # others of the same POST point at it.
            batch = sorted(fresh, key=lambda d: (d.timestamp_ms, d.event_id))
            Delivery.objects.filter(pk=batch[-1].pk).update(translation=outcome)
            if len(batch) > 1:
                Delivery.objects.filter(pk__in=[d.pk for d in batch[:-1]]).update(
                    translation={"recorded": [], "notes": [], "with": batch[-1].event_id})
    # Outside the transaction, and at most every few seconds: the tenant's one endpoint
    # row must not be a lock every delivery waits on.
    Endpoint.objects.filter(pk=endpoint.pk).exclude(
        last_delivery_at__gt=now - timedelta(seconds=LAST_DELIVERY_RESOLUTION_SECONDS)).update(last_delivery_at=now)
    return result


def _translate(*, session: Session, endpoint: Endpoint, settled: bool) -> dict[str, Any]:
    """Fold the (locked) session's deliveries, record the product events not recorded
    yet, and remember where the session stands. Returns what changed, for the page."""
    tenant = endpoint.tenant
    deliveries = [rules.Delivery(event_id=d.event_id, timestamp_ms=d.timestamp_ms, item=rules.session_fields(d.body))
                  for d in session.deliveries.only("event_id", "timestamp_ms", "body")]
    state = rules.fold_session(channel=session.channel, call_id=session.call_id, deliveries=deliveries)
    translation = rules.translate(state, settled=settled)
    recorded = dict(session.recorded or {})
    event_ids = dict(session.event_ids or {})
    phone = rules.e164(state.dn, tenant.default_region)
    new_ids: list[str] = []
    notes: list[str] = []
    for product_event in rules.not_yet_recorded(translation.events, recorded):
        try:
            body, note = rules.product_event_body(product_event, state, phone=phone,
                                                  agent_emails=endpoint.agent_emails or {})
        except rules.Untranslatable as exc:
            notes.append(f"{product_event.type} not recorded: {exc}")
            continue
        try:
            conversation_services.event_record(tenant=tenant, payload=body, raw_body=json.dumps(body), received=body)
        except ConflictError as exc:
            if "session.id" in exc.errors:
                # The call's number changed: the session is bound to its first customer.
                notes.append(f"{product_event.type} not recorded: {exc.message}")
                continue
            # The product already holds this transition under another body (this session's
            # rows were purged and a very late delivery came): it is recorded, not again.
            notes.append(f"{product_event.type} was recorded before ({body['id']})")
        recorded[product_event.key] = product_event.occurred_ms
        event_ids[product_event.key] = body["id"]
        new_ids.append(body["id"])
        if note:
            notes.append(note)
    waiting = translation.waiting
    updates: dict[str, Any] = {"recorded": recorded, "event_ids": event_ids, "updated_at": timezone.now(),
                               "problem": notes[-1][:500] if notes else ""}
    if waiting is rules.Waiting.NOTHING:
        updates.update(waiting="", settle_at=None)
    else:
        delay = _settle_seconds()
        updates.update(waiting=waiting.value, settle_at=timezone.now() + timedelta(seconds=delay))
        from ccaip.tasks import session_settle_task

        enqueue_on_commit(session_settle_task, session.pk, countdown=delay)
    Session.objects.filter(pk=session.pk).update(**updates)
    return {"recorded": new_ids, "notes": notes, "waiting": "" if waiting is rules.Waiting.NOTHING else waiting.value,
            "settled": settled}


def session_settle(*, session_pk: int, force: bool = False) -> list[str]:
    """Decide a session that was waiting for word of its agent, once nothing arrived
    for the settle delay (a newer delivery moved the deadline: then it waits on)."""
    with transaction.atomic():
        session = Session.objects.select_for_update().filter(pk=session_pk).first()
        if session is None or not session.waiting:
            return []
        if not force and session.settle_at and session.settle_at > timezone.now():
            return []
        endpoint = Endpoint.objects.select_related("tenant").get(tenant_id=session.tenant_id)
        outcome = _translate(session=session, endpoint=endpoint, settled=True)
        last = session.deliveries.order_by("-timestamp_ms", "-pk").first()
        if last is not None:
            merged = dict(last.translation or {})
            merged["recorded"] = list(merged.get("recorded") or []) + outcome["recorded"]
            merged["notes"] = list(merged.get("notes") or []) + outcome["notes"]
            merged.update(waiting=outcome["waiting"], settled=True)
            Delivery.objects.filter(pk=last.pk).update(translation=merged)
    return outcome["recorded"]


def sessions_purge(*, older_than_days: int | None = None) -> int:
    """Forget sessions (and their deliveries) untouched past the event retention (never
    under 30 days: event ids are remembered at least that long, SPEC §5)."""
    days = max(30, int(older_than_days or settings.SYNC_EVENT_RETENTION_DAYS))
    deleted, _ = Session.objects.filter(updated_at__lt=timezone.now() - timedelta(days=days)).delete()
    return deleted


def sessions_settle_due(*, grace: timedelta = timedelta(seconds=30)) -> int:
    """Sweeper: settle sessions whose settle task the broker lost."""
    due = Session.objects.filter(settle_at__lte=timezone.now() - grace).exclude(waiting="").values_list("pk", flat=True)
    count = 0
    for pk in list(due[:500]):
        session_settle(session_pk=pk)
        count += 1
    return count
