"""A tenant's call logging policies (SPEC §6) as pure values and functions: which
sessions are logged and how, unknown and connected numbers, readable names and
previews, the reopen window, the delayed record and the default owner. Inputs of the
conversation rules (`conversations.rules`), never branches of the executor."""
from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import phonenumbers

from conversations.facts import (
    CALL_ANSWERED,
    OUTBOUND_STARTED,
    CALL_ABANDONED,
    VOICEMAIL_RECEIVED,
    SESSION_ENDED,
    CALLBACK_REQUESTED,
    VOICEMAIL_UPDATED,
    SDK_SOURCES,
    EventFacts,
)


# -------------------------------------------------------------------------- policies (SPEC §6)
# R-P1: the kinds of session a tenant logs each its own way.
SESSION_KINDS: dict[str, str] = {
    "ivr_answered": "IVR call answered",
    "abandoned": "Abandoned call",
    "outbound_answered": "Outbound call answered",
    "outbound_not_answered": "Outbound call not answered",
    "voicemail": "Voicemail",
    "chat": "Chat",
    "mobile_sdk_call": "Mobile SDK call",
}
LOG_OPEN, LOG_DONE, LOG_SKIP = "open", "done", "skip"
LOG_CHOICES: dict[str, str] = {LOG_OPEN: "Open conversation", LOG_DONE: "Done conversation", LOG_SKIP: "Do not log"}
# The events after which a session of a "done" kind leaves its conversation done.
_SESSION_CLOSING = (SESSION_ENDED, CALL_ABANDONED, VOICEMAIL_RECEIVED)


@dataclass(frozen=True)
class Policies:
    """A tenant's call logging policies (SPEC §6); the defaults reproduce §4 exactly."""

    logging: Mapping[str, str] = field(default_factory=dict)  # session kind -> open | done | skip (absent: open)
    create_unknown_customers: bool = True  # R-P2
    connected_numbers: tuple[str, ...] = ()  # R-P2: E.164; empty: every number is logged
    default_owner_email: str | None = None  # R-P6
    default_owner_team_id: str | None = None  # R-P6: a Kustomer team of the org (checked on save)
    default_owner_team_name: str = ""  # its name when saved (shown, not decided on)
    # R-P3: per session kind, templates of the conversation name and of the record's first
    # message preview (absent or "": the §4 wording); the number's display format; calls
    # abandoned after less than this many seconds are "short abandon" (0: off).
    name_templates: Mapping[str, str] = field(default_factory=dict)
    preview_templates: Mapping[str, str] = field(default_factory=dict)
    number_format: str = "international"  # international | national | e164
    short_abandon_seconds: int = 0
    reopen_days: int = 0  # R-P4: 0 = off
    delay_call_until_connected: bool = False  # R-P5
    delay_chat_until_messages: int = 0  # R-P5: a chat's record waits for this many end-user messages (0 = off)

    def log_as(self, kind: str) -> str:
        return self.logging.get(kind) or LOG_OPEN


DEFAULT_POLICIES = Policies()


def logging_kind(event: EventFacts) -> str:
    """R-P1: the kind of session an event is about. An outbound call counts as answered
    unless the event says ``data.answered: false``; SDK voice calls (mobile or web) are
    "mobile SDK calls"."""
    if event.type in (VOICEMAIL_RECEIVED, VOICEMAIL_UPDATED):
        return "voicemail"
    if event.type == CALL_ABANDONED:
        return "abandoned"  # a chat that ended before its record was made (R-P5) too
    if event.channel == "chat":
        return "chat"
    if event.source == "outbound" or event.type in (OUTBOUND_STARTED, CALLBACK_REQUESTED):
        return "outbound_not_answered" if event.data.get("answered") is False else "outbound_answered"
    if event.source in SDK_SOURCES:
        return "mobile_sdk_call"
    return "ivr_answered"


# R-P3: why a call reached no agent (call.abandoned's data.reason, or derived).
MISSED_REASONS: dict[str, str] = {
    "abandoned_in_ivr": "abandoned in IVR",
    "abandoned_in_queue": "abandoned in queue",
    "short_abandon": "short abandon",
    "no_agent_available": "no agent available",
    "out_of_hours": "out of hours",
    "no_agent_answered": "no agent answered",
}
NUMBER_FORMATS = ("international", "national", "e164")
# The placeholders a name or preview template may use, with the page's sample values.
TEMPLATE_PLACEHOLDERS: dict[str, str] = {
    "kind": "Abandoned call", "number": "+1 415-555-0123", "menu": "Billing", "queue": "Billing",
    "agent": "agent1@example.com", "duration": "42s", "reason": "abandoned in queue",
}
TEMPLATE_MAX = 200


def template_errors(template: str) -> list[str]:
    """What is wrong with a name or preview template ([] when it is fine): only the
    placeholders of TEMPLATE_PLACEHOLDERS, as {name}, no format specs."""
    if len(template) > TEMPLATE_MAX:
        return [f"At most {TEMPLATE_MAX} characters."]
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        return [f"Not a template: {exc} (write {{ and }} as {{{{ and }}}})."]
    errors = []
    for _text, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in TEMPLATE_PLACEHOLDERS:
            errors.append(f"Unknown placeholder {{{name}}}; use {', '.join('{' + p + '}' for p in TEMPLATE_PLACEHOLDERS)}.")
        elif spec or conversion:
            errors.append(f"Write the placeholder as {{{name}}}, without a format.")
    return errors


def missed_reason(event: EventFacts, policies: Policies) -> str | None:
    """R-P3: the reason a call reached no agent: the sender's, else "short abandon" when
    it was abandoned after less than the tenant's threshold."""
    given = event.data.get("reason") if event.type == CALL_ABANDONED else None
    if given in MISSED_REASONS:
        return given
    if event.type == CALL_ABANDONED and policies.short_abandon_seconds > 0:
        try:
            waited = int(event.data.get("wait_seconds"))
        except (TypeError, ValueError):
            return None
        if waited < policies.short_abandon_seconds:
            return "short_abandon"
    return None


def display_number(phone: str | None, number_format: str) -> str:
    if not phone:
        return ""
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return phone
    how = {"national": phonenumbers.PhoneNumberFormat.NATIONAL, "e164": phonenumbers.PhoneNumberFormat.E164}.get(
        number_format, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return phonenumbers.format_number(number, how)


def render_template(template: str, event: EventFacts, policies: Policies) -> str:
    """A name or preview template filled from the event (placeholders it lacks are empty)."""
    reason = missed_reason(event, policies)
    values = {
        "kind": SESSION_KINDS[logging_kind(event)],
        "number": display_number(event.phone, policies.number_format) or event.identifier or "",
        "menu": event.menu or "", "queue": event.queue or "", "agent": event.agent_email or "",
        "duration": _duration(event.data.get("duration_seconds", event.data.get("wait_seconds"))),
        "reason": MISSED_REASONS.get(reason, "") if reason else "",
    }
    try:
        return template.format_map(values).strip()
    except (KeyError, ValueError, IndexError):  # refused on save; never fail an event over it
        return template


def _call_waits_for_agent(event: EventFacts, policies: Policies) -> bool:
    """R-P5: an inbound voice session whose record waits for an agent to be connected."""
    return (policies.delay_call_until_connected and event.channel == "voice" and event.source != "outbound"
            and event.type not in (CALL_ANSWERED, CALL_ABANDONED, VOICEMAIL_RECEIVED, VOICEMAIL_UPDATED,
                                   OUTBOUND_STARTED, CALLBACK_REQUESTED))


def _chat_waits_for_messages(event: EventFacts, policies: Policies) -> bool:
    """R-P5: a chat whose record waits until the end user has sent the tenant's number
    of messages (an event that gives no count counts as none sent)."""
    return (policies.delay_chat_until_messages > 0 and event.channel == "chat"
            and event.type not in (CALL_ABANDONED, VOICEMAIL_RECEIVED, VOICEMAIL_UPDATED, OUTBOUND_STARTED,
                                   CALLBACK_REQUESTED)
            and (event.end_user_message_count or 0) < policies.delay_chat_until_messages)


def record_delay(event: EventFacts, policies: Policies) -> str | None:
    """R-P5: why the session's record is not made yet at this event (None: it may be)."""
    if _call_waits_for_agent(event, policies):
        return "the call's record waits until an agent is connected"
    if _chat_waits_for_messages(event, policies):
        n = policies.delay_chat_until_messages
        return f"the chat's record waits until the end user has sent {n} message{'' if n == 1 else 's'}"
    return None


def chat_was_delayed(event: EventFacts, policies: Policies) -> bool:
    """R-P5: a chat of a tenant that delays chats' records, at an event past the count
    (its earlier events wrote nothing, so the record starts here)."""
    return (policies.delay_chat_until_messages > 0 and event.channel == "chat"
            and not _chat_waits_for_messages(event, policies))


def _as_abandoned(event: EventFacts) -> EventFacts:
    """R-P5: a delayed call that ended before an agent was connected, or a delayed chat
    that ended before the end user sent enough messages, is an abandoned session."""
    return replace(event, type=CALL_ABANDONED, data={"wait_seconds": event.data.get("wait_seconds")})


def not_logged(event: EventFacts, policies: Policies) -> tuple[str, str] | None:
    """(rule, reason) when the tenant's policies say this event is not logged at all."""
    kind = logging_kind(event)
    if policies.log_as(kind) == LOG_SKIP:
        return "R-P1", f"{SESSION_KINDS[kind]} sessions are not logged"
    if policies.connected_numbers and event.cc_number not in policies.connected_numbers:
        return "R-P2", f"contact-center number {event.cc_number or '(none given)'} is not a connected number"
    return None


def _duration(seconds: Any) -> str:
    try:
        total = int(seconds)
    except (TypeError, ValueError):
        return ""
    minutes, secs = divmod(max(total, 0), 60)
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"
