"""CCAI Platform's external session events → the product's own events (pure: no ORM,
no settings, no I/O).

CCAI Platform POSTs `{"count": N, "events": [...]}` whenever a call or chat changes
state; each update enriches the one before it (docs/ccai-platform.md):

    1 started   state connected     external connected          call_id, dn
    2 routing   state connected     external connected          queue_path_names, initiator
    3 assigned  state connected     agent accepted              the live agent's name and id
    4 active    state connected     agent connected             media connected (talking)
    5 ended     state disconnected  both disconnected           ends_at
    6 final     state disconnected  agent dispositionSubmitted  dispositions

Deliveries can repeat, arrive late or out of order. So nothing here looks at one
delivery alone: `fold_session` folds *every* delivery of a session, sorted by its
`timestamp`, into one `SessionState` (the same set of deliveries gives the same state
whatever order they came in), and `translate` turns that state into the product events
it implies, each with a key derived from the session and the transition only
(`answered`, `transfer-<agent>-<n>`, `ended`, ...). The service records the keys not
recorded yet, so a repeat or a late delivery adds nothing that is there already.

One case cannot be decided from what has arrived: a session that ended with an agent on
it that no delivery showed connected (the "active" update may be late, or the caller hung
up while the agent was still accepting). `translate` then waits (`waiting`), and decides
"abandoned" only once the session is settled (no word for a while: the service's
settle delay).
"""
from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import phonenumbers

CALL = "call"
CHAT = "chat"
CHANNELS = (CALL, CHAT)

STATE_DISCONNECTED = "disconnected"
#: Participant statuses that mean "this agent is (or was) talking to the customer".
AGENT_ENGAGED = ("connected", "dispositionSubmitted")
AGENT_TYPES = ("agent",)

# The product's event types (docs/api.md), named here as plain strings: this module is
# a translation into that contract, not a user of the conversation rules.
SESSION_STARTED = "session.started"
CALL_ANSWERED = "call.answered"
CALL_ABANDONED = "call.abandoned"
SESSION_ENDED = "session.ended"
SESSION_TRANSFERRED = "session.transferred"
DISPOSITION_SUBMITTED = "disposition.submitted"


class Waiting(enum.Enum):
    NOTHING = "nothing"
    AGENT_EVIDENCE = "agent_evidence"  # ended, an agent on it, never seen connected


@dataclass(frozen=True)
class Delivery:
    """One event object of a delivery: its id, its epoch-millisecond timestamp and the
    session fields it carries (the documented `item`)."""

    event_id: str
    timestamp_ms: int
    item: Mapping[str, Any]


@dataclass(frozen=True)
class Participant:
    kind: str  # "agent" or the other side ("external": the customer)
    status: str
    agent_id: str | None = None
    name: str | None = None

    @property
    def is_agent(self) -> bool:
        return self.kind in AGENT_TYPES


@dataclass(frozen=True)
class Stint:
    """An agent handling the session, from the first delivery that showed them engaged."""

    agent_id: str
    name: str | None
    since_ms: int


@dataclass(frozen=True)
class SessionState:
    channel: str
    call_id: str
    dn: str | None = None
    queue_path_names: tuple[str, ...] = ()
    initiator: str | None = None
    first_ms: int = 0
    last_ms: int = 0
    stints: tuple[Stint, ...] = ()
    agent_seen: bool = False  # any agent participant, whatever their status
    ended: bool = False
    ended_ms: int | None = None
    connected_at: datetime | None = None
    ends_at: datetime | None = None
    dispositions: tuple[Mapping[str, Any], ...] = ()
    disposition_ms: int | None = None
    deliveries: int = 0

    @property
    def duration_seconds(self) -> int | None:
        """Documented: `connected_at` and `ends_at` are the session's duration."""
        if self.connected_at and self.ends_at and self.ends_at >= self.connected_at:
            return int((self.ends_at - self.connected_at).total_seconds())
        return None


@dataclass(frozen=True)
class ProductEvent:
    """One product event a session's state implies. ``key`` names the transition and
    is the same however the deliveries arrived."""

    key: str
    type: str
    occurred_ms: int
    agent_id: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Translation:
    events: tuple[ProductEvent, ...]
    waiting: Waiting = Waiting.NOTHING


# -------------------------------------------------------------------------- reading
def session_fields(event: Mapping[str, Any]) -> Mapping[str, Any]:
    """The session fields of one event object: its `item` object when it has one (the
    documentation's "each update enriches the item object"), else the event itself."""
    item = event.get("item")
    return item if isinstance(item, Mapping) else event


def parse_iso(value: Any) -> datetime | None:
    """An ISO 8601 timestamp (`connected_at`, `ends_at`) as an aware datetime (UTC when
    the text names no offset); None when absent or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None


def participants(item: Mapping[str, Any]) -> tuple[Participant, ...]:
    found = []
    for raw in item.get("participants") or ():
        if not isinstance(raw, Mapping):
            continue
        kind = (_text(raw.get("type")) or "").lower()
        found.append(Participant(kind=kind, status=_text(raw.get("status")) or "",
                                 agent_id=_text(raw.get("id")), name=_text(raw.get("name"))))
    return tuple(found)


def _current_agent(parts: Sequence[Participant]) -> Participant | None:
    """The agent handling the session in one delivery: the last engaged agent listed."""
    engaged = [p for p in parts if p.is_agent and p.status in AGENT_ENGAGED and p.agent_id]
    return engaged[-1] if engaged else None


def _queue_names(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(">") if part.strip())
    if isinstance(value, (list, tuple)):
        return tuple(t for t in (_text(v) for v in value) if t)
    return ()


def _dispositions(value: Any) -> tuple[Mapping[str, Any], ...]:
    if isinstance(value, Mapping):
        return (value,) if value else ()
    if isinstance(value, (list, tuple)):
        return tuple(v for v in value if isinstance(v, Mapping) and v)
    return ()


def fold_session(*, channel: str, call_id: str, deliveries: Iterable[Delivery]) -> SessionState:
    """Every delivery of one session, in timestamp order, folded into its state.
    Enriching fields take the latest value present; agent stints are taken in time
    order; "ended" is sticky (a late "active" does not reopen an ended session)."""
    ordered = sorted(deliveries, key=lambda d: (d.timestamp_ms, d.event_id))
    if not ordered:
        return SessionState(channel=channel, call_id=call_id)
    dn = initiator = None
    queues: tuple[str, ...] = ()
    stints: list[Stint] = []
    agent_seen = ended = False
    ended_ms = disposition_ms = None
    connected_at = ends_at = None
    dispositions: tuple[Mapping[str, Any], ...] = ()
    for d in ordered:
        item = d.item
        dn = _text(item.get("dn")) or dn
        initiator = _text(item.get("initiator")) or initiator
        queues = _queue_names(item.get("queue_path_names")) or queues
        connected_at = parse_iso(item.get("connected_at")) or connected_at
        item_ends_at = parse_iso(item.get("ends_at"))
        ends_at = item_ends_at or ends_at
        parts = participants(item)
        agent_seen = agent_seen or any(p.is_agent for p in parts)
        current = _current_agent(parts)
        if current is not None and (not stints or stints[-1].agent_id != current.agent_id):
            stints.append(Stint(agent_id=current.agent_id or "", name=current.name, since_ms=d.timestamp_ms))
        if not ended and ((_text(item.get("state")) or "").lower() == STATE_DISCONNECTED or item_ends_at):
            ended, ended_ms = True, d.timestamp_ms
        found = _dispositions(item.get("dispositions"))
        if found:
            dispositions = found
            disposition_ms = disposition_ms if disposition_ms is not None else d.timestamp_ms
    return SessionState(
        channel=channel, call_id=call_id, dn=dn, queue_path_names=queues, initiator=initiator,
        first_ms=ordered[0].timestamp_ms, last_ms=ordered[-1].timestamp_ms, stints=tuple(stints),
        agent_seen=agent_seen, ended=ended, ended_ms=ended_ms, connected_at=connected_at, ends_at=ends_at,
        dispositions=dispositions, disposition_ms=disposition_ms, deliveries=len(ordered),
    )


# -------------------------------------------------------------------------- deciding
def translate(state: SessionState, *, settled: bool) -> Translation:
    """The product events a session's state implies, in the order they happened.

    - a chat: `session.started` (R-T1) once it is routed (its queue, which is the
      conversation's menu selection, known) or anything later is seen;
    - the first agent engaged: `call.answered` (R-T2, R-X1), for calls and chats;
    - each later change of agent: `session.transferred` (R-U4);
    - the end: `session.ended` with the duration when an agent took it, else
      `call.abandoned` (R-T4) with the time the customer waited;
    - the agent's wrap-up: `disposition.submitted` (a note).
    """
    events: list[ProductEvent] = []
    waiting = Waiting.NOTHING
    if state.deliveries == 0:
        return Translation(events=())
    if state.channel == CHAT and (state.queue_path_names or state.agent_seen or state.ended):
        events.append(ProductEvent(key="started", type=SESSION_STARTED, occurred_ms=state.first_ms))
    if state.stints:
        first = state.stints[0]
        events.append(ProductEvent(key="answered", type=CALL_ANSWERED, occurred_ms=first.since_ms,
                                   agent_id=first.agent_id))
        seen: dict[str, int] = {first.agent_id: 1}
        for stint in state.stints[1:]:
            seen[stint.agent_id] = seen.get(stint.agent_id, 0) + 1
            events.append(ProductEvent(key=f"transfer-{stint.agent_id}-{seen[stint.agent_id]}",
                                       type=SESSION_TRANSFERRED, occurred_ms=stint.since_ms,
                                       agent_id=stint.agent_id))
        if state.ended:
            events.append(ProductEvent(key="ended", type=SESSION_ENDED, occurred_ms=state.ended_ms or state.last_ms,
                                       agent_id=state.stints[-1].agent_id,
                                       data={"duration_seconds": state.duration_seconds}))
    elif state.ended:
        if state.agent_seen and not settled:
            waiting = Waiting.AGENT_EVIDENCE
        else:
            events.append(ProductEvent(key="abandoned", type=CALL_ABANDONED,
                                       occurred_ms=state.ended_ms or state.last_ms,
                                       data={"wait_seconds": state.duration_seconds}))
    if waiting is Waiting.NOTHING:
        for index, disposition in enumerate(state.dispositions, start=1):
            events.append(ProductEvent(
                key="disposition" if index == 1 else f"disposition-{index}", type=DISPOSITION_SUBMITTED,
                occurred_ms=state.disposition_ms or state.last_ms,
                agent_id=state.stints[-1].agent_id if state.stints else None,
                data={k: _text(disposition.get(k)) for k in ("code", "custom_code_id", "note")},
            ))
    return Translation(events=tuple(events), waiting=waiting)


def not_yet_recorded(events: Sequence[ProductEvent], recorded: Mapping[str, int]) -> list[ProductEvent]:
    """The events whose keys are not recorded yet, their times moved forward where
    needed so they stay after every recorded one and in the order given (the product
    applies a customer's events in time order). A session already recorded as
    abandoned takes no answer, transfer or end after it (only a disposition)."""
    floor = max(recorded.values(), default=0)
    fresh = []
    for event in events:
        if event.key in recorded:
            continue
        if "abandoned" in recorded and event.type in (CALL_ANSWERED, SESSION_TRANSFERRED, SESSION_ENDED):
            continue  # recorded as abandoned after the settle delay: a later word cannot undo that
        floor = max(floor, event.occurred_ms)
        fresh.append(ProductEvent(key=event.key, type=event.type, occurred_ms=floor, agent_id=event.agent_id,
                                  data=event.data))
    return fresh


# -------------------------------------------------------------------------- product shape
def product_session_id(channel: str, call_id: str) -> str:
    return f"ccaip-{channel}-{call_id}"


def product_event_id(channel: str, call_id: str, key: str) -> str:
    return f"{product_session_id(channel, call_id)}-{key}"


def e164(dn: str | None, region: str) -> str | None:
    """The customer's `dn` in E.164 (read with the tenant's default region), else None."""
    if not dn:
        return None
    try:
        number = phonenumbers.parse(dn, region or "US")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def iso_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat().replace("+00:00", "Z")


class Untranslatable(Exception):
    """The session cannot become product events (no readable customer number)."""


def product_event_body(event: ProductEvent, state: SessionState, *, phone: str | None,
                       agent_emails: Mapping[str, str]) -> tuple[dict[str, Any], str | None]:
    """The body of `POST /api/v1/events` for one product event, and a note for the
    page when something was left out (an agent with no email)."""
    if not phone:
        raise Untranslatable(f"no usable customer number (dn {state.dn!r})")
    note = None
    email = agent_emails.get(event.agent_id) if event.agent_id else None
    if event.agent_id and not email:
        note = f"CCAI Platform agent {event.agent_id} has no email mapped: not assigned"
    data = {k: v for k, v in event.data.items() if v is not None}
    if event.type == SESSION_TRANSFERRED:
        if not email:
            raise Untranslatable(f"transfer to CCAI Platform agent {event.agent_id}, who has no email mapped")
        data = {"to_agent_email": email}
    menu = " > ".join(state.queue_path_names) or None
    body = {
        "id": product_event_id(state.channel, state.call_id, event.key),
        "type": event.type,
        "occurred_at": iso_ms(event.occurred_ms),
        "session": {
            "id": product_session_id(state.channel, state.call_id),
            "channel": "chat" if state.channel == CHAT else "voice",
            "source": "web_sdk" if state.channel == CHAT else "ivr",
            "menu": menu,
            "queue": state.queue_path_names[-1] if state.queue_path_names else None,
            "language": None,
            "recording_enabled": False,
        },
        "end_user": {"phone": phone, "identifier": None, "name": None, "email": None},
        "agent": {"email": email} if email else None,
        "data": data,
    }
    return body, note


def parse_agent_emails(text: str) -> dict[str, str]:
    """`<CCAI Platform agent id> = <email>` lines (blank lines and `#` comments skipped)
    → {id: email}. Raises ValueError naming the first bad line."""
    mapping: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        agent_id, sep, email = (part.strip() for part in line.partition("="))
        if not sep or not agent_id or "@" not in email or " " in email:
            raise ValueError(f"line {number}: write `<agent id> = <email>`")
        mapping[agent_id] = email.lower()
    return mapping


def format_agent_emails(mapping: Mapping[str, str]) -> str:
    return "\n".join(f"{k} = {v}" for k, v in sorted(mapping.items()))
