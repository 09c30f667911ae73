"""What Kustomer should hold for a day sent to a tenant with call logging policies
(SPEC §6), derived from the events sent and the policies alone, written apart from the
product's rules (conversations/policies.py, rules.py) so the soak's judge can catch
them out. Pure: no Django, no I/O.

Per session, in the order its events were sent: is it logged at all (R-P1 kind not
skipped, R-P2 the customer known or creation on), which event makes its record (R-P5: a
call at its answer, a chat at the event whose end_user_message_count reaches N; one that
ends first is a single abandoned record), which events then write a message, which files
get attached, whether the record was made with no agent (R-P6), and whether it was
placed as an inbound session that may join or reopen (R-U1, R-P4)."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

VOICEMAIL = ("voicemail.received", "voicemail.updated")
# Events that assign the record to the agent they name when they make it (R-X1).
ANSWERING = ("call.answered", "call.outbound_started", "callback.requested")
NEVER_DELAYED = ("call.abandoned", *VOICEMAIL, "call.outbound_started", "callback.requested")
SDK = ("mobile_sdk", "web_sdk")


@dataclass
class SessionExpectation:
    session_id: str
    key: str
    kind: str
    logged: bool = False  # some record is made for it
    placed_by: str | None = None  # the event id that makes its record
    abandoned: bool = False  # R-P5: ended before its record was due: one abandoned record
    unowned: bool = False  # made with no agent: R-P6's default owner gets it
    inbound: bool = False  # placed as an inbound session (R-U1 joins, R-P4 reopens)
    channel: str = ""
    menu: str | None = None
    why_not: str = ""  # when not logged: "kind skipped" | "customer unknown" | "not a connected number" | "waiting"
    delayed: bool = False  # R-P5: an earlier event of it wrote nothing while its record waited


@dataclass
class Expectation:
    sessions: dict[str, SessionExpectation] = field(default_factory=dict)
    messages: dict[str, int] = field(default_factory=dict)  # event id -> messages it writes (0 or 1)
    files: dict[str, int] = field(default_factory=dict)  # file URL -> times it is attached (0 or 1)
    keys_logged: set[str] = field(default_factory=set)


def session_kind(body: Mapping[str, Any]) -> str:
    """R-P1's kinds, from the event as sent."""
    session, data, type_ = body["session"], body.get("data") or {}, body["type"]
    if type_ in VOICEMAIL:
        return "voicemail"
    if type_ == "call.abandoned":
        return "abandoned"
    if session["channel"] == "chat":
        return "chat"
    if session["source"] == "outbound" or type_ in ("call.outbound_started", "callback.requested"):
        return "outbound_not_answered" if data.get("answered") is False else "outbound_answered"
    return "mobile_sdk_call" if session["source"] in SDK else "ivr_answered"


def _waits(body: Mapping[str, Any], policies: Mapping[str, Any]) -> bool:
    session, type_ = body["session"], body["type"]
    if type_ in NEVER_DELAYED:
        return False
    if policies.get("delay_call_until_connected") and session["channel"] == "voice" \
            and session["source"] != "outbound" and type_ != "call.answered":
        return True
    needed = int(policies.get("delay_chat_until_messages") or 0)
    return needed > 0 and session["channel"] == "chat" and int(session.get("end_user_message_count") or 0) < needed


def _files(body: Mapping[str, Any]) -> list[str]:
    data, type_ = body.get("data") or {}, body["type"]
    if type_ == "voicemail.received":
        return [data["recording_url"]] if data.get("recording_url") else []
    if type_ == "session.ended" and body["session"].get("recording_enabled") and data.get("recording_url") \
            and body["session"]["channel"] == "voice":
        return [data["recording_url"]]
    if type_ == "smart_action.completed":
        return [f["url"] for f in data.get("files") or [] if f.get("url")]
    return []


def expect(bodies: Iterable[Mapping[str, Any]], policies: Mapping[str, Any], *, known: Callable[[str], bool],
           key_of: Callable[[Mapping[str, Any]], str | None], message_types: tuple[str, ...]) -> Expectation:
    """``bodies``: the events sent, in order; ``known``: whether Kustomer had the
    customer of a key before the day; ``message_types``: the event types whose event
    writes one message once its session's record is made."""
    out = Expectation()
    logging = dict(policies.get("logging") or {})
    create = policies.get("create_unknown_customers", True)
    connected = set(policies.get("connected_numbers") or ())
    for body in bodies:
        session_id, type_ = body["session"]["id"], body["type"]
        key = key_of(body.get("end_user") or {}) or ""
        kind = session_kind(body)
        s = out.sessions.setdefault(session_id, SessionExpectation(
            session_id=session_id, key=key, kind=kind, channel=body["session"]["channel"],
            menu=body["session"].get("menu") or None))
        customer_ok = create or known(key)
        numbers_ok = not connected or body["session"].get("cc_number") in connected
        writes, files_go = False, False
        if s.placed_by is None:
            s.why_not = ("customer unknown" if not customer_ok else "not a connected number" if not numbers_ok
                         else "kind skipped" if logging.get(kind) == "skip" else "")
            if _waits(body, policies):
                s.delayed, s.why_not = True, s.why_not or "waiting"
                if type_ == "session.ended" and logging.get("abandoned") != "skip" and customer_ok and numbers_ok:
                    # R-P5: ended before its record was due: one abandoned record, nobody's.
                    s.placed_by, s.abandoned, s.unowned, s.logged, s.kind = body["id"], True, True, True, "abandoned"
                    s.why_not = ""
                    writes = True  # its own files are not the abandoned record's
            elif logging.get(kind) != "skip" and customer_ok and numbers_ok:
                s.placed_by, s.logged, s.why_not = body["id"], True, ""
                agent = (body.get("agent") or {}).get("email")
                delayed_chat = int(policies.get("delay_chat_until_messages") or 0) > 0 \
                    and s.channel == "chat" and type_ != "session.started"
                s.unowned = not agent or not (type_ in ANSWERING or delayed_chat)
                s.inbound = type_ in ("session.started", "call.answered") or (
                    type_ not in NEVER_DELAYED and session_kind(body) in ("ivr_answered", "chat", "mobile_sdk_call"))
                writes = files_go = True
        elif s.logged and logging.get(kind) != "skip" and numbers_ok:
            writes = files_go = True
        if s.logged:
            out.keys_logged.add(key)
        if type_ in message_types or not writes:
            out.messages[body["id"]] = 1 if writes and type_ in message_types else 0
        for url in _files(body):
            out.files[url] = 1 if files_go else 0
    return out
