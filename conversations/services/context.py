"""What one run of an event works with: its facts, its Kustomer client and the ids it
has made, and the two signals an action raises to stop the run (wait, or fail)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


from conversations import rules
from conversations.models import (
    CustomerLink,
    Event,
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
        cc_number=session.get("cc_number") or None,
        end_user_message_count=session.get("end_user_message_count"),
    )
