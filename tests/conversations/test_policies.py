"""Call logging policies (SPEC §6, R-P1, R-P2, R-P6): the pure decisions with each
policy as an input, the API (`GET|PUT /api/v1/call-logging-policies`) and the page."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from conversations import rules
from conversations.rules import (
    AssignConversation,
    CreateConversation,
    EnsureCustomer,
    EventFacts,
    Policies,
    Situation,
    SkipEvent,
    UpdateConversation,
    decide_conversation,
    decide_customer,
)

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
PHONE = "+14155550123"
CC = "+14155550100"


def ev(type_: str, *, channel="voice", source="ivr", agent="agent1@example.com", data=None, cc_number=CC) -> EventFacts:
    return EventFacts(event_id=f"e-{type_}", type=type_, occurred_at=T0, session_id="s-1", channel=channel,
                      source=source, menu="Billing", phone=PHONE, agent_email=agent, data=data or {},
                      language="en", cc_number=cc_number)


# ------------------------------------------------------------------ pure decisions
@pytest.mark.parametrize("event, kind", [
    (ev("call.answered"), "ivr_answered"),
    (ev("call.abandoned", agent=None), "abandoned"),
    (ev("call.outbound_started", source="outbound"), "outbound_answered"),
    (ev("session.ended", source="outbound", data={"answered": False}), "outbound_not_answered"),
    (ev("voicemail.received", agent=None), "voicemail"),
    (ev("session.started", channel="chat", source="web_sdk"), "chat"),
    (ev("session.started", source="mobile_sdk"), "mobile_sdk_call"),
])
def test_r_p1_session_kinds(event, kind):
    assert rules.logging_kind(event) == kind


def test_defaults_reproduce_section_4():
    for type_ in ("call.answered", "call.abandoned", "voicemail.received", "session.ended"):
        event = ev(type_)
        assert decide_customer(event, None, Policies()) == decide_customer(event, None)
        assert decide_conversation(event, Situation(), Policies()) == decide_conversation(event, Situation())


def test_r_p1_skipped_kind_writes_nothing():
    policies = Policies(logging={"abandoned": "skip"})
    first = decide_customer(ev("call.abandoned", agent=None), None, policies)
    assert isinstance(first, SkipEvent) and first.rule == "R-P1"
    assert decide_conversation(ev("call.abandoned", agent=None), Situation(), policies) == []
    # other kinds are untouched
    assert isinstance(decide_customer(ev("call.answered"), None, policies), EnsureCustomer)


def test_r_p1_done_kind_leaves_the_conversation_done():
    policies = Policies(logging={"voicemail": "done"})
    actions = decide_conversation(ev("voicemail.received", agent=None), Situation(), policies)
    assert isinstance(actions[0], CreateConversation)
    assert actions[-1] == UpdateConversation(rule="R-P1", status="done")
    # a session of the kind still running (joined, not closing) is not closed
    joined = decide_conversation(ev("custom_data.received", source="mobile_sdk"), Situation(session_conversation="7"),
                                 Policies(logging={"mobile_sdk_call": "done"}))
    assert not any(isinstance(a, UpdateConversation) and a.status == "done" for a in joined)


def test_r_p2_unknown_numbers_not_created_when_off():
    first = decide_customer(ev("call.answered"), None, Policies(create_unknown_customers=False))
    assert isinstance(first, EnsureCustomer) and first.create is False and first.rule == "R-P2"
    assert decide_conversation(ev("call.answered"), Situation(customer_unknown=True),
                               Policies(create_unknown_customers=False)) == []


def test_r_p2_connected_numbers_filter():
    policies = Policies(connected_numbers=("+14155550100",))
    assert isinstance(decide_customer(ev("call.answered"), None, policies), EnsureCustomer)
    other = ev("call.answered", cc_number="+14155550199")
    assert decide_customer(other, None, policies).rule == "R-P2"
    assert decide_conversation(other, Situation(), policies) == []
    assert decide_conversation(ev("call.answered", cc_number=None), Situation(), policies) == []


def test_r_p6_default_owner_only_when_no_agent_owns_it():
    policies = Policies(default_owner_email="desk@example.com")
    abandoned = decide_conversation(ev("call.abandoned", agent=None), Situation(), policies)
    assert abandoned[1] == AssignConversation(rule="R-P6", agent_email="desk@example.com")
    answered = decide_conversation(ev("call.answered"), Situation(), policies)
    assert [a.agent_email for a in answered if isinstance(a, AssignConversation)] == ["agent1@example.com"]
    joined = decide_conversation(ev("call.abandoned", agent=None), Situation(session_conversation="3"), policies)
    assert not any(isinstance(a, AssignConversation) for a in joined)


# ------------------------------------------------------------------ API and page
URL = "/api/v1/call-logging-policies"


@pytest.mark.django_db
def test_api_defaults_put_and_errors_naming_the_field(api, tenant):
    got = api.get(URL).json()
    assert got == {"logging": {k: "open" for k in rules.SESSION_KINDS}, "create_unknown_customers": True,
                   "connected_numbers": [], "default_owner_email": "", "default_owner_team_id": "",
                   "default_owner_team_name": "",
                   "name_templates": {k: "" for k in rules.SESSION_KINDS},
                   "preview_templates": {k: "" for k in rules.SESSION_KINDS},
                   "number_format": "international", "short_abandon_seconds": 0, "reopen_days": 0,
                   "delay_call_until_connected": False, "delay_chat_until_messages": 0}
    r = api.put(URL, {"logging": {"abandoned": "skip", "voicemail": "done"}, "create_unknown_customers": False,
                      "connected_numbers": ["(415) 555-0100"], "default_owner_email": "desk@example.com"},
                format="json")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["logging"]["abandoned"] == "skip" and body["logging"]["voicemail"] == "done"
    assert body["logging"]["chat"] == "open"
    assert body["connected_numbers"] == ["+14155550100"] and body["create_unknown_customers"] is False
    assert api.get(URL).json() == body
    # a PUT changes only what it gives
    assert api.put(URL, {"logging": {"chat": "done"}}, format="json").json()["logging"]["abandoned"] == "skip"
    bad = api.put(URL, {"logging": {"chat": "maybe"}}, format="json")
    assert bad.status_code == 400 and "logging.chat" in bad.json()["errors"]
    bad = api.put(URL, {"logging": {"fax": "open"}}, format="json")
    assert bad.status_code == 400 and "logging.fax" in bad.json()["errors"]
    bad = api.put(URL, {"connected_numbers": ["12"]}, format="json")
    assert bad.status_code == 400 and "connected_numbers" in bad.json()["errors"]
    bad = api.put(URL, {"default_owner_email": "nobody"}, format="json")
    assert bad.status_code == 400 and "default_owner_email" in bad.json()["errors"]
    bad = api.put(URL, {"colour": "red"}, format="json")
    assert bad.status_code == 400 and "colour" in bad.json()["errors"]
    assert api.get(URL).json()["logging"]["chat"] == "done"  # the refused PUTs changed nothing


@pytest.mark.django_db
def test_openapi_schema_has_the_policies_endpoint_and_cc_number(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi").content.decode()
    assert "/api/v1/call-logging-policies" in schema and "call_logging_policies_put" in schema
    assert "cc_number" in schema
    assert "end_user_message_count" in schema and "delay_chat_until_messages" in schema  # R-P5 for chats
    assert "default_owner_team_id" in schema and "default_owner_team_name" in schema  # R-P6 to a team


@pytest.mark.django_db
def test_page_shows_and_saves_the_policies(admin_client, tenant):
    page = admin_client.get("/settings/call-logging-policies/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Settings › Developer settings › Call logging policies" in html
    assert "Mobile SDK call" in html and "Do not log" in html
    form = {f"log_{k}": "open" for k in rules.SESSION_KINDS}
    form.update(log_abandoned="skip", connected_numbers="415 555 0100\n", default_owner_email="desk@example.com")
    saved = admin_client.post("/settings/call-logging-policies/", form)
    assert saved.status_code == 302
    from conversations.selectors import call_logging_policies_read
    policies = call_logging_policies_read(tenant=tenant)
    assert policies.log_as("abandoned") == "skip" and policies.create_unknown_customers is False  # unticked
    assert policies.connected_numbers == ("+14155550100",)
    assert policies.default_owner_email == "desk@example.com"
    form["connected_numbers"] = "not a number"
    refused = admin_client.post("/settings/call-logging-policies/", form)
    assert refused.status_code == 400
    assert 'data-testid="error-connected_numbers"' in refused.content.decode()


# ------------------------------------------------------------------ R-P3 readable records
def test_r_p3_templates_name_and_preview_with_the_number_in_display_format():
    policies = Policies(name_templates={"abandoned": "Missed call from {number} · {queue}"},
                        preview_templates={"abandoned": "{kind}: {reason} after {duration}"},
                        short_abandon_seconds=10)
    event = EventFacts(event_id="e-1", type="call.abandoned", occurred_at=T0, session_id="s-1", channel="voice",
                       source="ivr", menu="Billing", queue="Billing", phone=PHONE, data={"wait_seconds": 4})
    actions = decide_conversation(event, Situation(), policies)
    assert actions[0].name == "Missed call from +1 415-555-0123 · Billing"
    message = next(a for a in actions if isinstance(a, rules.AddMessage))
    assert message.preview == "Abandoned call: short abandon after 4s"
    national = Policies(name_templates={"abandoned": "{number}"}, number_format="national")
    assert decide_conversation(event, Situation(), national)[0].name == "(415) 555-0123"


def test_r_p3_missed_call_reason_from_the_event_else_short_abandon():
    policies = Policies(short_abandon_seconds=10)
    given = ev("call.abandoned", agent=None, data={"wait_seconds": 4, "reason": "out_of_hours"})
    assert rules.missed_reason(given, policies) == "out_of_hours"
    preview = next(a for a in decide_conversation(given, Situation(), policies) if isinstance(a, rules.AddMessage))
    assert preview.preview == "Abandoned call after 4s waiting · out of hours"
    assert rules.missed_reason(ev("call.abandoned", agent=None, data={"wait_seconds": 4}), policies) == "short_abandon"
    assert rules.missed_reason(ev("call.abandoned", agent=None, data={"wait_seconds": 40}), policies) is None
    assert rules.missed_reason(ev("call.abandoned", agent=None, data={"wait_seconds": 4}), Policies()) is None


def test_r_p3_template_validation():
    assert rules.template_errors("Missed call from {number} · {menu}") == []
    assert rules.template_errors("{nope}") and rules.template_errors("{number!r}")
    assert rules.template_errors("{number:>10}") and rules.template_errors("{") and rules.template_errors("x" * 201)


@pytest.mark.django_db
def test_r_p3_api_templates_validated_on_save(api, tenant):
    r = api.put(URL, {"name_templates": {"abandoned": "Missed call from {number}"}, "short_abandon_seconds": 10,
                      "number_format": "national", "preview_templates": {"chat": "Chat on {queue}"}}, format="json")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["name_templates"]["abandoned"] == "Missed call from {number}" and body["name_templates"]["chat"] == ""
    assert body["preview_templates"]["chat"] == "Chat on {queue}"
    assert body["number_format"] == "national" and body["short_abandon_seconds"] == 10
    bad = api.put(URL, {"name_templates": {"abandoned": "Call {caller}"}}, format="json")
    assert bad.status_code == 400 and "name_templates.abandoned" in bad.json()["errors"]
    bad = api.put(URL, {"number_format": "roman"}, format="json")
    assert bad.status_code == 400 and "number_format" in bad.json()["errors"]
    assert api.get(URL).json()["name_templates"]["abandoned"] == "Missed call from {number}"


@pytest.mark.django_db
def test_r_p3_page_shows_template_errors_and_the_live_preview_samples(admin_client, tenant):
    form = {f"log_{k}": "open" for k in rules.SESSION_KINDS}
    form.update(number_format="international", short_abandon_seconds="0", name_abandoned="Call {caller}")
    refused = admin_client.post("/settings/call-logging-policies/", form)
    assert refused.status_code == 400
    html = refused.content.decode()
    assert 'data-testid="error-name_abandoned"' in html and "{caller}" in html
    assert 'id="template-samples"' in html and "+1 415-555-0123" in html


# ------------------------------------------------------------------ R-P4 reopen window
def test_r_p4_reopen_window_inside_and_outside():
    from datetime import timedelta

    from conversations.rules import AddNote, ConversationFacts, JoinConversation

    def closed(days_ago: float) -> Situation:
        return Situation(conversations=(ConversationFacts(
            ref="9", status="done", created_at=T0 - timedelta(days=10), kind="call", channel="voice", menu="Billing",
            source="ivr", status_changed_at=T0 - timedelta(days=days_ago)),))

    event = ev("call.answered")
    inside = decide_conversation(event, closed(2), Policies(reopen_days=3))
    assert inside[0] == JoinConversation(rule="R-P4", session_id="s-1", conversation_ref="9")
    assert inside[1] == UpdateConversation(rule="R-P4", status="open")
    assert not any(isinstance(a, AddNote) and a.rule == "R-D2" for a in inside)
    assert isinstance(decide_conversation(event, closed(4), Policies(reopen_days=3))[0], CreateConversation)
    assert isinstance(decide_conversation(event, closed(2), Policies())[0], CreateConversation)  # 0 = off
    other_menu = ev("call.answered")
    other_menu = EventFacts(**{**other_menu.__dict__, "menu": "Sales"})
    assert isinstance(decide_conversation(other_menu, closed(1), Policies(reopen_days=3))[0], CreateConversation)


@pytest.mark.django_db
def test_r_p4_api_reopen_days(api, tenant):
    assert api.put(URL, {"reopen_days": 7}, format="json").json()["reopen_days"] == 7
    bad = api.put(URL, {"reopen_days": 400}, format="json")
    assert bad.status_code == 400 and "reopen_days" in bad.json()["errors"]


# ------------------------------------------------------------------ R-P5 delayed record
def test_r_p5_call_record_waits_for_an_agent():
    policies = Policies(delay_call_until_connected=True)
    started = ev("session.started", source="mobile_sdk")
    assert decide_customer(started, None, policies) == SkipEvent(rule="R-P5", reason=(
        "the call's record waits until an agent is connected"))
    assert decide_conversation(started, Situation(), policies) == []
    answered = decide_conversation(ev("call.answered", source="mobile_sdk"), Situation(), policies)
    assert isinstance(answered[0], CreateConversation) and answered[0].rule == "R-T2"
    # ended before an agent: the abandoned-call policy
    ended = ev("session.ended", source="mobile_sdk", agent=None, data={"wait_seconds": 9})
    actions = decide_conversation(ended, Situation(), policies)
    assert isinstance(actions[0], CreateConversation) and actions[0].rule == "R-P5"
    assert any(isinstance(a, rules.AddMessage) and a.preview.startswith("Abandoned call") for a in actions)
    skip = Policies(delay_call_until_connected=True, logging={"abandoned": "skip"})
    assert decide_conversation(ended, Situation(), skip) == []
    assert isinstance(decide_customer(ended, None, skip), SkipEvent)
    # a call already answered ends normally
    assert isinstance(decide_conversation(ended, Situation(session_conversation="4"), skip)[0], rules.AddMessage)
    assert decide_customer(ended, rules.KnownCustomer(kustomer_customer_id="c1"), skip) is None
    # chats and outbound calls are not delayed
    assert decide_conversation(ev("session.started", channel="chat", source="web_sdk"), Situation(), policies)


def chat_ev(type_: str, count: int | None, *, agent="agent1@example.com", data=None) -> EventFacts:
    return EventFacts(event_id=f"e-{type_}-{count}", type=type_, occurred_at=T0, session_id="s-chat", channel="chat",
                      source="web_sdk", menu="Billing", phone=PHONE, agent_email=agent, data=data or {},
                      language="en", cc_number=CC, end_user_message_count=count)


def test_r_p5_chat_record_waits_for_the_end_users_messages():
    """R-P5 for chats: nothing is written until the end user has sent N messages; the
    event that reaches N makes the record, assigned to the agent it names."""
    policies = Policies(delay_chat_until_messages=2)
    reason = "the chat's record waits until the end user has sent 2 messages"
    for type_, count in (("session.started", 0), ("call.answered", 1), ("custom_data.received", None)):
        event = chat_ev(type_, count)
        assert decide_customer(event, None, policies) == SkipEvent(rule="R-P5", reason=reason)
        assert decide_conversation(event, Situation(), policies) == []
    # a known customer's chat: the start is skipped too, later events write nothing
    known = rules.KnownCustomer(kustomer_customer_id="c1")
    assert decide_customer(chat_ev("session.started", 1), known, policies) == SkipEvent(rule="R-P5", reason=reason)
    assert decide_customer(chat_ev("call.answered", 1), known, policies) is None
    # the second message: the record starts here, with the agent the event names
    reached = chat_ev("custom_data.received", 2, data={"custom_data": {"orderId": "A-1"}})
    assert isinstance(decide_customer(reached, None, policies), EnsureCustomer)
    actions = decide_conversation(reached, Situation(), policies)
    assert isinstance(actions[0], CreateConversation) and actions[0].conversation_kind == "chat"
    assert AssignConversation(rule="R-P5", agent_email="agent1@example.com") in actions
    assert any(isinstance(a, rules.AddMessage) and a.preview.startswith("Custom data received") for a in actions)
    # the answer reaching the count assigns by R-X1 as usual (no second assignment)
    answered = decide_conversation(chat_ev("call.answered", 3), Situation(), policies)
    assert [a.rule for a in answered if isinstance(a, AssignConversation)] == ["R-X1"]
    # once placed, events without a count apply as usual
    later = decide_conversation(chat_ev("csat.submitted", None, data={"rating": 5}), Situation(session_conversation="7"),
                                policies)
    assert [a.rule for a in later] == ["R-U9", "R-U9"]
    # off (0): nothing waits, §4 unchanged
    assert decide_conversation(chat_ev("session.started", 0), Situation(), Policies()) == \
        decide_conversation(chat_ev("session.started", 0), Situation())


def test_r_p5_chat_that_ends_before_n_messages_follows_the_abandoned_call_policy():
    policies = Policies(delay_chat_until_messages=3, default_owner_email="desk@example.com")
    ended = chat_ev("session.ended", 1, data={"wait_seconds": 12, "duration_seconds": 40,
                                               "transcript": [{"from": "Ann", "text": "hi"}]})
    assert isinstance(decide_customer(ended, None, policies), EnsureCustomer)
    actions = decide_conversation(ended, Situation(), policies)
    assert isinstance(actions[0], CreateConversation) and actions[0].rule == "R-P5"
    assert actions[0].conversation_kind == "chat" and actions[0].channel == "chat"
    [message] = [a for a in actions if isinstance(a, rules.AddMessage)]
    assert message.preview == "Abandoned chat after 12s waiting" and message.rule == "R-P5"
    assert AssignConversation(rule="R-P6", agent_email="desk@example.com") in actions  # nobody's record
    # the abandoned kind's policy decides: skipped, or done
    skip = Policies(delay_chat_until_messages=3, logging={"abandoned": "skip", "chat": "open"})
    assert isinstance(decide_customer(ended, None, skip), SkipEvent)
    assert decide_conversation(ended, Situation(), skip) == []
    done = Policies(delay_chat_until_messages=3, logging={"abandoned": "done"})
    assert decide_conversation(ended, Situation(), done)[-1] == UpdateConversation(rule="R-P1", status="done")
    # a chat that reached the count ends as usual
    placed = decide_conversation(chat_ev("session.ended", 5), Situation(session_conversation="7"), policies)
    assert placed[0].rule == "R-F3" and placed[0].preview.startswith("Chat ended")


def test_r_p5_api_delay_chat_until_messages(api, tenant):
    assert api.get(URL).json()["delay_chat_until_messages"] == 0
    assert api.put(URL, {"delay_chat_until_messages": 3}, format="json").json()["delay_chat_until_messages"] == 3
    bad = api.put(URL, {"delay_chat_until_messages": 101}, format="json")
    assert bad.status_code == 400 and "delay_chat_until_messages" in bad.json()["errors"]
    assert api.get(URL).json()["delay_chat_until_messages"] == 3  # nothing half-written


# ------------------------------------------------------------------ R-P6 default team
def test_r_p6_default_team_for_records_no_agent_owns():
    policies = Policies(default_owner_team_id="t1", default_owner_email="desk@example.com")
    abandoned = decide_conversation(ev("call.abandoned", agent=None), Situation(), policies)
    assert abandoned[1:3] == [AssignConversation(rule="R-P6", agent_email="desk@example.com"),
                              rules.AssignTeam(rule="R-P6", team_id="t1")]
    team_only = decide_conversation(ev("call.abandoned", agent=None), Situation(), Policies(default_owner_team_id="t1"))
    assert team_only[1] == rules.AssignTeam(rule="R-P6", team_id="t1")
    answered = decide_conversation(ev("call.answered"), Situation(), policies)
    assert not any(isinstance(a, rules.AssignTeam) for a in answered)  # an agent owns it
    joined = decide_conversation(ev("call.abandoned", agent=None), Situation(session_conversation="3"), policies)
    assert not any(isinstance(a, rules.AssignTeam) for a in joined)  # only records made now
    assert rules.action_from_params("assign_team", "R-P6", {"team_id": "t1"}) == rules.AssignTeam(rule="R-P6",
                                                                                                  team_id="t1")


def test_r_p6_api_team_needs_the_kustomer_connection(api, tenant):
    bad = api.put(URL, {"default_owner_team_id": "Front desk"}, format="json")
    assert bad.status_code == 400 and "Connect Kustomer first" in bad.json()["errors"]["default_owner_team_id"][0]
    cleared = api.put(URL, {"default_owner_team_id": ""}, format="json")
    assert cleared.status_code == 200 and cleared.json()["default_owner_team_id"] == ""
