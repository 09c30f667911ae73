"""The conversation rules (SPEC §4) as pure decisions: no database, no HTTP."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from conversations import rules
from conversations.rules import (
    AddMessage,
    AddNote,
    AssignConversation,
    AssignCustomer,
    ConversationFacts,
    CreateConversation,
    EnsureCustomer,
    EventFacts,
    JoinConversation,
    KnownCustomer,
    Situation,
    UpdateConversation,
    UseCustomer,
    decide_conversation,
    decide_customer,
)

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
PHONE = "+14155550123"


def ev(type_: str, *, channel="voice", source="ivr", menu="Billing", data=None, agent="agent1@example.com",
       phone=PHONE, identifier=None, session="s-1", recording=False, **kw) -> EventFacts:
    return EventFacts(event_id=f"e-{type_}", type=type_, occurred_at=T0, session_id=session, channel=channel,
                      source=source, menu=menu, phone=phone, identifier=identifier, agent_email=agent,
                      recording_enabled=recording, data=data or {}, language="en", **kw)


def conv(ref: str, status: str, *, kind="call", channel="voice", menu="Billing", age_minutes=0) -> ConversationFacts:
    return ConversationFacts(ref=ref, status=status, created_at=T0 - timedelta(minutes=age_minutes), kind=kind,
                             channel=channel, menu=menu, source="ivr")


def kinds(actions) -> list[str]:
    return [a.kind for a in actions]


# -------------------------------------------------------------------- customers
def test_r_c1_unknown_phone_needs_a_customer():
    action = decide_customer(ev(rules.CALL_ANSWERED), None)
    assert isinstance(action, EnsureCustomer) and action.rule == "R-C1" and action.phone == PHONE


def test_r_c2_new_app_user_needs_a_customer():
    action = decide_customer(ev(rules.SESSION_STARTED, source="mobile_sdk", phone=None, identifier="u-9"), None)
    assert isinstance(action, EnsureCustomer) and action.rule == "R-C2" and action.identifier == "u-9"


def test_known_customer_needs_nothing():
    assert decide_customer(ev(rules.CALL_ANSWERED), KnownCustomer(kustomer_customer_id="c1")) is None


def test_mapping_row_without_kustomer_id_is_ensured_again():
    """A claim whose create never finished is looked up / created again."""
    assert isinstance(decide_customer(ev(rules.CALL_ANSWERED), KnownCustomer(kustomer_customer_id=None)), EnsureCustomer)


def test_r_x2_click_to_call_uses_the_named_customer():
    action = decide_customer(ev(rules.OUTBOUND_STARTED, source="outbound", data={"kustomer_customer_id": "a" * 24}), None)
    assert isinstance(action, UseCustomer) and action.kustomer_customer_id == "a" * 24 and action.rule == "R-X2"


def test_customer_key_prefers_app_identifier():
    assert rules.customer_key(phone=PHONE, identifier="u1") == "app:u1"
    assert rules.customer_key(phone=PHONE, identifier=None) == PHONE
    with pytest.raises(ValueError):
        rules.customer_key(phone=None, identifier=None)


# -------------------------------------------------------------------- creation
def test_r_t1_sdk_chat_creates_conversation_with_message():
    actions = decide_conversation(ev(rules.SESSION_STARTED, channel="chat", source="mobile_sdk"), Situation())
    assert kinds(actions) == ["create_conversation", "add_note", "add_message"]
    create = actions[0]
    assert create.rule == "R-T1" and create.conversation_kind == "chat" and create.channel == "chat" and create.direction == "in"
    assert actions[2].channel == "chat" and actions[2].rule == "R-T1"


def test_r_t2_r_d1_r_d2_r_x1_answered_ivr_call():
    actions = decide_conversation(ev(rules.CALL_ANSWERED), Situation())
    assert kinds(actions) == ["create_conversation", "add_note", "add_message", "assign_conversation"]
    create = actions[0]
    assert create.rule == "R-T2"
    assert create.standard_fields == {"ccCallIdStr": "s-1", "ccLanguageStr": "en", "ccMenuSelectionStr": "Billing",
                                      "ccChannelStr": "voice", "ccSessionTypeStr": "call"}  # R-D1
    assert actions[1] == AddNote(rule="R-D2", body=f"Phone number: {PHONE}")
    assert actions[3] == AssignConversation(rule="R-X1", agent_email="agent1@example.com")


def test_r_c3_just_created_customer_is_assigned_too():
    actions = decide_conversation(ev(rules.CALL_ANSWERED), Situation(customer_just_created=True))
    assert actions[-1] == AssignCustomer(rule="R-C3", agent_email="agent1@example.com")
    older = decide_conversation(ev(rules.CALL_ANSWERED), Situation(customer_just_created=False))
    assert "assign_customer" not in kinds(older)


def test_answer_of_sdk_call_already_placed_only_assigns():
    actions = decide_conversation(ev(rules.CALL_ANSWERED, source="mobile_sdk"),
                                  Situation(conversations=(conv("1", "open"),), session_conversation="1"))
    assert kinds(actions) == ["assign_conversation"]


def test_no_phone_no_phone_note():
    actions = decide_conversation(ev(rules.SESSION_STARTED, source="mobile_sdk", phone=None, identifier="u"), Situation())
    assert "add_note" not in kinds(actions)


def test_r_t3_outbound_creates_when_most_recent_not_open():
    situation = Situation(conversations=(conv("old-open", "open", age_minutes=60), conv("new-done", "done", age_minutes=5)))
    actions = decide_conversation(ev(rules.OUTBOUND_STARTED, source="outbound"), situation)
    assert isinstance(actions[0], CreateConversation) and actions[0].rule == "R-T3" and actions[0].direction == "out"
    assert [a for a in actions if isinstance(a, AddMessage)][0].direction == "out"


def test_r_u2_outbound_joins_open_most_recent_even_other_channel_or_menu():
    situation = Situation(conversations=(conv("c", "open", channel="chat", menu="Sales"),))
    actions = decide_conversation(ev(rules.OUTBOUND_STARTED, source="outbound"), situation)
    assert actions[0] == JoinConversation(rule="R-U2", session_id="s-1", conversation_ref="c")
    assert "add_note" not in kinds(actions)  # the phone note goes on new conversations only


def test_r_t3_snoozed_most_recent_is_not_open():
    actions = decide_conversation(ev(rules.OUTBOUND_STARTED, source="outbound"),
                                  Situation(conversations=(conv("c", "snoozed"),)))
    assert actions[0].kind == "create_conversation"


def test_r_t3_outbound_with_no_conversation_creates():
    assert decide_conversation(ev(rules.OUTBOUND_STARTED, source="outbound"), Situation())[0].rule == "R-T3"


def test_r_t4_abandoned_creates_even_beside_matching_open():
    situation = Situation(conversations=(conv("c", "open"),))
    actions = decide_conversation(ev(rules.CALL_ABANDONED, data={"wait_seconds": 42}, agent=None), situation)
    assert actions[0].kind == "create_conversation" and actions[0].rule == "R-T4"
    assert "42s" in [a for a in actions if isinstance(a, AddMessage)][0].preview
    assert "assign_conversation" not in kinds(actions)


def test_r_t5_voicemail_always_new_even_with_open():
    situation = Situation(conversations=(conv("c", "open"),))
    actions = decide_conversation(
        ev(rules.VOICEMAIL_RECEIVED, data={"recording_url": "https://x/vm.mp3", "duration_seconds": 31}, agent=None),
        situation)
    assert actions[0].kind == "create_conversation" and actions[0].rule == "R-T5"
    assert actions[0].kind == "create_conversation" and actions[0].conversation_kind == "voicemail"
    message = [a for a in actions if isinstance(a, AddMessage)][0]
    assert message.recording_url == "https://x/vm.mp3" and "31s" in message.preview


# -------------------------------------------------------------------- R-U1
def test_r_u1_same_menu_same_channel_open_joins():
    situation = Situation(conversations=(conv("c", "open"),))
    actions = decide_conversation(ev(rules.CALL_ANSWERED), situation)
    assert actions[0] == JoinConversation(rule="R-U1", session_id="s-1", conversation_ref="c")
    assert kinds(actions) == ["join_conversation", "add_message", "assign_conversation"]


@pytest.mark.parametrize("other", [
    conv("c", "done"), conv("c", "snoozed"), conv("c", "open", menu="Sales"), conv("c", "open", channel="chat"),
    conv("c", "open", kind="voicemail"), conv("c", "open", kind="other"), conv("c", None),
])
def test_r_u1_only_open_same_menu_same_channel(other):
    actions = decide_conversation(ev(rules.CALL_ANSWERED), Situation(conversations=(other,)))
    assert actions[0].kind == "create_conversation"


def test_r_u1_no_menu_matches_no_menu():
    situation = Situation(conversations=(conv("c", "open", menu=None),))
    assert decide_conversation(ev(rules.CALL_ANSWERED, menu=None), situation)[0].kind == "join_conversation"


def test_r_u1_joins_newest_of_several_open():
    situation = Situation(conversations=(conv("old", "open", age_minutes=50), conv("new", "open", age_minutes=1)))
    assert decide_conversation(ev(rules.SESSION_STARTED, source="web_sdk"), situation)[0].conversation_ref == "new"


def test_r_u1_sdk_chat_joins_open_chat():
    situation = Situation(conversations=(conv("c", "open", channel="chat", kind="chat"),))
    actions = decide_conversation(ev(rules.SESSION_STARTED, channel="chat", source="web_sdk"), situation)
    assert actions[0].rule == "R-U1" and actions[-1].rule == "R-U1"


# -------------------------------------------------------------------- updates
def placed() -> Situation:
    return Situation(conversations=(conv("c", "open"),), session_conversation="c")


def test_r_u3_recording_attached_when_enabled():
    actions = decide_conversation(
        ev(rules.SESSION_ENDED, recording=True, data={"duration_seconds": 75, "recording_url": "https://r/1.mp3"}), placed())
    assert actions == [AddMessage(rule="R-U3", channel="voice", direction="in", preview="Call ended (1m 15s)",
                                  recording_url="https://r/1.mp3")]


def test_r_u3_no_recording_when_disabled():
    actions = decide_conversation(
        ev(rules.SESSION_ENDED, recording=False, data={"recording_url": "https://r/1.mp3"}), placed())
    assert actions[0].recording_url is None and actions[0].rule == "R-F3"


def test_r_d4_transcript_note():
    lines = [{"at": "2026-11-23T10:00:00Z", "from": "customer", "text": "hi"}]
    actions = decide_conversation(ev(rules.SESSION_ENDED, channel="chat", data={"transcript": lines}), placed())
    assert kinds(actions) == ["add_message", "add_note"]
    assert actions[1].rule == "R-D4" and actions[1].transcript == tuple(lines)


def test_r_u4_transfer_reassigns():
    actions = decide_conversation(ev(rules.SESSION_TRANSFERRED, data={"to_agent_email": "agent2@example.com"}), placed())
    assert actions[0] == AssignConversation(rule="R-U4", agent_email="agent2@example.com")
    assert actions[-1].kind == "add_note"


def test_r_u4_transfer_of_just_created_customer_reassigns_customer():
    s = Situation(conversations=(conv("c", "open"),), session_conversation="c", customer_just_created=True)
    actions = decide_conversation(ev(rules.SESSION_TRANSFERRED, data={"to_agent_email": "b@x.com"}), s)
    assert AssignCustomer(rule="R-C3", agent_email="b@x.com") in actions


def callback(reason, previous_status="open", duration=None, most_recent=None):
    convs = [conv("prev", previous_status, age_minutes=10)]
    if most_recent:
        convs.append(most_recent)
    s = Situation(conversations=tuple(convs), previous_session_conversation="prev", previous_session_duration=duration)
    return decide_conversation(ev(rules.CALLBACK_REQUESTED, session="s-2", source="outbound",
                                  data={"reason": reason, "previous_session_id": "s-1"}), s)


def test_r_u5_callback_after_call_joins_open_conversation():
    actions = callback("after_call")
    assert actions[0] == JoinConversation(rule="R-U5", session_id="s-2", conversation_ref="prev")
    assert actions[1].direction == "out"


def test_r_u6_short_call_callback_joins_open_conversation():
    actions = callback("short_call", duration=7)
    assert actions[0].rule == "R-U6" and actions[0].conversation_ref == "prev"


def test_r_u6_not_short_call_is_ordinary_outbound():
    """A call of 10 s or more is no "short call": the callback follows R-U2/R-T3."""
    assert callback("short_call", duration=45)[0].rule == "R-U2"  # most recent (prev) is open
    newer_done = conv("newer", "done", age_minutes=1)
    actions = callback("short_call", duration=45, most_recent=newer_done)
    assert actions[0].kind == "create_conversation" and actions[0].rule == "R-T3"
    assert callback("short_call", duration=9, most_recent=newer_done)[0].rule == "R-U6"


def test_callback_of_closed_conversation_creates():
    actions = callback("after_call", previous_status="done")
    assert actions[0].kind == "create_conversation"


def test_r_u7_smart_action_completed_note_with_files():
    files = [{"name": "id.jpg", "url": "https://f/id.jpg", "content_type": "image/jpeg"}]
    actions = decide_conversation(
        ev(rules.SMART_ACTION_COMPLETED, data={"action": "verify_photo", "result": {"ok": True}, "files": files}), placed())
    assert len(actions) == 1 and actions[0].rule == "R-U7"
    assert "verify_photo completed" in actions[0].body and '"ok": true' in actions[0].body
    assert actions[0].files == tuple(files)


def test_r_u7_smart_action_failed_note_with_error():
    actions = decide_conversation(
        ev(rules.SMART_ACTION_FAILED, data={"action": "fingerprint", "error": "fingerprint access not enabled"}), placed())
    assert actions == [AddNote(rule="R-U7", body="SmartAction fingerprint failed: fingerprint access not enabled")]


def test_r_u8_custom_data_message():
    actions = decide_conversation(ev(rules.CUSTOM_DATA_RECEIVED, data={"custom_data": {"orderId": "A-17"}}), placed())
    assert kinds(actions) == ["add_message"] and actions[0].rule == "R-U8" and "orderId" in actions[0].preview


def test_r_u9_csat_on_conversation():
    actions = decide_conversation(ev(rules.CSAT_SUBMITTED, data={"rating": 4, "comment": "quick"}), placed())
    assert actions[0] == UpdateConversation(rule="R-U9", custom={"ccCsatRatingNum": 4, "ccCsatCommentTxt": "quick"})
    assert actions[1].preview == "Rated 4/5: quick"


@pytest.mark.parametrize("what,status", [("read", None), ("closed", "done"), ("called_back", None)])
def test_r_u10_voicemail_updates(what, status):
    s = Situation(conversations=(conv("v", "open", kind="voicemail"),), session_conversation="v")
    actions = decide_conversation(ev(rules.VOICEMAIL_UPDATED, data={"action": what}), s)
    assert actions[0] == UpdateConversation(rule="R-U10", status=status, custom={"ccVoicemailStateStr": what})
    assert actions[1].kind == "add_note"
    assert ("assign_conversation" in kinds(actions)) == (what == "called_back")


def test_update_for_unseen_session_is_placed_not_dropped():
    actions = decide_conversation(ev(rules.CSAT_SUBMITTED, data={"rating": 5}), Situation())
    assert actions[0].kind == "create_conversation"


def test_update_for_unseen_session_joins_matching_open():
    actions = decide_conversation(ev(rules.SESSION_ENDED, data={}), Situation(conversations=(conv("c", "open"),)))
    assert actions[0].kind == "join_conversation"


def test_every_event_type_is_decided():
    for type_ in rules.EVENT_TYPES:
        data = {"reason": "after_call", "previous_session_id": "x", "action": "read", "rating": 3,
                "to_agent_email": "a@b.c", "custom_data": {}}
        assert decide_conversation(ev(type_, data=data), Situation()), type_


def test_actions_round_trip_through_storage():
    for action in decide_conversation(ev(rules.SMART_ACTION_COMPLETED, data={
            "action": "a", "files": [{"name": "n", "url": "https://u"}]}), Situation()):
        assert rules.action_from_params(action.kind, action.rule, action.params()) == action


def test_disposition_becomes_a_note_on_the_session_conversation():
    event = ev(rules.DISPOSITION_SUBMITTED, data={"code": "Resolved", "custom_code_id": "7", "note": "Refund sent"})
    actions = decide_conversation(event, Situation(session_conversation="c", conversations=(conv("c", "open"),)))
    assert [a.kind for a in actions] == ["add_note"]
    assert actions[0].body.startswith("Call disposition: Resolved (custom code 7)")
    assert actions[0].body.endswith("\nRefund sent")


def test_newest_creation_is_certain_once_an_update_predates_it():
    t = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
    assert not rules.newest_creation_certain(None, t)
    assert not rules.newest_creation_certain(t, t)
    assert not rules.newest_creation_certain(t, None)
    assert rules.newest_creation_certain(t, t - timedelta(seconds=1))


@pytest.mark.parametrize("status, direction, after", [
    ("done", "in", "open"), ("snoozed", "in", "open"), ("open", "in", None),
    ("done", "out", None), ("snoozed", "out", None), (None, "in", None),
])
def test_an_inbound_message_reopens_done_and_wakes_snoozed(status, direction, after):
    assert rules.status_after_message(status, direction) == after
