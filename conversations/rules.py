"""The conversation rules of SPEC §4, as pure functions (no ORM, no settings, no I/O).

The executor asks two questions, in this order, for each event:

1. ``decide_customer(event, known)``: which Kustomer customer the event is about, and
   whether one must be found or created first (R-C1, R-C2, R-X2).
2. ``decide_conversation(event, situation)``: what to write to Kustomer, as an ordered
   list of actions (R-T1..R-T5, R-U1..R-U10, R-D1..R-D4, R-C3, R-X1, R-X2).

"Open" in the situation means open in Kustomer now (the executor refreshes the status
mirror before asking). Every action names the rule that asked for it.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import phonenumbers

from conversations.plan import (  # the plan's actions, named here too: rules return them
    Action,
    EnsureCustomer,
    SkipEvent,
    UseCustomer,
    CreateConversation,
    JoinConversation,
    AddMessage,
    AddNote,
    AssignConversation,
    AssignTeam,
    AssignCustomer,
    UpdateConversation,
    action_from_params,  # noqa: F401  (the stored form back: rules.action_from_params)
)
from conversations.facts import (  # noqa: F401  (re-exported: rules.EventFacts, rules.CALL_ANSWERED, ...)
    SESSION_STARTED,
    CALL_ANSWERED,
    OUTBOUND_STARTED,
    CALL_ABANDONED,
    VOICEMAIL_RECEIVED,
    SESSION_ENDED,
    SESSION_TRANSFERRED,
    CALLBACK_REQUESTED,
    SMART_ACTION_COMPLETED,
    SMART_ACTION_FAILED,
    CUSTOM_DATA_RECEIVED,
    CSAT_SUBMITTED,
    VOICEMAIL_UPDATED,
    DISPOSITION_SUBMITTED,
    SESSION_CLOSED_OUT,
    SESSION_STARTS,
    SESSION_ENDS,
    EVENT_TYPES,
    CHANNELS,
    SOURCES,
    SDK_SOURCES,
    SHORT_CALL_SECONDS,
    CONVERSATION_ATTRIBUTES,
    CUSTOMER_ATTRIBUTES,
    METADATA_VERSION,
    EventFacts,
    KnownCustomer,
    ConversationFacts,
    Situation,
)
from conversations.policies import (  # noqa: F401  (re-exported: rules.Policies, ...)
    LOG_DONE,
    LOG_OPEN,
    LOG_SKIP,
    SESSION_KINDS,
    LOG_CHOICES,
    _SESSION_CLOSING,
    Policies,
    DEFAULT_POLICIES,
    logging_kind,
    MISSED_REASONS,
    NUMBER_FORMATS,
    TEMPLATE_PLACEHOLDERS,
    TEMPLATE_MAX,
    template_errors,
    missed_reason,
    display_number,
    render_template,
    _call_waits_for_agent,
    _chat_waits_for_messages,
    record_delay,
    chat_was_delayed,
    _as_abandoned,
    not_logged,
    _duration,
)

# -------------------------------------------------------------------------- helpers
def customer_key(*, phone: str | None, identifier: str | None) -> str:
    """The key that serialises a customer's events: the app identifier when there is one
    (an app user is one person whatever phone they use), else the E.164 phone."""
    if identifier:
        return f"app:{identifier}"
    if phone:
        return phone
    raise ValueError("an event needs end_user.phone or end_user.identifier")


def session_kind(event: EventFacts) -> str:
    if event.type in (VOICEMAIL_RECEIVED, VOICEMAIL_UPDATED):
        return "voicemail"
    return "chat" if event.channel == "chat" else "call"


def _label(event: EventFacts) -> str:
    return "Chat" if event.channel == "chat" else "Call"




def _conversation_name(event: EventFacts, kind: str) -> str:
    who = event.name or event.phone or event.identifier or "customer"
    if kind == "voicemail":
        return f"Voicemail from {who}"
    if event.source == "outbound" or event.type in (OUTBOUND_STARTED, CALLBACK_REQUESTED):
        return f"Outbound call to {who}"
    what = "Chat" if event.channel == "chat" else "Call"
    return f"{what} with {who}" + (f" ({event.menu})" if event.menu else "")


def standard_fields(event: EventFacts, kind: str) -> dict[str, Any]:
    """R-D1: call ID, language and inbound menu selection (plus channel and type)."""
    values = {
        "ccCallIdStr": event.session_id,
        "ccLanguageStr": event.language,
        "ccMenuSelectionStr": event.menu,
        "ccChannelStr": event.channel,
        "ccSessionTypeStr": kind,
    }
    return {k: v for k, v in values.items() if v not in (None, "")}


# -------------------------------------------------------------------------- decisions
def decide_customer(event: EventFacts, known: KnownCustomer | None,
                    policies: Policies = DEFAULT_POLICIES) -> Action | None:
    """None when the customer is already mapped; otherwise the first action."""
    unmapped = known is None or not known.kustomer_customer_id
    delay = record_delay(event, policies)
    if delay and (event.type == SESSION_STARTED or (unmapped and event.type != SESSION_ENDED)):
        # R-P5: nothing is written yet (an unmapped customer's session cannot be placed yet:
        # placing it needs the customer).
        return SkipEvent(rule="R-P5", reason=delay)
    if event.type == SESSION_ENDED and unmapped and delay:
        event = _as_abandoned(event)  # never placed: the abandoned-call policy
    skipped = not_logged(event, policies)
    if skipped is not None:
        return SkipEvent(rule=skipped[0], reason=skipped[1])
    given = event.data.get("kustomer_customer_id") if event.type == OUTBOUND_STARTED else None
    if given:
        if known is not None and known.kustomer_customer_id == given:
            return None
        return UseCustomer(rule="R-X2", kustomer_customer_id=str(given))
    if known is not None and known.kustomer_customer_id:
        return None
    rule = "R-C2" if event.identifier and event.source in SDK_SOURCES else "R-C1"
    if not policies.create_unknown_customers:
        rule = "R-P2"
    return EnsureCustomer(rule=rule, phone=event.phone, identifier=event.identifier, name=event.name,
                          email=event.email, create=policies.create_unknown_customers)


def _new_conversation(event: EventFacts, rule: str, *, kind: str | None = None,
                      direction: str | None = None) -> CreateConversation:
    kind = kind or session_kind(event)
    if direction is None:
        direction = "out" if event.type in (OUTBOUND_STARTED, CALLBACK_REQUESTED) else "in"
    return CreateConversation(
        rule=rule, session_id=event.session_id, conversation_kind=kind, channel=event.channel, source=event.source,
        menu=event.menu, direction=direction, name=_conversation_name(event, kind),
        standard_fields=standard_fields(event, kind),
    )


def newest_creation_certain(newest_created: datetime | None, updated_at: datetime | None) -> bool:
    """Reading a customer's conversations by update time, newest first: once one was
    last updated before the newest creation seen so far, none further on can have been
    created later (a conversation is updated no earlier than it is created)."""
    return newest_created is not None and updated_at is not None and updated_at < newest_created


def status_after_message(status: str | None, direction: str | None) -> str | None:
    """The status Kustomer gives a conversation when a message is added: a customer's
    (inbound) message reopens a done conversation and wakes a snoozed one; None: no
    change. (Kustomer's conversation lifecycle; the sandbox does the same.)"""
    if direction == "in" and status in ("done", "snoozed"):
        return "open"
    return None


def _inbound_placement(event: EventFacts, situation: Situation, create_rule: str) -> Action:
    """R-U1: join an OPEN conversation of the same customer with the same menu selection
    and the same channel (voicemail conversations never take calls); else create."""
    for conv in situation.newest_first():
        if (conv.is_open and conv.kind in ("call", "chat") and conv.channel == event.channel
                and (conv.menu or None) == (event.menu or None)):
            return JoinConversation(rule="R-U1", session_id=event.session_id, conversation_ref=conv.ref)
    return _new_conversation(event, create_rule)


def _outbound_placement(event: EventFacts, situation: Situation) -> Action:
    """R-U2 / R-T3: the customer's most recent conversation if it is open, else a new one."""
    ordered = situation.newest_first()
    if ordered and ordered[0].is_open:
        return JoinConversation(rule="R-U2", session_id=event.session_id, conversation_ref=ordered[0].ref)
    return _new_conversation(event, "R-T3", direction="out")


def _callback_placement(event: EventFacts, situation: Situation) -> Action:
    """R-U5 (callback after the call) / R-U6 (short call + Callback): the callback joins
    the earlier call's conversation while it is open; a "short call" callback after a
    call of 10 s or more, or one whose conversation is no longer open, is an ordinary
    outbound call (R-U2 / R-T3)."""
    reason = event.data.get("reason")
    previous = situation.by_ref(situation.previous_session_conversation)
    short_enough = situation.previous_session_duration is None or situation.previous_session_duration < SHORT_CALL_SECONDS
    if previous is not None and previous.is_open and (reason == "after_call" or short_enough):
        rule = "R-U5" if reason == "after_call" else "R-U6"
        return JoinConversation(rule=rule, session_id=event.session_id, conversation_ref=previous.ref)
    return _outbound_placement(event, situation)


def _placement(event: EventFacts, situation: Situation) -> Action:
    """Where a session that belongs to no conversation yet goes."""
    if event.type == VOICEMAIL_RECEIVED:
        return _new_conversation(event, "R-T5", kind="voicemail")  # always new, even beside an open one
    if event.type == CALL_ABANDONED:
        return _new_conversation(event, "R-T4")  # abandoned calls still create
    if event.type == OUTBOUND_STARTED:
        return _outbound_placement(event, situation)
    if event.type == CALLBACK_REQUESTED:
        return _callback_placement(event, situation)
    if event.type == VOICEMAIL_UPDATED:
        return _new_conversation(event, "R-U10", kind="voicemail")
    if event.type == SESSION_STARTED:
        return _inbound_placement(event, situation, "R-T1")
    if event.type == CALL_ANSWERED:
        return _inbound_placement(event, situation, "R-T2")
    # An update about a session we never saw start (its start event was lost upstream or
    # is still on its way): place it as an inbound session so nothing is dropped.
    return _inbound_placement(event, situation, "R-T2" if event.source == "ivr" else "R-T1")


def _assignment(event: EventFacts, situation: Situation, email: str | None, rule: str) -> list[Action]:
    if not email:
        return []
    actions: list[Action] = [AssignConversation(rule=rule, agent_email=email)]
    if situation.customer_just_created:
        actions.append(AssignCustomer(rule="R-C3", agent_email=email))
    return actions


def decide_conversation(event: EventFacts, situation: Situation,
                        policies: Policies = DEFAULT_POLICIES) -> list[Action]:
    """The ordered Kustomer writes for one event, under the tenant's policies (SPEC §6)."""
    placed_now = situation.session_conversation is None
    delayed = placed_now and record_delay(event, policies) is not None
    if delayed and event.type != SESSION_ENDED:
        return []  # R-P5: nothing is written until an agent is connected / enough chat messages
    if delayed:
        event = _as_abandoned(event)  # R-P5: ended before that: the abandoned-call policy
    if situation.customer_unknown or not_logged(event, policies) is not None:
        return []  # R-P2 / R-P1: nothing to write
    actions = _decide_writes(event, situation)
    if delayed:
        actions = [replace(a, rule="R-P5") if a.rule == "R-T4" else a for a in actions]
    elif (placed_now and event.type != SESSION_STARTED and chat_was_delayed(event, policies) and event.agent_email
          and actions and isinstance(actions[0], CreateConversation)
          and not any(isinstance(a, AssignConversation) for a in actions)):
        # R-P5: the chat's record starts at this event; its answer (R-X1) wrote nothing then,
        # so the agent the event names gets it now (sent with the create).
        actions[1:1] = _assignment(event, situation, event.agent_email, "R-P5")
    return _apply_policies(event, situation, policies, actions)


def reopen_candidate(event: EventFacts, situation: Situation, days: int) -> ConversationFacts | None:
    """R-P4: the customer's newest done conversation on the event's menu and channel that
    was closed less than ``days`` days before the event happened."""
    if days <= 0:
        return None
    for conv in situation.newest_first():
        if (conv.status == "done" and conv.kind in ("call", "chat") and conv.channel == event.channel
                and (conv.menu or None) == (event.menu or None) and conv.status_changed_at is not None
                and event.occurred_at - conv.status_changed_at < timedelta(days=days)):
            return conv
    return None


def _apply_policies(event: EventFacts, situation: Situation, policies: Policies, actions: list[Action]) -> list[Action]:
    placed_now = situation.session_conversation is None
    if placed_now and actions and isinstance(actions[0], CreateConversation) and actions[0].rule in ("R-T1", "R-T2"):
        closed = reopen_candidate(event, situation, policies.reopen_days)
        if closed is not None:
            # R-P4: no open conversation to join (R-U1), but one closed within the window: reopen it.
            rest = [a for a in actions[1:] if not (isinstance(a, AddNote) and a.rule == "R-D2")]
            actions = [JoinConversation(rule="R-P4", session_id=event.session_id, conversation_ref=closed.ref),
                       UpdateConversation(rule="R-P4", status="open"),
                       *[replace(a, rule="R-P4") if isinstance(a, AddMessage) and a.rule == actions[0].rule else a
                         for a in rest]]
    unowned = (placed_now and actions and isinstance(actions[0], CreateConversation)
               and not any(isinstance(a, AssignConversation) for a in actions))
    if unowned and policies.default_owner_team_id:
        # R-P6: a record no agent owns goes to the default team (sent with the create).
        actions.insert(1, AssignTeam(rule="R-P6", team_id=policies.default_owner_team_id))
    if unowned and policies.default_owner_email:
        # R-P6: ... and to the default CRM user (sent with the create).
        actions.insert(1, AssignConversation(rule="R-P6", agent_email=policies.default_owner_email))
    kind = logging_kind(event)
    reason = missed_reason(event, policies)
    for i, action in enumerate(actions):
        if isinstance(action, CreateConversation) and policies.name_templates.get(kind):
            actions[i] = replace(action, name=render_template(policies.name_templates[kind], event, policies))
        elif isinstance(action, AddMessage):
            if placed_now and policies.preview_templates.get(kind):
                actions[i] = replace(action, preview=render_template(policies.preview_templates[kind], event, policies))
            elif reason and event.type == CALL_ABANDONED:
                actions[i] = replace(action, preview=f"{action.preview} · {MISSED_REASONS[reason]}")
            break  # the record's first message only
    if policies.log_as(kind) == LOG_DONE and (placed_now or event.type in _SESSION_CLOSING):
        actions.append(UpdateConversation(rule="R-P1", status="done"))
    return actions


def _decide_writes(event: EventFacts, situation: Situation) -> list[Action]:
    actions: list[Action] = []
    placed_now = situation.session_conversation is None
    if placed_now:
        placement = _placement(event, situation)
        actions.append(placement)
        if isinstance(placement, CreateConversation) and event.phone:
            actions.append(AddNote(rule="R-D2", body=f"Phone number: {event.phone}"))
    t = event.type
    label = _label(event)
    data = event.data

    if t == SESSION_STARTED:
        via = "mobile app" if event.source == "mobile_sdk" else "web" if event.source == "web_sdk" else event.source
        actions.append(AddMessage(rule=actions[0].rule if placed_now else "R-T1", channel=event.channel, direction="in",
                                  preview=f"{label} started ({via})" + (f": {event.menu}" if event.menu else "")))
    elif t == CALL_ANSWERED:
        if placed_now:
            actions.append(AddMessage(rule=actions[0].rule, channel=event.channel, direction="in",
                                      preview=f"{label} answered" + (f": {event.menu}" if event.menu else "")))
        actions += _assignment(event, situation, event.agent_email, "R-X1")
    elif t == OUTBOUND_STARTED:
        actions.append(AddMessage(rule="R-X2" if data.get("kustomer_customer_id") else "R-T3",
                                  channel="voice", direction="out",
                                  preview=f"Outbound call to {event.phone or 'customer'}"))
        actions += _assignment(event, situation, event.agent_email, "R-X1")
    elif t == CALL_ABANDONED:
        wait = _duration(data.get("wait_seconds"))
        actions.append(AddMessage(rule="R-T4", channel=event.channel, direction="in",
                                  preview=f"Abandoned {label.lower()}" + (f" after {wait} waiting" if wait else "")))
    elif t == VOICEMAIL_RECEIVED:
        length = _duration(data.get("duration_seconds"))
        actions.append(AddMessage(rule="R-T5", channel="voice", direction="in",
                                  preview="Voicemail" + (f" ({length})" if length else ""),
                                  recording_url=data.get("recording_url") or None))
    elif t == SESSION_ENDED:
        length = _duration(data.get("duration_seconds"))
        recording = None
        if event.channel == "voice" and event.recording_enabled and data.get("recording_url"):
            recording = data["recording_url"]  # R-U3
        actions.append(AddMessage(rule="R-U3" if recording else "R-F3", channel=event.channel, direction="in",
                                  preview=f"{label} ended" + (f" ({length})" if length else ""),
                                  recording_url=recording))
        transcript = tuple(data.get("transcript") or ())
        if transcript:
            actions.append(AddNote(rule="R-D4", body=f"Chat transcript ({len(transcript)} lines) attached.",
                                   transcript=transcript))
    elif t == SESSION_TRANSFERRED:
        to = data.get("to_agent_email")
        actions += _assignment(event, situation, to, "R-U4")
        if to:
            actions.append(AddNote(rule="R-U4", body=f"{label} transferred to {to}."))
    elif t == CALLBACK_REQUESTED:
        why = "after the call" if data.get("reason") == "after_call" else "after a short call"
        actions.append(AddMessage(rule=actions[0].rule if placed_now else "R-U5", channel="voice",
                                  direction="out", preview=f"Callback {why}"))
        actions += _assignment(event, situation, event.agent_email, "R-X1")
    elif t == SMART_ACTION_COMPLETED:
        result = data.get("result") or {}
        body = f"SmartAction {data.get('action')} completed."
        if result:
            body += "\nResult: " + json.dumps(result, ensure_ascii=False, sort_keys=True)
        files = tuple(data.get("files") or ())
        if files:
            body += "\nFiles: " + ", ".join(str(f.get("name")) for f in files)
        actions.append(AddNote(rule="R-U7", body=body, files=files))
    elif t == SMART_ACTION_FAILED:
        actions.append(AddNote(rule="R-U7", body=f"SmartAction {data.get('action')} failed: {data.get('error')}"))
    elif t == CUSTOM_DATA_RECEIVED:
        keys = ", ".join(sorted((data.get("custom_data") or {}).keys()))
        actions.append(AddMessage(rule="R-U8", channel=event.channel, direction="in",
                                  preview="Custom data received" + (f": {keys}" if keys else "")))
    elif t == CSAT_SUBMITTED:
        rating, comment = data.get("rating"), data.get("comment")
        custom: dict[str, Any] = {"ccCsatRatingNum": rating}
        if comment:
            custom["ccCsatCommentTxt"] = comment
        actions.append(UpdateConversation(rule="R-U9", custom=custom))
        actions.append(AddMessage(rule="R-U9", channel=event.channel, direction="in",
                                  preview=f"Rated {rating}/5" + (f": {comment}" if comment else "")))
    elif t == VOICEMAIL_UPDATED:
        what = data.get("action")
        words = {"read": "read", "closed": "closed", "called_back": "called back"}.get(what, str(what))
        by = f" by {event.agent_email}" if event.agent_email else ""
        custom = {"ccVoicemailStateStr": what}
        actions.append(UpdateConversation(rule="R-U10", status="done" if what == "closed" else None, custom=custom))
        actions.append(AddNote(rule="R-U10", body=f"Voicemail {words}{by}."))
        if what == "called_back":
            actions += _assignment(event, situation, event.agent_email, "R-U10")
    elif t == DISPOSITION_SUBMITTED:
        actions.append(AddNote(rule="disposition", body=disposition_note(label, data, event.agent_email)))
    elif t == SESSION_CLOSED_OUT:
        actions.append(AddNote(rule="R-O2", body=close_out_note(label, data)))
    return actions


def close_out_note(label: str, data: Mapping[str, Any]) -> str:
    """R-O2: the note on a session whose end never arrived."""
    hours = data.get("after_hours")
    return (f"{label} closed out by the portal: no end arrived from the contact center within {hours} hour"
            f"{'' if hours == 1 else 's'} of its last event. Events of this {label.lower()} that arrive later "
            "still apply.")


def disposition_note(label: str, data: Mapping[str, Any], agent_email: str | None) -> str:
    """The agent's wrap-up (disposition) as a note: code, custom code id and the agent's note."""
    code = data.get("code") or "no code"
    line = f"{label} disposition: {code}"
    if data.get("custom_code_id") not in (None, ""):
        line += f" (custom code {data['custom_code_id']})"
    if agent_email:
        line += f" by {agent_email}"
    note = data.get("note")
    return line + (f"\n{note}" if note else "")



def phone_search_key(text: str, region: str) -> str | None:
    """The customer key (E.164) of a phone number typed in any format, read with the
    tenant's default region; None when the text is no valid number."""
    if not text or sum(ch.isdigit() for ch in text) < 5:
        return None
    try:
        number = phonenumbers.parse(text, region or "US")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
