"""The status engine (statusmapping/rules.py) by rule ID: pure, no database."""
from datetime import datetime, timedelta, timezone

import pytest

from statusmapping import mapping_rules, rules
from statusmapping.rules import (
    AgentState,
    CCStatusInfo,
    Decision,
    IncomingChange,
    InheritanceSettings,
    StatusMap,
    decide_status_change,
)

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


CC = {
    "A": CCStatusInfo("A", routable=True),
    "B": CCStatusInfo("B"),
    "C": CCStatusInfo("C"),
    "D": CCStatusInfo("D"),
    "Available": CCStatusInfo("Available", routable=True),
    "On call": CCStatusInfo("On call", activity=rules.ACTIVITY_CALL),
    "Wrap-up": CCStatusInfo("Wrap-up", activity=rules.ACTIVITY_WRAP_UP),
}
# The seed's example map: Kustomer statuses 1, 2 → A; 3 → B; 4 → D.
SEED_MAP = StatusMap(kustomer_to_cc={"k1": "A", "k2": "A", "k3": "B", "k4": "D"}, cc_statuses=CC)
ON = InheritanceSettings(available=True, enabled=True)
CRM = InheritanceSettings(available=True, enabled=True, priority=rules.CRM_OVERRIDES)


def kustomer(status_id: str, seconds: float, **kw) -> IncomingChange:
    return IncomingChange(source="kustomer", occurred_at=at(seconds), kustomer_status_id=status_id, **kw)


def cc(name: str, seconds: float, kind: str = rules.KIND_MANUAL) -> IncomingChange:
    return IncomingChange(source="contact_center", occurred_at=at(seconds), cc_status=name, kind=kind)


def decide(change, *, agent=AgentState(), settings=ON, status_map=SEED_MAP, live=1):
    return decide_status_change(settings=settings, status_map=status_map, agent=agent, live_instances=live, change=change)


@pytest.mark.parametrize("status_id,expected", [("k1", "A"), ("k2", "A"), ("k3", "B"), ("k4", "D")])
def test_r_s3_r_s4_seed_example_map_many_to_one(status_id, expected):
    """R-S3/R-S4: the seed's example: Kustomer 1, 2 → A; 3 → B; 4 → D."""
    out = decide(kustomer(status_id, 1), agent=AgentState(cc_status="C", cc_status_at=at(0)))
    assert out.decision is Decision.APPLIED
    assert out.cc_status == expected
    assert out.cc_status_at == at(1)
    assert out.kustomer_status_id == status_id


def test_r_s4_unmapped_kustomer_status_changes_nothing():
    out = decide(kustomer("k9", 1), agent=AgentState(cc_status="C", cc_status_at=at(0)))
    assert out.decision is Decision.UNMAPPED
    assert out.cc_status == "C" and not out.cc_status_changed
    assert out.kustomer_status_id == "k9"  # the agent's Kustomer status is still known


def test_r_s5_unknown_agent():
    out = decide(kustomer("k1", 1), agent=None)
    assert out.decision is Decision.UNKNOWN_AGENT and out.cc_status is None


def test_r_s1_inheritance_off_or_not_available_changes_nothing():
    agent = AgentState(cc_status="C", cc_status_at=at(0))
    for settings in (InheritanceSettings(), InheritanceSettings(available=True),
                     InheritanceSettings(available=False, enabled=True)):
        out = decide(kustomer("k1", 1), agent=agent, settings=settings)
        assert out.decision is Decision.INHERITANCE_OFF
        assert out.cc_status == "C" and not out.cc_status_changed and out.kustomer_status_id is None


def test_r_s6_two_live_instances_do_not_guess():
    out = decide(kustomer("k1", 1), agent=AgentState(cc_status="C", cc_status_at=at(0)), live=2)
    assert out.decision is Decision.SEVERAL_INSTANCES
    assert out.cc_status == "C" and not out.cc_status_changed


def test_r_s7_latest_wins_stale_kustomer_change_older_than_cc_status():
    agent = AgentState(cc_status="C", cc_status_at=at(10), kustomer_status_id="k3", kustomer_status_at=at(0))
    out = decide(kustomer("k1", 5), agent=agent)
    assert out.decision is Decision.STALE
    assert out.cc_status == "C" and not out.cc_status_changed


def test_r_s7_latest_wins_stale_cc_change_older_than_kustomer_applied():
    agent = AgentState(cc_status="A", cc_status_at=at(10), kustomer_status_id="k1", kustomer_status_at=at(10))
    out = decide(cc("C", 5), agent=agent)
    assert out.decision is Decision.STALE and out.cc_status == "A"


def test_r_s7_out_of_order_kustomer_events_never_roll_back_under_both_rules():
    """Kustomer said k3 at t=20; k1 from t=15 arrives late: stale, under both rules."""
    agent = AgentState(cc_status="B", cc_status_at=at(20), kustomer_status_id="k3", kustomer_status_at=at(20))
    for settings in (ON, CRM):
        out = decide(kustomer("k1", 15), agent=agent, settings=settings)
        assert out.decision is Decision.STALE
        assert out.cc_status == "B"


def test_r_s7_crm_overrides_applies_kustomer_change_older_than_cc_status():
    agent = AgentState(cc_status="C", cc_status_at=at(10), kustomer_status_id="k3", kustomer_status_at=at(0))
    out = decide(kustomer("k1", 5), agent=agent, settings=CRM)
    assert out.decision is Decision.APPLIED and out.cc_status == "A"
    assert out.cc_status_at == at(10)  # the status time never goes backwards


def test_r_s7_crm_overrides_replaces_cc_next_status_after_a_call():
    """CC would move the agent to Available after wrap-up; Kustomer says k4 → D."""
    agent = AgentState(cc_status="Wrap-up", cc_status_at=at(10), activity=rules.ACTIVITY_WRAP_UP,
                       kustomer_status_id="k4", kustomer_status_at=at(0))
    out = decide(cc("Available", 20, rules.KIND_SYSTEM_NEXT), agent=agent, settings=CRM)
    assert out.decision is Decision.APPLIED
    assert out.cc_status == "D"
    # Under LATEST_WINS the CC's own next status applies.
    out = decide(cc("Available", 20, rules.KIND_SYSTEM_NEXT), agent=agent, settings=ON)
    assert out.cc_status == "Available"


def test_r_s7_crm_overrides_leaves_manual_cc_changes_and_call_start_alone():
    agent = AgentState(cc_status="A", cc_status_at=at(10), kustomer_status_id="k4", kustomer_status_at=at(0))
    assert decide(cc("C", 20), agent=agent, settings=CRM).cc_status == "C"
    assert decide(cc("On call", 20, rules.KIND_SYSTEM_NEXT), agent=agent, settings=CRM).cc_status == "On call"


def test_r_s12_kustomer_change_during_call_is_held_then_applied_at_call_end():
    on_call = AgentState(cc_status="On call", cc_status_at=at(10), activity=rules.ACTIVITY_CALL,
                         kustomer_status_id="k1", kustomer_status_at=at(0))
    held = decide(kustomer("k3", 20), agent=on_call)
    assert held.decision is Decision.HELD
    assert held.cc_status == "On call" and not held.cc_status_changed
    assert (held.held_cc_status, held.held_kustomer_status_id, held.held_at) == ("B", "k3", at(20))

    # A later Kustomer change replaces the held one.
    holding = AgentState(**{**_fields(on_call), "held_cc_status": "B", "held_kustomer_status_id": "k3",
                            "held_at": at(20), "kustomer_status_id": "k3", "kustomer_status_at": at(20)})
    replaced = decide(kustomer("k4", 25), agent=holding)
    assert replaced.decision is Decision.HELD and replaced.held_cc_status == "D"

    # Call → wrap-up keeps it; the CC's next status after wrap-up is replaced by it.
    holding_d = AgentState(**{**_fields(holding), "held_cc_status": "D", "held_kustomer_status_id": "k4"})
    to_wrap = decide(cc("Wrap-up", 30, rules.KIND_SYSTEM_NEXT), agent=holding_d)
    assert to_wrap.cc_status == "Wrap-up" and not to_wrap.clear_held
    in_wrap = AgentState(**{**_fields(holding_d), "cc_status": "Wrap-up", "cc_status_at": at(30),
                            "activity": rules.ACTIVITY_WRAP_UP})
    end = decide(cc("Available", 40, rules.KIND_SYSTEM_NEXT), agent=in_wrap)
    assert end.decision is Decision.APPLIED and end.cc_status == "D" and end.clear_held


def test_r_s12_held_change_superseded_by_agents_manual_choice():
    agent = AgentState(cc_status="Wrap-up", cc_status_at=at(10), activity=rules.ACTIVITY_WRAP_UP,
                       held_cc_status="D", held_kustomer_status_id="k4", held_at=at(12))
    out = decide(cc("C", 20), agent=agent)
    assert out.cc_status == "C" and out.clear_held


def test_r_s12_unmapped_later_kustomer_change_drops_held_one():
    agent = AgentState(cc_status="On call", cc_status_at=at(10), activity=rules.ACTIVITY_CALL,
                       held_cc_status="D", held_kustomer_status_id="k4", held_at=at(12),
                       kustomer_status_id="k4", kustomer_status_at=at(12))
    out = decide(kustomer("k9", 15), agent=agent)
    assert out.decision is Decision.UNMAPPED and out.clear_held


def test_repeated_kustomer_status_is_unchanged_not_reapplied():
    """The adapter re-sending the status Kustomer already had must not undo the agent's
    later CC choice."""
    agent = AgentState(cc_status="C", cc_status_at=at(10), kustomer_status_id="k1", kustomer_status_at=at(0))
    out = decide(kustomer("k1", 20), agent=agent)
    assert out.decision is Decision.UNCHANGED and out.cc_status == "C"


def test_r_s8_sign_in_replays_current_kustomer_status():
    agent = AgentState(cc_status="C", cc_status_at=at(10), kustomer_status_id="k1", kustomer_status_at=at(0))
    out = decide(kustomer("k1", 0, force=True), agent=agent)
    assert out.decision is Decision.APPLIED and out.cc_status == "A"


TWO_WAY = InheritanceSettings(available=True, enabled=True, direction=rules.TWO_WAY, two_way_ready=True)
PUSH_MAP = StatusMap(kustomer_to_cc=SEED_MAP.kustomer_to_cc, cc_statuses=CC,
                     push_as={"A": "k1", "B": "k3", "C": "k4"})


def test_r_s9_cc_change_pushed_as_chosen_kustomer_status():
    agent = AgentState(cc_status="A", cc_status_at=at(0), kustomer_status_id="k1", kustomer_status_at=at(0))
    out = decide(cc("C", 5), agent=agent, settings=TWO_WAY, status_map=PUSH_MAP)
    assert out.push_kustomer_status_id == "k4"
    # Not when one-way, nor before the prerequisites passed.
    for settings in (ON, InheritanceSettings(available=True, enabled=True, direction=rules.TWO_WAY)):
        assert decide(cc("C", 5), agent=agent, settings=settings, status_map=PUSH_MAP).push_kustomer_status_id is None


def test_r_s9_no_ping_pong():
    agent = AgentState(cc_status="C", cc_status_at=at(0), kustomer_status_id="k4", kustomer_status_at=at(0))
    # A change that came from Kustomer is never pushed back.
    from_kustomer = decide(kustomer("k3", 5), agent=agent, settings=TWO_WAY, status_map=PUSH_MAP)
    assert from_kustomer.decision is Decision.APPLIED and from_kustomer.push_kustomer_status_id is None
    # Kustomer echoing our own push (k1 for CC "A"... here k4 pushed for C) changes nothing,
    # even though k4 maps back to D.
    pushing = AgentState(cc_status="C", cc_status_at=at(5), kustomer_status_id="k1", kustomer_status_at=at(0),
                         pending_push_kustomer_status_id="k4")
    echo = decide(kustomer("k4", 6), agent=pushing, settings=TWO_WAY, status_map=PUSH_MAP)
    assert echo.decision is Decision.UNCHANGED and echo.cc_status == "C"
    # The CC status that came from Kustomer at a call's end (held) is not pushed either.
    held = AgentState(cc_status="On call", cc_status_at=at(0), activity=rules.ACTIVITY_CALL, held_cc_status="B",
                      held_kustomer_status_id="k3", kustomer_status_id="k3", kustomer_status_at=at(1))
    end = decide(cc("A", 9, rules.KIND_SYSTEM_NEXT), agent=held, settings=TWO_WAY, status_map=PUSH_MAP)
    assert end.cc_status == "B" and end.push_kustomer_status_id is None


def test_r_s3_warnings_for_meaningless_and_unmapped():
    warnings = mapping_rules.meaningless_mapping_warnings(
        kustomer_statuses=[("k1", "Offline", "offline"), ("k2", "Available", "available"), ("k3", "Lunch", "unavailable"),
                           ("k4", "Busy", "busy")],
        cc_statuses=CC, mapping={"k1": "A", "k2": "B", "k3": "C", "k4": None},
    )
    codes = {(w["kustomer_status_id"], w["code"]) for w in warnings}
    assert codes == {("k1", "routable_when_away"), ("k2", "unroutable_when_available"), ("k4", "unmapped")}


def test_watcher_interval_stays_within_rate_budget():
    assert mapping_rules.watch_interval_seconds(configured=5, pages_last_run=1, rate_limit_per_minute=1000) == 5
    # 30 pages a read on a 300/min org: 10% share = 30 calls/min → one read a minute.
    assert mapping_rules.watch_interval_seconds(configured=5, pages_last_run=30, rate_limit_per_minute=300) == 60


def _fields(state: AgentState) -> dict:
    return {name: getattr(state, name) for name in state.__slots__}


def test_r_s8_sign_in_status_not_pushed_when_kustomer_status_is_inherited():
    agent = AgentState(cc_status="Offline", cc_status_at=at(0), kustomer_status_id="k3", kustomer_status_at=at(0))
    sign_in = IncomingChange(source="contact_center", occurred_at=at(5), cc_status="A", kind=rules.KIND_SIGN_IN)
    inheriting = InheritanceSettings(available=True, enabled=True, direction=rules.TWO_WAY, two_way_ready=True,
                                     inherit_on_login=True)
    assert decide(sign_in, agent=agent, settings=inheriting, status_map=PUSH_MAP).push_kustomer_status_id is None
    assert decide(sign_in, agent=agent, settings=TWO_WAY, status_map=PUSH_MAP).push_kustomer_status_id == "k1"


def test_r_s7_crm_overrides_only_at_the_end_of_a_call():
    """A system move outside a call (the CC signing an idle agent out) is the CC's own."""
    agent = AgentState(cc_status="Available", cc_status_at=at(10), kustomer_status_id="k1", kustomer_status_at=at(0))
    out = decide(cc("D", 20, rules.KIND_SYSTEM_NEXT), agent=agent, settings=CRM)
    assert out.cc_status == "D"


# ---------------------------------------------------------------------------- R-O6, R-O7
GUARD = InheritanceSettings(available=True, enabled=True, flap_max_changes=3, flap_hold_seconds=30)


def _after(agent: AgentState, out) -> AgentState:
    """The agent's state once `out` applied (as the engine stores it), for chains."""
    import dataclasses
    new = {}
    if out.cc_status_changed:
        new.update(cc_status=out.cc_status, cc_status_at=out.cc_status_at)
    if out.kustomer_status_id is not None:
        new.update(kustomer_status_id=out.kustomer_status_id, kustomer_status_at=out.kustomer_status_at)
    if out.flap_changes is not None:
        new.update(flap_window_at=out.flap_window_at, flap_changes=out.flap_changes)
    if out.damped_until is not None:
        new.update(damped_until=out.damped_until)
    if out.decision is Decision.DAMPED:
        new.update(damped_cc_status=out.damped_cc_status, damped_kustomer_status_id=out.damped_kustomer_status_id)
    elif out.cc_status_changed:
        new.update(damped_cc_status=None, damped_kustomer_status_id=None)
    return dataclasses.replace(agent, **new)


def test_r_o7_a_flapping_status_is_held_at_the_last_one_and_later_changes_are_damped():
    agent = AgentState(cc_status="A", cc_status_at=at(0))
    flips = ["k3", "k1", "k3", "k1", "k3"]  # B, A, B, A, B within a minute
    decisions = []
    for i, status_id in enumerate(flips, start=1):
        out = decide(kustomer(status_id, i), agent=agent, settings=GUARD)
        decisions.append(out.decision)
        agent = _after(agent, out)
    # The first three apply, the fourth goes past the limit and starts the hold (it still
    # applies: the agent is held at it), the fifth is damped and remembered.
    assert decisions == [Decision.APPLIED] * 4 + [Decision.DAMPED]
    assert agent.cc_status == "A" and agent.damped_until == at(4 + 30)
    assert agent.damped_kustomer_status_id == "k3" and agent.kustomer_status_id == "k3"
    assert "changed more than 3 times within a minute" in decide(kustomer("k4", 6), agent=agent, settings=GUARD).reason
    # When the hold ends, the remembered change is applied.
    release = decide(IncomingChange(source="kustomer", occurred_at=at(40), kustomer_status_id="k3",
                                    kind=rules.KIND_DAMPED_RELEASE, force=True), agent=agent, settings=GUARD)
    assert (release.decision, release.cc_status, release.clear_damped) == (Decision.APPLIED, "B", True)


def test_r_o7_calls_and_the_ccs_next_status_are_never_damped_and_the_guard_is_off_by_default():
    held = AgentState(cc_status="A", cc_status_at=at(0), damped_until=at(100), flap_window_at=at(0), flap_changes=9)
    assert decide(cc("On call", 5, rules.KIND_SYSTEM_NEXT), agent=held, settings=GUARD).decision is Decision.APPLIED
    assert decide(cc("On call", 5, rules.KIND_MANUAL), agent=held, settings=GUARD).decision is Decision.APPLIED
    assert decide(cc("C", 5), agent=held, settings=GUARD).decision is Decision.DAMPED
    assert decide(cc("C", 5), agent=held, settings=ON).decision is Decision.APPLIED  # flap_max_changes 0: off


def test_r_o6_kustomer_sign_out_sets_the_chosen_status_but_never_during_a_call():
    sign_out = InheritanceSettings(available=True, enabled=True, sign_out_cc_status="C")
    agent = AgentState(cc_status="A", cc_status_at=at(0), kustomer_status_id="k1", kustomer_status_at=at(0))
    out = decide(kustomer("k4", 5, kind=rules.KIND_SIGN_OUT), agent=agent, settings=sign_out)
    assert (out.decision, out.cc_status) == (Decision.APPLIED, "C")  # not k4's mapping D
    # Off by default: the offline status's mapping applies.
    assert decide(kustomer("k4", 5, kind=rules.KIND_SIGN_OUT), agent=agent, settings=ON).cc_status == "D"
    on_call = AgentState(cc_status="On call", cc_status_at=at(0), activity=rules.ACTIVITY_CALL,
                         kustomer_status_id="k1", kustomer_status_at=at(0))
    held = decide(kustomer("k4", 5, kind=rules.KIND_SIGN_OUT), agent=on_call, settings=sign_out)
    assert (held.decision, held.cc_status, held.held_cc_status) == (Decision.HELD, "On call", "C")
