"""The call logging policies (SPEC §6) in the simulated day: pure data, no I/O.

A tenant may log its sessions its own way; the simulator (`simulate_traffic --policies
varied`) and the soak (bench/soak.py) run tenants whose policies are not the defaults,
with the body of `PUT /api/v1/call-logging-policies` from `policy_preset`, and a day
that also holds the sessions those policies are about (`POLICY_SCENARIO_WEIGHTS`): a
chat the end user leaves after one message, an app call that ends before an agent
picks up. The scenarios add to `loadtest.traffic`'s (`_Day.run_scenario`).
"""
from __future__ import annotations

from typing import Any, Callable

# How many messages the end user must have sent before a chat's record is made under the
# "varied" preset (R-P5); the day's chats say their count on every event.
CHAT_MESSAGES_BEFORE_RECORD = 2


def policy_preset(name: str, *, default_owner_email: str | None = None,
                  default_owner_team: str | None = None) -> dict[str, Any]:
    """The PUT body of a named set of policies. ``default``: §4 as it is. ``varied``:
    voicemails not logged (R-P1), IVR calls left done when they end (R-P1) and reopened
    within 7 days (R-P4), only numbers Kustomer already knows logged (R-P2), calls made
    only once an agent is connected and chats once the end user has sent 2 messages (R-P5),
    records no agent owns to a default user and team (R-P6)."""
    if name == "default":
        return {"logging": {}, "create_unknown_customers": True, "connected_numbers": [], "default_owner_email": "",
                "default_owner_team_id": "", "reopen_days": 0, "delay_call_until_connected": False,
                "delay_chat_until_messages": 0}
    if name != "varied":
        raise ValueError(f"no policy preset {name!r}: default or varied")
    return {
        "logging": {"voicemail": "skip", "ivr_answered": "done"},
        "create_unknown_customers": False,
        "connected_numbers": [],
        "reopen_days": 7,
        "delay_call_until_connected": True,
        "delay_chat_until_messages": CHAT_MESSAGES_BEFORE_RECORD,
        "default_owner_email": default_owner_email or "",
        "default_owner_team_id": default_owner_team or "",
    }


POLICY_PRESETS = ("default", "varied")


def chat_left_early(day, t: float) -> float:
    """A chat the end user leaves after one message, before an agent answers: under a
    delayed chat record (R-P5) it is logged as an abandoned call."""
    from loadtest.traffic import MENUS

    source = day.rng.choice(("mobile_sdk", "web_sdk"))
    identifier, name, phone = day.app_user()
    session = day.session(channel="chat", source=source, menu=day.rng.choice(MENUS))
    user = {"phone": phone, "identifier": identifier, "name": name, "email": None}
    started = day.event(t, "session.started", session=session, end_user=user, scenario="chat_left_early",
                        data={"custom_data": {}})
    started.body["session"]["end_user_message_count"] = 0
    wait = day.rng.randint(20, 120)
    ended = day.event(t + wait, "session.ended", session=session, end_user=user, scenario="chat_left_early",
                      data={"duration_seconds": wait, "wait_seconds": wait,
                            "transcript": [{"at": day.time(t + 5), "from": name, "text": "Hello? Anyone there?"}]})
    ended.body["session"]["end_user_message_count"] = 1
    return t + wait


def mobile_call_unanswered(day, t: float) -> float:
    """An app call that ends before an agent picks up: under a delayed call record (R-P5)
    it is logged as an abandoned call."""
    from loadtest.traffic import MENUS

    identifier, name, phone = day.app_user()
    session = day.session(channel="voice", source="mobile_sdk", menu=day.rng.choice(MENUS))
    user = {"phone": phone, "identifier": identifier, "name": name, "email": None}
    day.event(t, "session.started", session=session, end_user=user, scenario="mobile_call_unanswered",
              data={"custom_data": {"device": day.rng.choice(("iOS 19", "Android 16"))}})
    wait = day.rng.randint(10, 200)
    day.event(t + wait, "session.ended", session=session, end_user=user, scenario="mobile_call_unanswered",
              data={"duration_seconds": wait, "wait_seconds": wait})
    return t + wait


EXTRA_SCENARIOS: dict[str, Callable[[Any, float], float]] = {
    "chat_left_early": chat_left_early,
    "mobile_call_unanswered": mobile_call_unanswered,
}

# A day for a tenant with policies: the ordinary mix (loadtest.traffic.SCENARIO_WEIGHTS),
# more chats and app calls, and the sessions the delayed records are about.
POLICY_SCENARIO_WEIGHTS = {
    "ivr_call": 24, "ivr_call_transferred": 5, "abandoned_call": 8, "voicemail": 5, "mobile_chat": 12,
    "web_chat": 10, "mobile_call": 10, "outbound_call": 6, "click_to_call": 3, "short_call_callback": 4,
    "after_call_callback": 3, "chat_left_early": 6, "mobile_call_unanswered": 6,
}
