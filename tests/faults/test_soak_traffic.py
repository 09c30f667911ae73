"""The soak's day (loadtest/traffic.py) has the operator's cases when asked for: calls
from numbers several Kustomer customers hold (R-O1) and calls whose end never comes
(R-O2), each at least once; an ordinary day has neither."""
from __future__ import annotations

from datetime import datetime, timezone

from loadtest.traffic import generate_day

SHARED = ["+14155550177", "+14155550178"]
START = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)


def _day(**options):
    return generate_day(agents=["a@example.com", "b@example.com"], events=40, seed=5, start=START, run_id="t",
                        **options)


def test_r_o1_r_o2_the_soak_day_has_shared_numbers_and_sessions_without_an_end():
    plan = _day(shared_phones=SHARED, without_end=True)
    events = [s for s in plan.sends if s.kind == "event"]
    shared = [s for s in events if s.scenario == "shared_number_call"]
    endless = [s for s in events if s.scenario == "call_without_end"]
    assert plan.scenarios["shared_number_call"] >= 1 and plan.scenarios["call_without_end"] >= 1
    assert shared and {s.body["end_user"]["phone"] for s in shared} <= set(SHARED)
    assert {s.label for s in shared} == {"call.answered", "session.ended"}  # a later event behind the first
    for send in endless:
        session = send.body["session"]["id"]
        assert [s.label for s in events if s.body["session"]["id"] == session] == ["call.answered"]


def test_an_ordinary_day_has_neither_and_one_seed_gives_one_day():
    plan = _day()
    assert not {"shared_number_call", "call_without_end"} & set(plan.scenarios)
    assert [s.body.get("id") for s in plan.sends] == [s.body.get("id") for s in _day().sends]
