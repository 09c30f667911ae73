"""The plan of an event: the actions the conversation rules return (rules.py), in the
form they are stored (``EventAction``: kind, rule, params) and read back. Pure."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

@dataclass(frozen=True)
class Action:
    rule: str

    @property
    def kind(self) -> str:
        return _KIND_BY_CLASS[type(self)]

    def params(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("rule")
        return data


@dataclass(frozen=True)
class EnsureCustomer(Action):
    """Find the customer (by externalId, then phone) or create it (R-C1, R-C2)."""

    phone: str | None = None
    identifier: str | None = None
    name: str | None = None
    email: str | None = None
    create: bool = True  # R-P2: False = only a customer Kustomer already has


@dataclass(frozen=True)
class SkipEvent(Action):
    """The tenant's policies say this event is not logged (R-P1, R-P2): nothing is written."""

    reason: str = ""


@dataclass(frozen=True)
class UseCustomer(Action):
    """The event names the Kustomer customer itself (click-to-call, R-X2)."""

    kustomer_customer_id: str = ""


@dataclass(frozen=True)
class CreateConversation(Action):
    """A new conversation for the session (externalId from the session id), with the
    standard fields (R-D1) as conversation attributes."""

    session_id: str = ""
    conversation_kind: str = "call"  # call | chat | voicemail
    channel: str = "voice"
    source: str = ""
    menu: str | None = None
    direction: str = "in"
    name: str = ""
    standard_fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class JoinConversation(Action):
    """The session is added to an existing conversation (local link only)."""

    session_id: str = ""
    conversation_ref: str = ""


@dataclass(frozen=True)
class AddMessage(Action):
    """A timeline message for a call or chat (channel, direction, preview) carrying the
    Record custom field values; optionally a recording or transcript attached."""

    channel: str = "voice"
    direction: str = "in"
    preview: str = ""
    recording_url: str | None = None


@dataclass(frozen=True)
class AddNote(Action):
    body: str = ""
    files: tuple[Mapping[str, Any], ...] = ()  # [{"name", "url", "content_type"}] fetched and attached
    transcript: tuple[Mapping[str, Any], ...] = ()  # rendered as a text file and attached


@dataclass(frozen=True)
class AssignConversation(Action):
    agent_email: str = ""


@dataclass(frozen=True)
class AssignTeam(Action):
    """R-P6: the conversation goes to a Kustomer team (sent with the create when the
    conversation is made by the same event)."""

    team_id: str = ""


@dataclass(frozen=True)
class AssignCustomer(Action):
    agent_email: str = ""


@dataclass(frozen=True)
class UpdateConversation(Action):
    status: str | None = None
    custom: Mapping[str, Any] = field(default_factory=dict)


_KIND_BY_CLASS = {
    EnsureCustomer: "ensure_customer",
    SkipEvent: "skip_event",
    UseCustomer: "use_customer",
    CreateConversation: "create_conversation",
    JoinConversation: "join_conversation",
    AddMessage: "add_message",
    AddNote: "add_note",
    AssignConversation: "assign_conversation",
    AssignTeam: "assign_team",
    AssignCustomer: "assign_customer",
    UpdateConversation: "update_conversation",
}
ACTION_CLASSES = {kind: cls for cls, kind in _KIND_BY_CLASS.items()}


def action_from_params(kind: str, rule: str, params: Mapping[str, Any]) -> Action:
    """The stored form of an action (kind, rule, params) back to the dataclass."""
    cls = ACTION_CLASSES[kind]
    values = dict(params)
    for name in ("files", "transcript"):
        if name in values and isinstance(values[name], list):
            values[name] = tuple(values[name])
    return cls(rule=rule, **values)
