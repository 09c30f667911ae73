"""The durable inbox (SPEC §5): an event is a row, unique per tenant and id, before
`202` goes out; retries and click-to-call requests enter here too."""
from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from core.dates import parse_datetime
from conversations import rules
from conversations.services.late_files import late_files_reset
from conversations.models import (
    Event,
    EventAction,
)
from core.errors import ApplicationError, ConflictError
from core.queue import enqueue_on_commit
from tenants.models import Tenant


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
    key = rules.customer_key(phone=phone, identifier=identifier)
    session_id = payload["session"]["id"]
    if (Event.objects.filter(tenant=tenant, session_id=session_id).exclude(customer_key=key)
            .exclude(event_id=payload["id"]).exists()):
        # A session id names one call, chat or voicemail of one customer (docs/api.md).
        raise ConflictError(
            gettext("Session %(session_id)s already belongs to another customer: a session id "
                    "names one call, chat or voicemail of one customer. Give this customer's "
                    "session its own id.") % {"session_id": session_id}, field="session.id")
    try:
        with transaction.atomic():
            event = Event.objects.create(
                tenant=tenant,
                event_id=payload["id"],
                type=payload["type"],
                occurred_at=parse_datetime(payload["occurred_at"], strict=True),
                session_id=session_id,
                customer_key=key,
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
                gettext("Event %(id)s was already received with a different body.") % {"id": payload['id']}, field="id"
            ) from None
        return event, False
    return event, True


def event_retry(*, event: Event) -> Event:
    """Queue a failed event again (portal button, API). Actions already done stay done."""
    from conversations.tasks import event_process_task

    with transaction.atomic():
        locked = Event.objects.select_for_update().get(pk=event.pk)
        if locked.state != Event.State.FAILED:
            raise ApplicationError(gettext("Only failed events can be retried; this one is %(state)s.")
                                   % {"state": locked.state}, field="state")
        late_files_reset(event=locked)
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


def click_to_call_start(*, tenant: Tenant, agent_email: str, phone: str, kustomer_customer_id: str | None = None) -> Event:
    """R-X2: the agent pressed Call in the adapter: an outbound session starts and its
    ``call.outbound_started`` event takes the same path as every other event. The agent
    must be one of the tenant's; the Kustomer customer is optional."""
    from statusmapping.selectors import agent_get_by_email

    agent = agent_get_by_email(tenant=tenant, email=agent_email)
    if agent is None:
        raise ApplicationError(gettext("No agent with this email in this contact center."), field="agent_email")
    agent_email = agent.email
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
