"""R-S13: two-way sync converges, proven over random interleavings (hypothesis).

A model of one agent: the contact center (manual changes, calls, wrap-ups, the CC's own
next status), people changing the agent's status in Kustomer, our pushes landing in
Kustomer (or being refused), and Kustomer's reports reaching the portal late, out of
order and twice — through the adapter's event log and through the watcher's snapshots.
The portal side is the real decision (`rules.decide_status_change`) with the state
update the engine stores (`services.engine._state_after`, mirrored on names here) and
the push task's semantics (always the latest wanted status; the echo comes back).

At quiescence (calls ended, every push landed or refused, every report delivered) the
two statuses agree, under both priority rules; where they cannot (an unmapped Kustomer
status, a CC status with no chosen Kustomer status, a refused push) the disagreement is
reported with exactly that reason, never as an unexplained difference.
"""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from statusmapping import rules
from statusmapping.rules import (
    Agreement,
    AgentState,
    CCStatusInfo,
    IncomingChange,
    InheritanceSettings,
    StatusMap,
    decide_status_change,
    status_agreement,
)



T0 = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)

CC = {
    "Available": CCStatusInfo("Available", routable=True),
    "Lunch": CCStatusInfo("Lunch"),
    "Break": CCStatusInfo("Break"),
    "Unavailable": CCStatusInfo("Unavailable"),
    "On call": CCStatusInfo("On call", activity=rules.ACTIVITY_CALL),
    "Wrap-up": CCStatusInfo("Wrap-up", activity=rules.ACTIVITY_WRAP_UP),
}
# Kustomer statuses: k-avail, k-lunch, k-away (many to one: Break and Unavailable), k-busy.
FULL_MAP = StatusMap(
    kustomer_to_cc={"k-avail": "Available", "k-lunch": "Lunch", "k-away": "Break", "k-busy": "Unavailable"},
    cc_statuses=CC,
    push_as={"Available": "k-avail", "Lunch": "k-lunch", "Break": "k-away", "Unavailable": "k-away",
             "On call": "k-busy", "Wrap-up": "k-busy"},
)
# Gaps an admin can leave: a Kustomer status with no CC status, a CC status with no
# chosen Kustomer status.
GAPPY_MAP = StatusMap(
    kustomer_to_cc={"k-avail": "Available", "k-lunch": "Lunch", "k-busy": "Unavailable"},
    cc_statuses=CC,
    push_as={"Available": "k-avail", "Lunch": "k-lunch", "On call": "k-busy", "Wrap-up": "k-busy"},
)
KUSTOMER_STATUSES = ("k-avail", "k-lunch", "k-away", "k-busy")


@dataclasses.dataclass
class World:
    settings: InheritanceSettings
    status_map: StatusMap
    agent: AgentState
    kustomer_now: str
    kustomer_changed_at: datetime
    clock: datetime = T0
    # Reports of Kustomer changes on their way to the portal: (status id, when).
    reports: list = dataclasses.field(default_factory=list)
    push_error: str = ""
    refuse_pushes: bool = False
    decisions: list = dataclasses.field(default_factory=list)

    def tick(self) -> datetime:
        self.clock += timedelta(seconds=1)
        return self.clock

    # The portal: the real decision, then the state update the engine stores.
    def decide(self, change: IncomingChange) -> None:
        outcome = decide_status_change(settings=self.settings, status_map=self.status_map, agent=self.agent,
                                       live_instances=1, change=change)
        self.decisions.append((change, outcome.decision, outcome.reason))
        self.agent = state_after(self.agent, outcome)

    def cc(self, name: str, kind: str) -> None:
        self.decide(IncomingChange(source=rules.SOURCE_CONTACT_CENTER, occurred_at=self.tick(), cc_status=name, kind=kind))

    # Kustomer: a person changes the agent's status there.
    def person(self, status_id: str) -> None:
        at = self.tick()
        self.kustomer_now, self.kustomer_changed_at = status_id, at
        self.reports.append((status_id, at))

    # The push task: sends the latest wanted status; Kustomer reports it back (the echo).
    def push_runs(self) -> None:
        wanted = self.agent.pending_push_kustomer_status_id
        if not wanted:
            return
        at = self.tick()
        if self.refuse_pushes:
            self.push_error = "403: the key lacks org.permission.routing.update"
            self.agent = dataclasses.replace(self.agent, pending_push_kustomer_status_id=None)
            return
        self.kustomer_now, self.kustomer_changed_at = wanted, at
        self.push_error = ""
        self.agent = dataclasses.replace(self.agent, kustomer_status_id=wanted, kustomer_status_at=at,
                                         pending_push_kustomer_status_id=None)
        self.reports.append((wanted, at))

    def deliver(self, index: int) -> None:
        if self.reports:
            status_id, at = self.reports.pop(index % len(self.reports))
            self.decide(IncomingChange(source=rules.SOURCE_KUSTOMER, occurred_at=at, kustomer_status_id=status_id))

    def watcher_polls(self) -> None:
        self.decide(IncomingChange(source=rules.SOURCE_KUSTOMER, occurred_at=self.kustomer_changed_at,
                                   kustomer_status_id=self.kustomer_now))

    def settle(self) -> None:
        """Quiescence: the call ends, every push lands, every report arrives, the
        watcher has looked once more."""
        if self.agent.busy_with_call:
            self.cc("Available", rules.KIND_SYSTEM_NEXT)
        for _ in range(20):
            self.push_runs()
            while self.reports:
                self.deliver(0)
            self.watcher_polls()
            if not self.agent.pending_push_kustomer_status_id and not self.reports:
                return
        raise AssertionError("pushes never settle")


def state_after(agent: AgentState, outcome: rules.Outcome) -> AgentState:
    """`services.engine._state_after`, on status names instead of row ids."""
    new: dict = {}
    if outcome.cc_status_changed and outcome.cc_status:
        new.update(cc_status=outcome.cc_status, cc_status_at=outcome.cc_status_at,
                   activity=CC[outcome.cc_status].activity)
    if outcome.kustomer_status_id is not None:
        new.update(kustomer_status_id=outcome.kustomer_status_id, kustomer_status_at=outcome.kustomer_status_at)
    if outcome.held_cc_status:
        new.update(held_cc_status=outcome.held_cc_status, held_kustomer_status_id=outcome.held_kustomer_status_id,
                   held_at=outcome.held_at)
    elif outcome.clear_held and agent.held_cc_status:
        new.update(held_cc_status=None, held_kustomer_status_id=None, held_at=None)
    if outcome.push_kustomer_status_id:
        new.update(pending_push_kustomer_status_id=outcome.push_kustomer_status_id)
    if outcome.kustomer_choice_id is not None:
        new.update(kustomer_choice_id=outcome.kustomer_choice_id)
    return dataclasses.replace(agent, **new)


# One step of the day: what happens next, anywhere.
STEPS = st.one_of(
    st.tuples(st.just("cc_manual"), st.sampled_from(["Available", "Lunch", "Break", "Unavailable"])),
    st.tuples(st.just("call_starts"), st.sampled_from([rules.KIND_MANUAL, rules.KIND_SYSTEM_NEXT])),
    st.tuples(st.just("wrap_up"), st.none()),
    st.tuples(st.just("call_ends"), st.sampled_from(["Available", "Lunch"])),
    st.tuples(st.just("person"), st.sampled_from(KUSTOMER_STATUSES)),
    st.tuples(st.just("push_runs"), st.none()),
    st.tuples(st.just("deliver"), st.integers(min_value=0, max_value=5)),
    st.tuples(st.just("duplicate_report"), st.integers(min_value=0, max_value=5)),
    st.tuples(st.just("watcher_polls"), st.none()),
)


def run_day(world: World, steps) -> World:
    for kind, arg in steps:
        if kind == "cc_manual":
            world.cc(arg, rules.KIND_MANUAL)
        elif kind == "call_starts":
            world.cc("On call", arg)
        elif kind == "wrap_up" and world.agent.cc_status == "On call":
            world.cc("Wrap-up", rules.KIND_SYSTEM_NEXT)
        elif kind == "call_ends" and world.agent.busy_with_call:
            world.cc(arg, rules.KIND_SYSTEM_NEXT)
        elif kind == "person":
            world.person(arg)
        elif kind == "push_runs":
            world.push_runs()
        elif kind == "deliver":
            world.deliver(arg)
        elif kind == "duplicate_report" and world.reports:
            world.reports.append(world.reports[arg % len(world.reports)])
        elif kind == "watcher_polls":
            world.watcher_polls()
    world.settle()
    return world


def new_world(priority: str, status_map: StatusMap, *, refuse_pushes: bool = False) -> World:
    two_way = InheritanceSettings(available=True, enabled=True, priority=priority, direction=rules.TWO_WAY,
                                  two_way_ready=True)
    agent = AgentState(cc_status="Available", cc_status_at=T0, kustomer_status_id="k-avail", kustomer_status_at=T0,
                       kustomer_choice_id="k-avail")
    return World(settings=two_way, status_map=status_map, agent=agent, kustomer_now="k-avail",
                 kustomer_changed_at=T0, refuse_pushes=refuse_pushes)


def agreement(world: World) -> rules.AgreementResult:
    return status_agreement(settings=world.settings, status_map=world.status_map, agent=world.agent,
                            push_error=world.push_error)


def explain(world: World) -> str:
    lines = [f"final CC={world.agent.cc_status} portal-Kustomer={world.agent.kustomer_status_id} "
             f"Kustomer={world.kustomer_now} choice={world.agent.kustomer_choice_id}"]
    lines += [f"  {c.source} {c.cc_status or c.kustomer_status_id} ({c.kind}) -> {d.value} {r}" for c, d, r in world.decisions]
    return "\n".join(lines)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(priority=st.sampled_from([rules.LATEST_WINS, rules.CRM_OVERRIDES]), steps=st.lists(STEPS, max_size=40))
def test_r_s13_with_a_complete_map_both_statuses_agree_at_quiescence(priority, steps):
    world = run_day(new_world(priority, FULL_MAP), steps)
    result = agreement(world)
    assert result.agreement is Agreement.AGREE, explain(world)
    # The portal knows what Kustomer really holds.
    assert world.agent.kustomer_status_id == world.kustomer_now, explain(world)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(priority=st.sampled_from([rules.LATEST_WINS, rules.CRM_OVERRIDES]), steps=st.lists(STEPS, max_size=40),
       refuse=st.booleans())
def test_r_s13_where_they_cannot_agree_the_reason_is_the_real_one(priority, steps, refuse):
    world = run_day(new_world(priority, GAPPY_MAP, refuse_pushes=refuse), steps)
    result = agreement(world)
    cc_status, kustomer_id = world.agent.cc_status, world.agent.kustomer_status_id
    if result.agreement is Agreement.AGREE:
        return
    assert result.reason, explain(world)
    if result.agreement is Agreement.PUSH_FAILED:
        assert refuse and world.push_error in result.reason
    elif result.agreement is Agreement.NO_CHOSEN_STATUS:
        assert cc_status not in GAPPY_MAP.push_as, explain(world)
    elif result.agreement is Agreement.UNMAPPED:
        assert kustomer_id not in GAPPY_MAP.kustomer_to_cc, explain(world)
    else:
        pytest.fail(f"unexplained disagreement ({result.agreement}): {result.reason}\n{explain(world)}")


def test_r_s13_crm_overrides_sets_kustomer_back_after_the_call():
    """The defect of the simulated day: Lunch in Kustomer, a call pushes Busy, the call
    ends; CRM_OVERRIDES gives the agent Lunch, and Kustomer must be set back to Lunch."""
    world = new_world(rules.CRM_OVERRIDES, FULL_MAP)
    world.person("k-lunch")
    world.deliver(0)
    assert world.agent.cc_status == "Lunch"
    world.cc("On call", rules.KIND_SYSTEM_NEXT)
    world.push_runs()  # Kustomer shows k-busy, pushed by us
    world.cc("Available", rules.KIND_SYSTEM_NEXT)  # before the echo arrives
    assert world.agent.cc_status == "Lunch"  # the CRM's choice, not our own Busy push
    assert world.agent.pending_push_kustomer_status_id == "k-lunch"  # set back
    world.settle()
    assert (world.agent.cc_status, world.kustomer_now) == ("Lunch", "k-lunch")


def test_r_s13_the_status_we_pushed_for_a_call_is_never_the_crms_choice():
    world = new_world(rules.CRM_OVERRIDES, FULL_MAP)
    world.cc("On call", rules.KIND_MANUAL)
    world.push_runs()
    world.deliver(0)  # the echo of k-busy
    world.watcher_polls()
    assert world.agent.kustomer_choice_id == "k-avail"
    world.cc("Available", rules.KIND_SYSTEM_NEXT)
    assert world.agent.cc_status == "Available"  # not Unavailable (k-busy's mapping)
    world.settle()
    assert world.kustomer_now == "k-avail"


def test_r_s13_a_held_change_overwritten_by_our_wrap_up_push_is_set_back():
    world = new_world(rules.LATEST_WINS, FULL_MAP)
    world.cc("On call", rules.KIND_SYSTEM_NEXT)
    world.push_runs()
    world.person("k-away")  # during the call: held
    world.deliver(1)
    assert world.agent.held_cc_status == "Break"
    world.cc("Wrap-up", rules.KIND_SYSTEM_NEXT)  # pushes k-busy again over k-away
    world.push_runs()
    world.cc("Available", rules.KIND_SYSTEM_NEXT)
    assert world.agent.cc_status == "Break" and world.agent.pending_push_kustomer_status_id == "k-away"
    world.settle()
    assert world.kustomer_now == "k-away"


def test_r_s13_an_older_kustomer_change_does_not_undo_the_cc_change_being_pushed():
    """A person's change in Kustomer, reported after the agent's later CC change whose
    push is on its way: Kustomer will hold the push, so the CC keeps its change."""
    world = new_world(rules.CRM_OVERRIDES, FULL_MAP)
    world.person("k-lunch")
    world.cc("Break", rules.KIND_MANUAL)  # push k-away pending
    world.deliver(0)  # the older k-lunch report
    assert world.agent.cc_status == "Break"
    world.settle()
    assert (world.agent.cc_status, world.kustomer_now) == ("Break", "k-away")


def test_r_s13_agreement_reasons_in_words():
    two_way = InheritanceSettings(available=True, enabled=True, direction=rules.TWO_WAY, two_way_ready=True)
    agent = AgentState(cc_status="Break", kustomer_status_id="k-away")
    result = status_agreement(settings=two_way, status_map=GAPPY_MAP, agent=agent, kustomer_name="Away")
    assert result.agreement is Agreement.NO_CHOSEN_STATUS
    assert result.reason == "No Kustomer status is chosen for Break, so Kustomer keeps Away."
    one_way = InheritanceSettings(available=True, enabled=True)
    assert status_agreement(settings=one_way, status_map=GAPPY_MAP, agent=agent).agreement is Agreement.NOT_TWO_WAY
