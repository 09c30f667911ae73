"""The soak's expectation for a tenant with call logging policies (bench/policy_oracle.py):
derived from the events and the policies alone, it says which events write a message,
which files are attached, which sessions are not logged, which records are abandoned
or nobody's, so the judge fails when the product breaks R-P1, R-P2, R-P5 or R-P6. And
the simulator's day for such a tenant (loadtest/policy_day.py) holds those sessions."""
from __future__ import annotations

from datetime import datetime, timezone

from bench.fault_check import MESSAGE_TYPES
from bench.policy_oracle import expect
from loadtest.policy_day import POLICY_SCENARIO_WEIGHTS, policy_preset
from loadtest.traffic import generate_day

VARIED = policy_preset("varied", default_owner_email="desk@example.com")
KNOWN = "+14155550100"


def ev(event_id, type_, session, *, channel="voice", source="ivr", agent=None, phone=KNOWN, count=None, data=None):
    body = {"id": event_id, "type": type_, "session": {"id": session, "channel": channel, "source": source,
                                                        "menu": "Billing"},
            "end_user": {"phone": phone}, "agent": {"email": agent} if agent else None, "data": data or {}}
    if count is not None:
        body["session"]["end_user_message_count"] = count
    return body


def run(bodies, policies=VARIED):
    return expect(bodies, policies, known=lambda key: key == KNOWN, key_of=lambda user: user.get("phone"),
                  message_types=MESSAGE_TYPES)


def test_r_p5_delayed_records_and_the_abandoned_session():
    out = run([
        ev("m1", "session.started", "s-app", source="mobile_sdk"),
        ev("m2", "call.answered", "s-app", source="mobile_sdk", agent="a@x.com"),
        ev("m3", "session.ended", "s-app", source="mobile_sdk", agent="a@x.com"),
        ev("c1", "session.started", "s-chat", channel="chat", source="web_sdk", count=0),
        ev("c2", "custom_data.received", "s-chat", channel="chat", source="web_sdk", agent="a@x.com", count=2),
        ev("l1", "session.started", "s-left", channel="chat", source="web_sdk", count=0),
        ev("l2", "session.ended", "s-left", channel="chat", source="web_sdk", count=1),
    ])
    assert out.messages["m1"] == 0 and out.messages["m3"] == 1  # the call waits for its agent
    assert out.sessions["s-app"].placed_by == "m2" and not out.sessions["s-app"].unowned
    assert out.messages["c1"] == 0 and out.messages["c2"] == 1 and not out.sessions["s-chat"].unowned
    left = out.sessions["s-left"]
    assert left.abandoned and left.unowned and left.kind == "abandoned" and out.messages["l2"] == 1


def test_r_p1_r_p2_sessions_not_logged_write_nothing_and_fetch_no_file():
    url = "http://files.example/voicemail/v.wav"
    out = run([
        ev("v1", "voicemail.received", "s-vm", data={"recording_url": url, "duration_seconds": 5}),
        ev("u1", "call.abandoned", "s-unknown", phone="+14155550199", data={"wait_seconds": 3}),
        ev("a1", "call.abandoned", "s-known", data={"wait_seconds": 3}),
    ])
    assert out.messages["v1"] == 0 and out.files[url] == 0 and out.sessions["s-vm"].why_not == "kind skipped"
    assert out.messages["u1"] == 0 and out.sessions["s-unknown"].why_not == "customer unknown"
    assert out.messages["a1"] == 1 and out.sessions["s-known"].unowned  # R-P6: nobody's record
    default = run([ev("u1", "call.abandoned", "s-unknown", phone="+14155550199")], policy_preset("default"))
    assert default.messages["u1"] == 1  # the defaults log every number


def test_the_policy_day_holds_the_sessions_the_policies_are_about():
    plan = generate_day(agents=["a@example.com"], events=400, seed=3, start=datetime(2026, 1, 1, tzinfo=timezone.utc),
                        run_id="t", weights=POLICY_SCENARIO_WEIGHTS, with_status=False, with_heartbeats=False,
                        file_base="http://files.example")
    assert {"chat_left_early", "mobile_call_unanswered", "voicemail", "mobile_chat"} <= set(plan.scenarios)
    chats = [s.body for s in plan.sends if s.kind == "event" and s.body["session"]["channel"] == "chat"]
    assert chats and all("end_user_message_count" in b["session"] for b in chats)
    out = expect([s.body for s in plan.sends if s.kind == "event"], VARIED, known=lambda key: True,
                 key_of=lambda user: user.get("identifier") or user.get("phone"), message_types=MESSAGE_TYPES)
    kinds = {(s.abandoned, s.delayed, s.why_not) for s in out.sessions.values()}
    assert (True, True, "") in kinds and (False, True, "") in kinds and (False, False, "kind skipped") in kinds
