"""What the conversation rules decide on (SPEC §4): the event types, the facts of one
event, the customer the portal knows, and the situation of the customer's conversations.
Plain frozen values; `conversations.rules` and `conversations.policies` take them."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


# -------------------------------------------------------------------------- event types
SESSION_STARTED = "session.started"
CALL_ANSWERED = "call.answered"
OUTBOUND_STARTED = "call.outbound_started"
CALL_ABANDONED = "call.abandoned"
VOICEMAIL_RECEIVED = "voicemail.received"
SESSION_ENDED = "session.ended"
SESSION_TRANSFERRED = "session.transferred"
CALLBACK_REQUESTED = "callback.requested"
SMART_ACTION_COMPLETED = "smart_action.completed"
SMART_ACTION_FAILED = "smart_action.failed"
CUSTOM_DATA_RECEIVED = "custom_data.received"
CSAT_SUBMITTED = "csat.submitted"
VOICEMAIL_UPDATED = "voicemail.updated"
DISPOSITION_SUBMITTED = "disposition.submitted"
# R-O2: made by the portal (never accepted from the API) for a session whose end never
# arrived: a note on its conversation; the session's later events still apply.
SESSION_CLOSED_OUT = "session.closed_out"
# Events after which a session has nothing more to come (R-O2 looks for sessions that
# started and have none of these).
SESSION_STARTS = (SESSION_STARTED, CALL_ANSWERED, OUTBOUND_STARTED)
SESSION_ENDS = (SESSION_ENDED, CALL_ABANDONED, VOICEMAIL_RECEIVED, SESSION_CLOSED_OUT)

EVENT_TYPES = (
    SESSION_STARTED, CALL_ANSWERED, OUTBOUND_STARTED, CALL_ABANDONED, VOICEMAIL_RECEIVED, SESSION_ENDED,
    SESSION_TRANSFERRED, CALLBACK_REQUESTED, SMART_ACTION_COMPLETED, SMART_ACTION_FAILED,
    CUSTOM_DATA_RECEIVED, CSAT_SUBMITTED, VOICEMAIL_UPDATED, DISPOSITION_SUBMITTED,
)
CHANNELS = ("voice", "chat")
SOURCES = ("ivr", "mobile_sdk", "web_sdk", "outbound")
SDK_SOURCES = ("mobile_sdk", "web_sdk")
SHORT_CALL_SECONDS = 10  # R-U6

# Conversation attributes the product defines in each org (R-D1, R-U9), and the
# customer attribute that carries its assignment (R-C3: Kustomer customers have no
# assignedUsers). Names follow Kustomer's type suffixes.
CONVERSATION_ATTRIBUTES: dict[str, dict[str, str]] = {
    "ccCallIdStr": {"displayName": "CC call ID"},
    "ccLanguageStr": {"displayName": "CC language"},
    "ccMenuSelectionStr": {"displayName": "CC menu selection"},
    "ccChannelStr": {"displayName": "CC channel"},
    "ccSessionTypeStr": {"displayName": "CC session type"},
    "ccCsatRatingNum": {"displayName": "CC CSAT rating"},
    "ccCsatCommentTxt": {"displayName": "CC CSAT comment"},
    "ccVoicemailStateStr": {"displayName": "CC voicemail state"},
}
CUSTOMER_ATTRIBUTES: dict[str, dict[str, str]] = {
    "ccAssignedUserStr": {"displayName": "CC assigned agent (Kustomer user id)"},
    "ccAssignedAgentEmailStr": {"displayName": "CC assigned agent email"},
}
METADATA_VERSION = 1  # bump when the attributes above change


# -------------------------------------------------------------------------- inputs
@dataclass(frozen=True)
class EventFacts:
    """What an event says (validated: phone in E.164, aware datetimes)."""

    event_id: str
    type: str
    occurred_at: datetime
    session_id: str
    channel: str
    source: str
    menu: str | None = None
    queue: str | None = None
    language: str | None = None
    recording_enabled: bool = False
    phone: str | None = None
    identifier: str | None = None
    name: str | None = None
    email: str | None = None
    agent_email: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    cc_number: str | None = None  # the contact-center number of the session (E.164), R-P2
    # R-P5: chats: how many messages the end user had sent in the session when this
    # event happened (session.end_user_message_count); None: the sender did not say.
    end_user_message_count: int | None = None


@dataclass(frozen=True)
class KnownCustomer:
    """Our mapping row for the event's customer key, when there is one."""

    kustomer_customer_id: str | None
    created_by_us: bool = False
    created_session_id: str | None = None


@dataclass(frozen=True)
class ConversationFacts:
    """One of the customer's Kustomer conversations. ``ref`` is our handle for it."""

    ref: str
    status: str | None  # open | snoozed | done (Kustomer, now); None: unknown
    created_at: datetime
    kind: str = "other"  # call | chat | voicemail | other (not created by us)
    channel: str | None = None
    menu: str | None = None
    source: str | None = None
    status_changed_at: datetime | None = None  # when Kustomer last changed its status (R-P4)

    @property
    def is_open(self) -> bool:
        return self.status == "open"


@dataclass(frozen=True)
class Situation:
    """What we know when deciding."""

    conversations: tuple[ConversationFacts, ...] = ()  # the customer's, any order
    session_conversation: str | None = None  # ref the event's session already belongs to
    customer_just_created: bool = False  # R-C3
    previous_session_conversation: str | None = None  # callbacks: the earlier call's
    previous_session_duration: int | None = None
    customer_unknown: bool = False  # R-P2: Kustomer knows no such customer and creating one is off

    def newest_first(self) -> list[ConversationFacts]:
        return sorted(self.conversations, key=lambda c: c.created_at, reverse=True)

    def by_ref(self, ref: str | None) -> ConversationFacts | None:
        return next((c for c in self.conversations if c.ref == ref), None) if ref else None
