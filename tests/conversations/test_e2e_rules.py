"""End to end, one rule at a time: HTTP into the API, PostgreSQL, a Celery worker on
Redis, HTTP out to the Kustomer sandbox; each test asserts what the sandbox holds."""
from __future__ import annotations

import pytest

from tests.conversations.e2e_helpers import (
    add_agent,
    apply,
    attachment_ids,
    conversation,
    customer,
    event,
    note_attachment_ids,
)

pytestmark = pytest.mark.e2e
PHONE = "+14155550123"


def test_r_t2_r_c1_r_d1_r_d2_r_x1_r_c3_answered_call_from_new_number(e2e):
    """An agent answers an IVR call from a number Kustomer does not know: one customer
    (R-C1), one conversation (R-T2) with call ID, language and menu (R-D1), the E.164
    number as a note (R-D2), a voice message, assigned to the agent (R-X1) and, the
    customer being new, the customer's assignment too (R-C3)."""
    agent_id = add_agent(e2e, "agent1@example.com")
    body = event("call.answered", "s-100")
    body["end_user"]["phone"] = "(415) 555-0123"
    result = apply(e2e, body)
    customers = e2e.sandbox.customers()
    assert len(customers) == 1
    cust = customers[0]
    assert cust["id"] == result["kustomer"]["customer_id"]
    assert [p["phone"] for p in cust["attributes"]["phones"]] == [PHONE]
    assert cust["attributes"]["custom"]["ccAssignedUserStr"] == agent_id  # R-C3
    convs = e2e.sandbox.conversations()
    assert len(convs) == 1
    conv = convs[0]
    assert conv["id"] == result["kustomer"]["conversation_id"]
    assert conv["attributes"]["status"] == "open"
    assert conv["attributes"]["custom"]["ccCallIdStr"] == "s-100"
    assert conv["attributes"]["custom"]["ccLanguageStr"] == "en"
    assert conv["attributes"]["custom"]["ccMenuSelectionStr"] == "Billing > Refunds"
    assert conv["attributes"]["assignedUsers"] == [agent_id]  # R-X1
    # ... sent with the create: no separate update of the conversation was needed.
    assert not e2e.sandbox.requests(method="PUT", path_contains="/v1/conversations/")
    notes = e2e.sandbox.notes(conv["id"])
    assert [n["attributes"]["body"] for n in notes] == [f"Phone number: {PHONE}"]  # R-D2
    messages = e2e.sandbox.messages(conv["id"])
    assert len(messages) == 1
    assert messages[0]["attributes"]["channel"] == "voice" and messages[0]["attributes"]["direction"] == "in"
    assert messages[0]["attributes"]["externalId"].startswith("cc_")


def test_r_u1_same_menu_and_channel_joins_open_other_menu_creates(e2e):
    first = apply(e2e, event("call.answered", "s-200", agent=None))
    second = apply(e2e, event("call.answered", "s-201", agent=None))
    assert second["kustomer"]["conversation_id"] == first["kustomer"]["conversation_id"]  # R-U1
    third = apply(e2e, event("call.answered", "s-202", menu="Sales", agent=None))
    fourth = apply(e2e, event("session.started", "s-203", channel="chat", source="web_sdk", agent=None))
    ids = {first["kustomer"]["conversation_id"], third["kustomer"]["conversation_id"],
           fourth["kustomer"]["conversation_id"]}
    assert len(ids) == 3
    assert len(e2e.sandbox.conversations()) == 3 and len(e2e.sandbox.customers()) == 1
    assert len(e2e.sandbox.messages(first["kustomer"]["conversation_id"])) == 2


def test_r_u1_closed_in_kustomer_between_two_calls_opens_a_new_one(e2e):
    """An agent closes the conversation in Kustomer; the next call with the same menu
    and channel must open a new one ("open" means open in Kustomer now)."""
    first = apply(e2e, event("call.answered", "s-300", agent=None))
    conv_id = first["kustomer"]["conversation_id"]
    r = e2e.sandbox.session().post(
        f"{e2e.sandbox.base_url}/__sandbox/orgs/{e2e.sandbox.org_id}/conversations/{conv_id}/close", json={})
    assert r.status_code == 200, r.text
    second = apply(e2e, event("call.answered", "s-301", agent=None))
    assert second["kustomer"]["conversation_id"] != conv_id
    assert conversation(e2e, conv_id)["attributes"]["status"] == "done"
    assert conversation(e2e, second["kustomer"]["conversation_id"])["attributes"]["status"] == "open"


def test_r_t5_voicemail_always_new_with_recording(e2e, file_server):
    call = apply(e2e, event("call.answered", "s-400", agent=None))
    vm = apply(e2e, event("voicemail.received", "vm-400", agent=None,
                          data={"recording_url": f"{file_server}/vm/vm-1.wav", "duration_seconds": 31}))
    assert vm["kustomer"]["conversation_id"] != call["kustomer"]["conversation_id"]  # even beside an open one
    conv = conversation(e2e, vm["kustomer"]["conversation_id"])
    assert conv["attributes"]["custom"]["ccSessionTypeStr"] == "voicemail"
    [message] = e2e.sandbox.messages(conv["id"])
    [attachment] = attachment_ids(message)
    assert e2e.sandbox.attachment_content(attachment).startswith(b"RIFF")


def test_r_t3_r_u2_outbound_joins_open_most_recent_else_creates(e2e):
    inbound = apply(e2e, event("call.answered", "s-500", agent=None))
    joined = apply(e2e, event("call.outbound_started", "s-501", source="outbound", menu=None, agent=None))
    assert joined["kustomer"]["conversation_id"] == inbound["kustomer"]["conversation_id"]  # R-U2
    msgs = e2e.sandbox.messages(inbound["kustomer"]["conversation_id"])
    assert sorted(m["attributes"]["direction"] for m in msgs) == ["in", "out"]
    e2e.sandbox.session().post(f"{e2e.sandbox.base_url}/__sandbox/orgs/{e2e.sandbox.org_id}/conversations/"
                               f"{inbound['kustomer']['conversation_id']}/close", json={})
    created = apply(e2e, event("call.outbound_started", "s-502", source="outbound", menu=None, agent=None))
    assert created["kustomer"]["conversation_id"] != inbound["kustomer"]["conversation_id"]  # R-T3
    assert conversation(e2e, created["kustomer"]["conversation_id"])["attributes"]["direction"] == "out"


def test_r_x2_click_to_call_follows_outbound_rules(e2e):
    from statusmapping.services import agent_create

    agent_id = add_agent(e2e, "agent2@example.com")
    agent_create(tenant=e2e.tenant, email="agent2@example.com")  # click-to-call is for the tenant's agents
    inbound = apply(e2e, event("call.answered", "s-600", agent=None))
    r = e2e.post("/api/v1/click-to-call", {"agent_email": "agent2@example.com", "phone": "415-555-0123",
                                           "kustomer_customer_id": inbound["kustomer"]["customer_id"]})
    assert r.status_code == 201, r.text
    from tests.conversations.e2e_helpers import wait_done
    done = wait_done(e2e, r.json()["event_id"])
    assert done["kustomer"]["conversation_id"] == inbound["kustomer"]["conversation_id"]
    assert conversation(e2e, done["kustomer"]["conversation_id"])["attributes"]["assignedUsers"] == [agent_id]


def test_r_t4_abandoned_call_creates_conversation(e2e):
    open_call = apply(e2e, event("call.answered", "s-700", agent=None))
    abandoned = apply(e2e, event("call.abandoned", "s-701", agent=None, data={"wait_seconds": 42}))
    assert abandoned["kustomer"]["conversation_id"] != open_call["kustomer"]["conversation_id"]
    [message] = e2e.sandbox.messages(abandoned["kustomer"]["conversation_id"])
    assert "42s" in message["attributes"]["preview"]


def test_r_t1_r_c2_r_d4_r_u9_sdk_chat_from_new_app_user(e2e):
    started = apply(e2e, event("session.started", "chat-1", phone=None, identifier="app-user-7", channel="chat",
                               source="mobile_sdk", agent=None, data={"custom_data": {"orderId": "A-17"}}))
    [cust] = e2e.sandbox.customers()  # R-C2
    assert cust["id"] == started["kustomer"]["customer_id"]
    conv_id = started["kustomer"]["conversation_id"]
    assert conversation(e2e, conv_id)["attributes"]["custom"]["ccChannelStr"] == "chat"  # R-T1
    transcript = [{"at": "2026-11-23T10:00:01Z", "from": "customer", "text": "Where is my order?"},
                  {"at": "2026-11-23T10:00:09Z", "from": "agent", "text": "On its way."}]
    apply(e2e, event("session.ended", "chat-1", phone=None, identifier="app-user-7", channel="chat",
                     source="mobile_sdk", agent=None, data={"duration_seconds": 120, "transcript": transcript}))
    notes = e2e.sandbox.notes(conv_id)
    transcript_note = next(n for n in notes if "transcript" in n["attributes"]["body"].lower())
    [att] = note_attachment_ids(e2e, transcript_note["id"])
    text = e2e.sandbox.attachment_content(att).decode()
    assert "customer: Where is my order?" in text and "agent: On its way." in text  # R-D4
    apply(e2e, event("csat.submitted", "chat-1", phone=None, identifier="app-user-7", channel="chat",
                     source="mobile_sdk", agent=None, data={"rating": 4, "comment": "quick"}))
    custom = conversation(e2e, conv_id)["attributes"]["custom"]
    assert custom["ccCsatRatingNum"] == 4 and custom["ccCsatCommentTxt"] == "quick"  # R-U9
    assert any(m["attributes"]["preview"] == "Rated 4/5: quick" for m in e2e.sandbox.messages(conv_id))


def test_r_u3_recording_attached_when_the_call_ends(e2e, file_server):
    started = apply(e2e, event("call.answered", "s-rec", agent=None, recording=True))
    apply(e2e, event("session.ended", "s-rec", agent=None, recording=True,
                     data={"duration_seconds": 75, "recording_url": f"{file_server}/rec/s-rec.mp3"}))
    msgs = e2e.sandbox.messages(started["kustomer"]["conversation_id"])
    ended = next(m for m in msgs if m["attributes"]["preview"].startswith("Call ended"))
    [att] = attachment_ids(ended)
    assert e2e.sandbox.attachment_content(att).startswith(b"ID3")


def test_r_u4_transfer_reassigns(e2e):
    a1 = add_agent(e2e, "agent1@example.com")
    a2 = add_agent(e2e, "agent2@example.com")
    answered = apply(e2e, event("call.answered", "s-800"))
    conv_id = answered["kustomer"]["conversation_id"]
    assert conversation(e2e, conv_id)["attributes"]["assignedUsers"] == [a1]
    apply(e2e, event("session.transferred", "s-800", data={"to_agent_email": "agent2@example.com"}))
    assert conversation(e2e, conv_id)["attributes"]["assignedUsers"] == [a2]
    # R-C3: the customer was created by this session: its assignment follows.
    assert customer(e2e, answered["kustomer"]["customer_id"])["attributes"]["custom"]["ccAssignedUserStr"] == a2


def test_r_u5_r_u6_callbacks_join_the_open_conversation(e2e):
    first = apply(e2e, event("call.answered", "s-900", agent=None))
    apply(e2e, event("session.ended", "s-900", agent=None, data={"duration_seconds": 6}))
    short = apply(e2e, event("callback.requested", "s-901", source="outbound", agent=None,
                             data={"reason": "short_call", "previous_session_id": "s-900"}))
    after = apply(e2e, event("callback.requested", "s-902", source="outbound", agent=None,
                             data={"reason": "after_call", "previous_session_id": "s-900"}))
    conv_id = first["kustomer"]["conversation_id"]
    assert short["kustomer"]["conversation_id"] == conv_id == after["kustomer"]["conversation_id"]
    previews = [m["attributes"]["preview"] for m in e2e.sandbox.messages(conv_id)]
    assert "Callback after a short call" in previews and "Callback after the call" in previews


def test_r_u7_smart_action_result_files_and_failure(e2e, file_server):
    answered = apply(e2e, event("call.answered", "s-1000", agent=None))
    conv_id = answered["kustomer"]["conversation_id"]
    apply(e2e, event("smart_action.completed", "s-1000", agent=None, data={
        "action": "verify_photo", "result": {"verified": True},
        "files": [{"name": "id-photo.jpg", "url": f"{file_server}/sa/id-photo.jpg", "content_type": "image/jpeg"}]}))
    apply(e2e, event("smart_action.failed", "s-1000", agent=None,
                     data={"action": "fingerprint", "error": "fingerprint access not enabled"}))
    bodies = {n["attributes"]["body"]: n["id"] for n in e2e.sandbox.notes(conv_id)}
    completed = next(b for b in bodies if "verify_photo completed" in b)
    assert '"verified": true' in completed
    [att] = note_attachment_ids(e2e, bodies[completed])
    assert e2e.sandbox.attachment_content(att).startswith(b"\xff\xd8")
    assert "SmartAction fingerprint failed: fingerprint access not enabled" in bodies


def test_r_u10_voicemail_read_and_closed(e2e, file_server):
    vm = apply(e2e, event("voicemail.received", "vm-1", agent=None,
                          data={"recording_url": f"{file_server}/vm/vm-1.wav"}))
    conv_id = vm["kustomer"]["conversation_id"]
    apply(e2e, event("voicemail.updated", "vm-1", data={"action": "read"}))
    apply(e2e, event("voicemail.updated", "vm-1", data={"action": "closed"}))
    conv = conversation(e2e, conv_id)
    assert conv["attributes"]["status"] == "done" and conv["attributes"]["custom"]["ccVoicemailStateStr"] == "closed"
    bodies = [n["attributes"]["body"] for n in e2e.sandbox.notes(conv_id)]
    assert "Voicemail read by agent1@example.com." in bodies and "Voicemail closed by agent1@example.com." in bodies


def test_r_x1_agent_resolved_from_agent_row_or_by_email_and_unknown_agent_skipped(e2e):
    """The agent row's Kustomer user id is used when known (no user lookup); otherwise
    the Kustomer user is found by email; an email Kustomer does not know leaves the
    conversation unassigned and the event still completes (the skip is recorded)."""
    from conversations.models import EventAction
    from statusmapping.models import Agent

    known = add_agent(e2e, "row.agent@example.com")
    Agent.objects.create(tenant=e2e.tenant, email="row.agent@example.com", kustomer_user_id=known)
    done = apply(e2e, event("call.answered", "s-x1", agent="row.agent@example.com"))
    assert conversation(e2e, done["kustomer"]["conversation_id"])["attributes"]["assignedUsers"] == [known]
    assert not e2e.sandbox.requests(method="GET", path_contains="/v1/users")  # no lookup needed
    unknown = apply(e2e, event("call.answered", "s-x2", phone="+14155550124", agent="ghost@example.com"))
    assert conversation(e2e, unknown["kustomer"]["conversation_id"])["attributes"]["assignedUsers"] == []
    skipped = EventAction.objects.get(event__event_id=unknown["id"], kind="assign_conversation")
    assert skipped.state == "skipped" and "ghost@example.com" in skipped.result["reason"]
