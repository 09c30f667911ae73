"""What one run of an event works with: its facts, its Kustomer client and the ids it
has made, and the two signals an action raises to stop the run (wait, or fail)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


from conversations import rules
from django.core.exceptions import ObjectDoesNotExist
from django.db import IntegrityError, models, transaction

from conversations.models import (
    CustomerLink,
    Event,
    EventAction,
    SessionLink,
    SyncedConversation,
)
from integrations.kustomer.client import KustomerClient
from tenants.models import Tenant

MESSAGE_APP = "contact-center"
BACKOFF_CAP_SECONDS = 600.0
#: A 429 is a pause, but not an endless one.
MAX_RUNS = 200
WEBHOOK_EVENTS = ("kustomer.conversation.create", "kustomer.conversation.update")


class RetryLater(Exception):
    """Stop this run; try the event again after ``seconds``."""

    def __init__(self, message: str, seconds: float, *, counts: bool) -> None:
        super().__init__(message)
        self.message = message
        self.seconds = seconds
        self.counts = counts


class EventFailed(Exception):
    """The event cannot be applied (permanent error): mark it failed."""


class NeedsCustomer(Exception):
    """R-O1: several Kustomer customers have the event's number: never guessed, the
    event waits for an admin's choice. ``candidates``: what the page shows of each."""

    def __init__(self, message: str, candidates: list[dict]) -> None:
        super().__init__(message)
        self.candidates = candidates


@dataclass
class EventContext:
    tenant: Tenant
    event: Event
    facts: rules.EventFacts
    client: KustomerClient
    customer_link: CustomerLink | None = None
    customer_id: str | None = None
    customer_created_now: bool = False
    conversation: SyncedConversation | None = None
    session_link: SessionLink | None = None
    session_link_read: bool = False  # session_link is the session's row (None: it has none yet)
    # the customer's mirrored conversations placement decided on, by primary key,
    conversations_seen: dict[int, SyncedConversation] = field(default_factory=dict)
    ids: dict[str, Any] = field(default_factory=dict)
    # What this run already read or wrote, so it is not read again (the customer's lock
    # makes the run the only writer of these rows):
    # the event's planned actions in index order (None: not read yet; late files apart),
    plan: list[EventAction] | None = None
    # the ones among them whose try was counted when the row was stored (they ran right away),
    counted: set[int] = field(default_factory=set)
    # the Kustomer user of each agent email asked for,
    user_ids: dict[str, str | None] = field(default_factory=dict)
    # the tenant's live custom fields (customfields' CustomField rows; None: not read yet),
    custom_fields: list[Any] | None = None
    # whether the event may have a late file waiting (a file action of its own),
    late_files_possible: bool = True
    # and the ids last written to the event row (a write with nothing new is skipped).
    ids_saved: dict[str, Any] | None = None

    def later_pending(self, row: EventAction, kind: str) -> EventAction | None:
        """The first pending action of `kind` planned after `row`."""
        if self.plan is None:
            return (EventAction.objects.filter(event=self.event, index__gt=row.index, kind=kind,
                                               state=EventAction.State.PENDING).order_by("index").first())
        return next((a for a in self.plan if a.index > row.index and a.kind == kind
                     and a.state == EventAction.State.PENDING), None)


#: The tenant's one-to-one rows an event's run reads, joined to the event's own read.
TENANT_ROWS = ("tenant__kustomer_connection", "tenant__sync_setup", "tenant__kustomer_webhook",
               "tenant__call_logging_policies")


def tenant_row(tenant: Tenant, name: str) -> Any:
    """The tenant's one-to-one row `name` (one of TENANT_ROWS), or None: without a query
    when it was read with the tenant (select_related), else read now."""
    try:
        return getattr(tenant, name)
    except ObjectDoesNotExist:
        return None


def create_or_get(model: type[models.Model], *, defaults: dict[str, Any], **lookup: Any) -> tuple[Any, bool]:
    """``get_or_create`` for a row this run expects to claim: the INSERT first (one
    statement instead of a SELECT and an INSERT), the row another claimed when its
    unique key is taken. Returns ``(row, created)``."""
    try:
        with transaction.atomic():
            return model.objects.create(**lookup, **defaults), True
    except IntegrityError:
        found = model.objects.filter(**lookup).first()
        if found is None:  # another constraint refused it
            raise
        return found, False


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
        cc_number=session.get("cc_number") or None,
        end_user_message_count=session.get("end_user_message_count"),
    )
