"""Call logging policies (SPEC §6) end to end: the policy set through the API, events
through the API, a worker, and what the Kustomer sandbox then holds."""
from __future__ import annotations

import pytest

from tests.conversations.e2e_helpers import add_agent, apply, conversation, event, state

pytestmark = pytest.mark.e2e
PHONE = "+14155550123"
CC = "+14155550100"


def set_policies(e2e, **body) -> dict:
    r = e2e.api.put(f"{e2e.url}/api/v1/call-logging-policies", json=body, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def plan(e2e, event_id: str) -> list[dict]:
    from conversations.models import EventAction

    return list(EventAction.objects.filter(event__event_id=event_id, event__tenant=e2e.tenant)
                .order_by("index").values("kind", "rule", "state"))


def test_r_p1_defaults_unchanged_abandoned_call_is_an_open_conversation(e2e):
    """No policies saved: an abandoned call is logged as in §4 (R-T4), open, nobody's."""
    result = apply(e2e, event("call.abandoned", "s-p100", agent=None, data={"wait_seconds": 42}))
    conv = conversation(e2e, result["kustomer"]["conversation_id"])
    assert conv["attributes"]["status"] == "open"
    assert conv["attributes"].get("assignedUsers") in (None, [])
    assert len(e2e.sandbox.customers()) == 1 and len(e2e.sandbox.conversations()) == 1


def test_r_p1_skipped_call_type_writes_nothing_others_still_logged(e2e):
    set_policies(e2e, logging={"abandoned": "skip"})
    skipped = event("call.abandoned", "s-p110", agent=None, data={"wait_seconds": 5})
    apply(e2e, skipped)
    assert e2e.sandbox.customers() == [] and e2e.sandbox.conversations() == []
    assert [(a["kind"], a["rule"], a["state"]) for a in plan(e2e, skipped["id"])] == [
        ("skip_event", "R-P1", "skipped")]
    answered = apply(e2e, event("call.answered", "s-p111", agent=None))
    assert len(e2e.sandbox.conversations()) == 1
    assert conversation(e2e, answered["kustomer"]["conversation_id"])["attributes"]["status"] == "open"


def test_r_p1_done_conversation_for_chats(e2e):
    set_policies(e2e, logging={"chat": "done"})
    started = apply(e2e, event("session.started", "s-p120", channel="chat", source="web_sdk", agent=None))
    conv_id = started["kustomer"]["conversation_id"]
    assert conversation(e2e, conv_id)["attributes"]["status"] == "done"
    # the chat's end (an inbound message would reopen it) leaves it done again
    apply(e2e, event("session.ended", "s-p120", channel="chat", source="web_sdk", agent=None,
                     data={"duration_seconds": 60}))
    assert conversation(e2e, conv_id)["attributes"]["status"] == "done"
    assert len(e2e.sandbox.messages(conv_id)) == 2  # both are on the timeline
    # an IVR call keeps the default: open
    call = apply(e2e, event("call.answered", "s-p121", agent=None))
    assert conversation(e2e, call["kustomer"]["conversation_id"])["attributes"]["status"] == "open"


def test_r_p2_unknown_number_with_creation_off_is_not_logged_known_one_is(e2e):
    set_policies(e2e, create_unknown_customers=False)
    unknown = event("call.answered", "s-p130", agent=None)
    apply(e2e, unknown)
    assert e2e.sandbox.customers() == [] and e2e.sandbox.conversations() == []
    assert state(e2e, unknown["id"])["kustomer"]["customer_id"] in ("", None)
    # A customer Kustomer already has (made there by someone else) is logged.
    known = e2e.sandbox.session().post(f"{e2e.sandbox.base_url}/v1/customers", json={
        "name": "Bob", "phones": [{"type": "mobile", "phone": "+14155550124"}]})
    assert known.status_code in (200, 201), known.text
    customer_id = known.json()["data"]["id"]
    result = apply(e2e, event("call.answered", "s-p131", phone="+14155550124", agent=None))
    assert result["kustomer"]["customer_id"] == customer_id
    assert len(e2e.sandbox.customers()) == 1 and len(e2e.sandbox.conversations()) == 1


def test_r_p2_connected_numbers_filter(e2e):
    set_policies(e2e, connected_numbers=["(415) 555-0100"])
    on_ours = event("call.answered", "s-p140", agent=None)
    on_ours["session"]["cc_number"] = "415-555-0100"
    elsewhere = event("call.answered", "s-p141", agent=None, phone="+14155550125")
    elsewhere["session"]["cc_number"] = "+14155550199"
    without = event("call.answered", "s-p142", agent=None, phone="+14155550126")
    result = apply(e2e, on_ours)
    apply(e2e, elsewhere)
    apply(e2e, without)
    assert [c["id"] for c in e2e.sandbox.conversations()] == [result["kustomer"]["conversation_id"]]
    assert [p["phone"] for c in e2e.sandbox.customers() for p in c["attributes"]["phones"]] == [PHONE]
    assert plan(e2e, elsewhere["id"])[0]["rule"] == "R-P2"


def test_r_p6_default_owner_gets_unowned_records_agents_keep_theirs(e2e):
    desk_id = add_agent(e2e, "desk@example.com", name="Front desk")
    agent_id = add_agent(e2e, "agent1@example.com")
    set_policies(e2e, default_owner_email="desk@example.com")
    abandoned = apply(e2e, event("call.abandoned", "s-p150", agent=None, data={"wait_seconds": 3}))
    assert conversation(e2e, abandoned["kustomer"]["conversation_id"])["attributes"]["assignedUsers"] == [desk_id]
    answered = apply(e2e, event("call.answered", "s-p151", menu="Sales"))
    assert conversation(e2e, answered["kustomer"]["conversation_id"])["attributes"]["assignedUsers"] == [agent_id]


def test_r_p3_readable_names_and_missed_call_reasons(e2e):
    set_policies(e2e, name_templates={"abandoned": "Missed call from {number} · {queue}"},
                 preview_templates={"abandoned": "{kind} ({reason}) after {duration}"}, short_abandon_seconds=10)
    short = apply(e2e, event("call.abandoned", "s-p160", agent=None, data={"wait_seconds": 3}))
    conv = conversation(e2e, short["kustomer"]["conversation_id"])
    assert conv["attributes"]["name"] == "Missed call from +1 415-555-0123 · Billing"
    [message] = e2e.sandbox.messages(conv["id"])
    assert message["attributes"]["preview"] == "Abandoned call (short abandon) after 3s"
    given = apply(e2e, event("call.abandoned", "s-p161", agent=None, phone="+14155550127",
                             data={"wait_seconds": 30, "reason": "no_agent_available"}))
    [message] = e2e.sandbox.messages(given["kustomer"]["conversation_id"])
    assert message["attributes"]["preview"] == "Abandoned call (no agent available) after 30s"
    # kinds without a template keep §4's wording
    call = apply(e2e, event("call.answered", "s-p162", agent=None, phone="+14155550128"))
    assert conversation(e2e, call["kustomer"]["conversation_id"])["attributes"]["name"] == \
        "Call with Ann Lee (Billing > Refunds)"


def test_r_p4_reopen_window_reopens_the_closed_conversation_once(e2e):
    set_policies(e2e, reopen_days=3)
    first = apply(e2e, event("call.answered", "s-p170", agent=None))
    conv_id = first["kustomer"]["conversation_id"]
    r = e2e.sandbox.session().post(
        f"{e2e.sandbox.base_url}/__sandbox/orgs/{e2e.sandbox.org_id}/conversations/{conv_id}/close", json={})
    assert r.status_code == 200, r.text
    body = event("call.answered", "s-p171", agent=None)
    second = apply(e2e, body)
    assert second["kustomer"]["conversation_id"] == conv_id  # joined, not a new one
    assert conversation(e2e, conv_id)["attributes"]["status"] == "open"
    assert len(e2e.sandbox.conversations()) == 1
    assert len(e2e.sandbox.messages(conv_id)) == 2
    # the same event again changes nothing (exactly once)
    assert e2e.post("/api/v1/events", body).status_code == 200
    assert len(e2e.sandbox.conversations()) == 1 and len(e2e.sandbox.messages(conv_id)) == 2
    # with the window off, the next call after a close opens a new conversation (§4)
    set_policies(e2e, reopen_days=0)
    e2e.sandbox.session().post(
        f"{e2e.sandbox.base_url}/__sandbox/orgs/{e2e.sandbox.org_id}/conversations/{conv_id}/close", json={})
    third = apply(e2e, event("call.answered", "s-p172", agent=None))
    assert third["kustomer"]["conversation_id"] != conv_id


def test_r_p5_delayed_record_made_when_connected_and_unanswered_call_is_abandoned(e2e):
    set_policies(e2e, delay_call_until_connected=True)
    apply(e2e, event("session.started", "s-p180", source="mobile_sdk", agent=None))
    assert e2e.sandbox.customers() == [] and e2e.sandbox.conversations() == []  # nothing before an agent
    answered = apply(e2e, event("call.answered", "s-p180", source="mobile_sdk", agent=None))
    assert [c["id"] for c in e2e.sandbox.conversations()] == [answered["kustomer"]["conversation_id"]]
    # another call ends before an agent is connected: logged as an abandoned call, once
    apply(e2e, event("session.started", "s-p181", source="mobile_sdk", agent=None, phone="+14155550129"))
    ended = event("session.ended", "s-p181", source="mobile_sdk", agent=None, phone="+14155550129",
                  data={"wait_seconds": 20, "duration_seconds": 20})
    result = apply(e2e, ended)
    assert e2e.post("/api/v1/events", ended).status_code == 200  # again: nothing new
    conv_id = result["kustomer"]["conversation_id"]
    assert len(e2e.sandbox.conversations()) == 2
    [message] = e2e.sandbox.messages(conv_id)
    assert message["attributes"]["preview"].startswith("Abandoned call")


def test_r_p4_outside_the_window_a_new_conversation(e2e):
    from datetime import datetime, timedelta, timezone

    set_policies(e2e, reopen_days=2)
    first = apply(e2e, event("call.answered", "s-p190", agent=None))
    conv_id = first["kustomer"]["conversation_id"]
    r = e2e.sandbox.session().post(
        f"{e2e.sandbox.base_url}/__sandbox/orgs/{e2e.sandbox.org_id}/conversations/{conv_id}/close", json={})
    assert r.status_code == 200, r.text
    later = datetime.now(timezone.utc) + timedelta(days=3)  # the next call comes 3 days after the close
    second = apply(e2e, event("call.answered", "s-p191", agent=None, at=later))
    assert second["kustomer"]["conversation_id"] != conv_id
    assert conversation(e2e, conv_id)["attributes"]["status"] == "done"  # not reopened
    inside = apply(e2e, event("call.answered", "s-p192", agent=None, at=later + timedelta(hours=1)))
    assert inside["kustomer"]["conversation_id"] == second["kustomer"]["conversation_id"]  # R-U1: the open one


def chat(type_: str, session: str, count: int | None, **kw) -> dict:
    body = event(type_, session, channel="chat", source="web_sdk", **kw)
    if count is not None:
        body["session"]["end_user_message_count"] = count
    return body


def test_r_p5_chat_record_made_at_the_nth_end_user_message_and_short_chat_is_abandoned(e2e):
    """R-P5 for chats, against the sandbox: nothing in Kustomer (no customer either)
    until the end user has sent 2 messages; the event that says so makes the record,
    assigned to its agent; a chat that ends before that is one abandoned record; every
    event sent twice writes nothing twice."""
    agent_id = add_agent(e2e, "agent1@example.com")
    set_policies(e2e, delay_chat_until_messages=2)
    for body in (chat("session.started", "s-p200", 0, agent=None), chat("call.answered", "s-p200", 1)):
        apply(e2e, body)
        assert plan(e2e, body["id"])[0]["rule"] == "R-P5"
    assert e2e.sandbox.customers() == [] and e2e.sandbox.conversations() == []
    reached = chat("custom_data.received", "s-p200", 2, data={"custom_data": {"orderId": "A-17"}})
    conv_id = apply(e2e, reached)["kustomer"]["conversation_id"]
    assert e2e.post("/api/v1/events", reached).status_code == 200  # a second delivery: nothing new
    conv = conversation(e2e, conv_id)
    assert conv["attributes"]["assignedUsers"] == [agent_id]
    assert [m["attributes"]["preview"] for m in e2e.sandbox.messages(conv_id)] == ["Custom data received: orderId"]
    apply(e2e, chat("session.ended", "s-p200", 4, data={"duration_seconds": 90}))
    assert len(e2e.sandbox.conversations()) == 1 and len(e2e.sandbox.messages(conv_id)) == 2
    # a chat that ends after one message of the end user: the abandoned-call policy, once
    other = "+14155550131"
    apply(e2e, chat("session.started", "s-p201", 0, agent=None, phone=other))
    ended = chat("session.ended", "s-p201", 1, agent=None, phone=other,
                 data={"wait_seconds": 15, "duration_seconds": 30})
    abandoned = apply(e2e, ended)["kustomer"]["conversation_id"]
    assert e2e.post("/api/v1/events", ended).status_code == 200
    assert len(e2e.sandbox.conversations()) == 2 and len(e2e.sandbox.customers()) == 2
    [message] = e2e.sandbox.messages(abandoned)
    assert message["attributes"]["preview"] == "Abandoned chat after 15s waiting"
    assert plan(e2e, ended["id"])[1]["rule"] == "R-P5"


def test_r_p5_chat_whose_abandoned_kind_is_skipped_leaves_nothing(e2e):
    set_policies(e2e, delay_chat_until_messages=3, logging={"abandoned": "skip"})
    apply(e2e, chat("session.started", "s-p210", 0, agent=None))
    ended = chat("session.ended", "s-p210", 2, agent=None, data={"duration_seconds": 30})
    apply(e2e, ended)
    assert e2e.sandbox.customers() == [] and e2e.sandbox.conversations() == []
    assert [(a["kind"], a["rule"]) for a in plan(e2e, ended["id"])] == [("skip_event", "R-P1")]


def test_r_p6_default_team_checked_on_save_and_given_unowned_records_at_create(e2e):
    """R-P6 to a team: the team is looked up in the org on save (by name or id, 400
    naming the field when the org has none such), and a record no agent owns is created
    with it (assignedTeams, one request); a record an agent owns is not; a team removed
    from the org since never fails an event."""
    from kustomer_sandbox.store import add_team

    agent_id = add_agent(e2e, "agent1@example.com")
    with e2e.sandbox.server.state.lock:
        team = add_team(e2e.sandbox.org, name="Front desk", member_ids=[agent_id])
    saved = set_policies(e2e, default_owner_team_id="front desk")
    assert (saved["default_owner_team_id"], saved["default_owner_team_name"]) == (team["id"], "Front desk")
    bad = e2e.api.put(f"{e2e.url}/api/v1/call-logging-policies", json={"default_owner_team_id": "Night shift"},
                      timeout=10)
    assert bad.status_code == 400 and "default_owner_team_id" in bad.json()["errors"], bad.text
    assert "Front desk" in bad.json()["errors"]["default_owner_team_id"][0]  # the org's teams are named
    assert e2e.api.get(f"{e2e.url}/api/v1/call-logging-policies").json()["default_owner_team_id"] == team["id"]

    abandoned = event("call.abandoned", "s-p220", agent=None, data={"wait_seconds": 4})
    conv_id = apply(e2e, abandoned)["kustomer"]["conversation_id"]
    assert conversation(e2e, conv_id)["attributes"]["assignedTeams"] == [team["id"]]
    assert ("assign_team", "R-P6", "done") in [(a["kind"], a["rule"], a["state"]) for a in plan(e2e, abandoned["id"])]
    answered = apply(e2e, event("call.answered", "s-p221", menu="Sales"))
    owned = conversation(e2e, answered["kustomer"]["conversation_id"])["attributes"]
    assert owned["assignedUsers"] == [agent_id] and owned["assignedTeams"] == []

    with e2e.sandbox.server.state.lock:
        del e2e.sandbox.org.teams[team["id"]]
    later = event("call.abandoned", "s-p222", agent=None, phone="+14155550132", data={"wait_seconds": 4})
    made = apply(e2e, later)["kustomer"]["conversation_id"]
    assert conversation(e2e, made)["attributes"]["assignedTeams"] == []
    assert [a["state"] for a in plan(e2e, later["id"]) if a["kind"] == "assign_team"] == ["skipped"]
    assert len(e2e.sandbox.conversations()) == 3


def test_simulate_traffic_sets_varied_policies_and_a_day_of_unknown_numbers_writes_nothing(e2e, monkeypatch):
    """`simulate_traffic --policies varied` sets the preset through the API (the default
    owner by email) and sends its day; every number is new to Kustomer and creating
    customers is off (R-P2), so every event ends done and Kustomer holds nothing."""
    import io

    from django.core.management import call_command

    from conversations.selectors import call_logging_policies_read

    for i in range(1, 3):
        add_agent(e2e, f"agent{i}@example.com")
    monkeypatch.setenv("PORTAL_API_KEY", e2e.api_key)
    out = io.StringIO()
    call_command("simulate_traffic", "--url", e2e.url, "--agents", "2", "--events", "30", "--rate", "0",
                 "--seed", "5", "--no-files", "--no-status", "--policies", "varied", "--wait", "180", stdout=out)
    text = out.getvalue()
    assert "Call logging policies (varied)" in text and "OK:" in text, text
    policies = call_logging_policies_read(tenant=e2e.tenant)
    assert policies.create_unknown_customers is False and policies.delay_chat_until_messages == 2
    assert policies.delay_call_until_connected and policies.reopen_days == 7
    assert policies.log_as("voicemail") == "skip" and policies.default_owner_email == "agent1@example.com"
    assert e2e.sandbox.customers() == [] and e2e.sandbox.conversations() == []
