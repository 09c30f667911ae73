"""The status engine (SPEC §3): pure decisions, no ORM, no settings, no I/O.

`decide_status_change` takes the tenant's settings, the status map, the agent's state,
the number of live adapter instances and one incoming change, and returns what to do.
The service (`services.agent_status_change_record`) reads those values, calls this
function and writes the outcome only if the agent's state is still the one it read
(`agent_state.py`; otherwise it reads and calls this again).

Rules by ID:
- R-S1  nothing from Kustomer applies unless support made inheritance available *and*
        the tenant admin turned it on (INHERITANCE_OFF).
- R-S3/R-S4  a Kustomer status sets the CC status it maps to; an unmapped one changes
        nothing (UNMAPPED).
- R-S5  no agent with that email: UNKNOWN_AGENT.
- R-S6  more than one live adapter instance: SEVERAL_INSTANCES (no guessing).
- R-S7  LATEST_WINS: a change older than the agent's current status is STALE.
        CRM_OVERRIDES: every (in-order) Kustomer change applies, and when the CC moves
        the agent on by itself (`system_next` after a call or wrap-up) the agent gets
        the CC status mapped from their current Kustomer status instead.
        Under both rules a Kustomer change older than the agent's latest *Kustomer*
        status is STALE: events arriving out of order never roll Kustomer back.
- R-S8  a sign-in replays the agent's current Kustomer status (`force`).
- R-S9  two-way: a CC change that the CC made is pushed as the Kustomer status chosen
        for it; a change that came from Kustomer is never pushed back (no ping-pong),
        and Kustomer reporting the status we pushed (the echo) changes nothing.
- R-S12 while the agent is on a call or in wrap-up a Kustomer change is HELD; the held
        status becomes the agent's next status when the call ends; a later Kustomer
        change replaces the held one.
- R-S13 two-way converges: the agent's *Kustomer choice* (the last status Kustomer
        reported that was not our own push, or the one pushed for the agent's own
        non-call CC choice) is what CRM_OVERRIDES and a held change apply; when Kustomer
        holds something else by then (our "On call" push), it is set back to that
        choice. `status_agreement` says whether the two statuses agree, and why not.
- R-O6  when the agent's Kustomer work session ends (`KIND_SIGN_OUT`), the status chosen
        for it applies instead of the offline status's mapping; never during a call
        (held for the call's end, as R-S12).
- R-O7  flapping guard: more than `flap_max_changes` status changes within a minute
        and the agent is held at the last one for `flap_hold_seconds`; changes meanwhile
        are DAMPED (the latest is remembered and applied when the hold ends). Calls,
        wrap-ups and the CC's own next status are never damped.

Reasons are shown to people (history, API): plain words, no rule codes.
"""
from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType

LATEST_WINS = "LATEST_WINS"
CRM_OVERRIDES = "CRM_OVERRIDES"
ONE_WAY = "ONE_WAY"
TWO_WAY = "TWO_WAY"

SOURCE_KUSTOMER = "kustomer"
SOURCE_CONTACT_CENTER = "contact_center"

KIND_MANUAL = "manual"
KIND_SYSTEM_NEXT = "system_next"
KIND_SIGN_IN = "sign_in"
KIND_SIGN_OUT = "sign_out"  # R-O6: the agent's Kustomer work session ended (source kustomer)
KIND_DAMPED_RELEASE = "damped_release"  # R-O7: the change remembered during a hold, applied

FLAP_WINDOW_SECONDS = 60

ACTIVITY_NONE = "none"
ACTIVITY_CALL = "call"
ACTIVITY_WRAP_UP = "wrap_up"


class Decision(enum.Enum):
    APPLIED = "applied"
    HELD = "held"
    STALE = "stale"
    UNMAPPED = "unmapped"
    UNKNOWN_AGENT = "unknown_agent"
    SEVERAL_INSTANCES = "several_instances"
    INHERITANCE_OFF = "inheritance_off"
    # R-O7: the agent's status flapped; held at the last one (added to the contract).
    DAMPED = "damped"
    # Addition to the contract's list: Kustomer reports the status we already know for
    # the agent (our own two-way push coming back, or the adapter re-sending after a
    # reload). Nothing changes; re-applying it would undo the agent's later CC choice.
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class InheritanceSettings:
    available: bool = False
    enabled: bool = False
    priority: str = LATEST_WINS
    direction: str = ONE_WAY
    # R-S9: the last prerequisite check passed; pushes go out only then.
    two_way_ready: bool = False
    # R-S8: at sign-in the agent's Kustomer status applies (so the CC's own sign-in
    # status is not pushed over it).
    inherit_on_login: bool = False
    # R-O6: the CC status an agent gets when their Kustomer work session ends (None: off).
    sign_out_cc_status: str | None = None
    # R-O7: more than this many changes a minute are damped (0: off) for this long.
    flap_max_changes: int = 0
    flap_hold_seconds: int = 30

    @property
    def active(self) -> bool:
        return self.available and self.enabled

    @property
    def pushes(self) -> bool:
        return self.active and self.direction == TWO_WAY and self.two_way_ready


@dataclass(frozen=True, slots=True)
class CCStatusInfo:
    name: str
    routable: bool = False
    activity: str = ACTIVITY_NONE


def _frozen(mapping: Mapping | None) -> Mapping:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True, slots=True)
class StatusMap:
    """`kustomer_to_cc`: Kustomer status id → CC status name (many-to-one, R-S3).
    `cc_statuses`: CC status name → its info. `push_as`: CC status name → the Kustomer
    status id chosen for two-way sync (R-S9)."""

    kustomer_to_cc: Mapping[str, str] = field(default_factory=dict)
    cc_statuses: Mapping[str, CCStatusInfo] = field(default_factory=dict)
    push_as: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kustomer_to_cc", _frozen(self.kustomer_to_cc))
        object.__setattr__(self, "cc_statuses", _frozen(self.cc_statuses))
        object.__setattr__(self, "push_as", _frozen(self.push_as))

    def activity_of(self, cc_status: str | None) -> str:
        info = self.cc_statuses.get(cc_status) if cc_status else None
        return info.activity if info else ACTIVITY_NONE


@dataclass(frozen=True, slots=True)
class AgentState:
    cc_status: str | None = None
    cc_status_at: datetime | None = None
    kustomer_status_id: str | None = None
    kustomer_status_at: datetime | None = None
    # R-S12: on a call or in wrap-up (from the current CC status's activity).
    activity: str = ACTIVITY_NONE
    held_cc_status: str | None = None
    held_kustomer_status_id: str | None = None
    held_at: datetime | None = None
    # R-S9: the Kustomer status a push of ours is sending (its echo is not a change).
    pending_push_kustomer_status_id: str | None = None
    # R-S13: the Kustomer status chosen on the Kustomer side (or pushed for the agent's
    # own non-call CC choice); never our push of a call or wrap-up status. None: not
    # known yet (rows from before R-S13), `kustomer_status_id` stands in for it.
    kustomer_choice_id: str | None = None
    # R-O7: changes counted in the current minute, and the hold after too many.
    flap_window_at: datetime | None = None
    flap_changes: int = 0
    damped_until: datetime | None = None
    # The latest change damped during the hold (applied when it ends).
    damped_cc_status: str | None = None
    damped_kustomer_status_id: str | None = None

    @property
    def busy_with_call(self) -> bool:
        return self.activity in (ACTIVITY_CALL, ACTIVITY_WRAP_UP)

    @property
    def kustomer_status_soon(self) -> str:
        """What Kustomer holds once the push in flight (if any) lands."""
        return self.pending_push_kustomer_status_id or self.kustomer_status_id or ""

    @property
    def kustomer_choice(self) -> str:
        if self.kustomer_choice_id is not None:
            return self.kustomer_choice_id
        return self.kustomer_status_id or ""


@dataclass(frozen=True, slots=True)
class IncomingChange:
    source: str
    occurred_at: datetime
    kustomer_status_id: str | None = None  # source kustomer
    cc_status: str | None = None  # source contact_center: a known CC status name
    kind: str = KIND_MANUAL  # source contact_center
    # R-S8: replay the current Kustomer status at sign-in even if it is not news.
    force: bool = False


@dataclass(frozen=True, slots=True)
class Outcome:
    decision: Decision
    # The agent's CC status after the change, and when it changed (None: untouched).
    cc_status: str | None
    cc_status_at: datetime | None = None
    cc_status_changed: bool = False
    # The agent's Kustomer status to remember (None: keep what is known).
    kustomer_status_id: str | None = None
    kustomer_status_at: datetime | None = None
    # R-S12: the held change after this one. `clear_held` drops the one there was.
    held_cc_status: str | None = None
    held_kustomer_status_id: str | None = None
    held_at: datetime | None = None
    clear_held: bool = False
    # R-S9: push the agent's Kustomer work session to this status id.
    push_kustomer_status_id: str | None = None
    # R-S13: the agent's Kustomer choice to remember (None: keep what is known).
    kustomer_choice_id: str | None = None
    # R-O7: the flapping counters after this change (None: keep), a new hold, the
    # change remembered during one, or dropping what was remembered.
    flap_window_at: datetime | None = None
    flap_changes: int | None = None
    damped_until: datetime | None = None
    damped_cc_status: str | None = None
    damped_kustomer_status_id: str | None = None
    clear_damped: bool = False
    reason: str = ""


def _older(at: datetime, than: datetime | None) -> bool:
    return than is not None and at < than


def decide_status_change(
    *,
    settings: InheritanceSettings,
    status_map: StatusMap,
    agent: AgentState | None,
    live_instances: int,
    change: IncomingChange,
) -> Outcome:
    if agent is None:
        return Outcome(Decision.UNKNOWN_AGENT, None, reason="No agent with this email.")
    if change.source == SOURCE_KUSTOMER:
        outcome = _decide_kustomer_change(settings, status_map, agent, live_instances, change)
    else:
        outcome = _decide_cc_change(settings, status_map, agent, change)
    return _guard_flapping(settings, status_map, agent, change, outcome)


def _guard_flapping(settings: InheritanceSettings, status_map: StatusMap, agent: AgentState,
                    change: IncomingChange, outcome: Outcome) -> Outcome:
    """R-O7: count the agent's status changes per minute; past the limit, hold the agent
    at the last one and damp what comes during the hold (remembering the latest)."""
    if settings.flap_max_changes <= 0:
        return outcome
    moves = outcome.decision is Decision.APPLIED and outcome.cc_status_changed and outcome.cc_status != agent.cc_status
    if not moves:
        return outcome
    at = change.occurred_at
    if change.kind == KIND_DAMPED_RELEASE:
        return dataclasses.replace(outcome, clear_damped=True, flap_window_at=at, flap_changes=1)
    calls = (agent.busy_with_call or status_map.activity_of(outcome.cc_status) != ACTIVITY_NONE
             or change.kind == KIND_SYSTEM_NEXT)
    if calls:
        return outcome  # a call, a wrap-up and the CC's own next status always apply
    if agent.damped_until is not None and at < agent.damped_until:
        from_kustomer = change.source == SOURCE_KUSTOMER
        return Outcome(
            Decision.DAMPED, agent.cc_status,
            kustomer_status_id=outcome.kustomer_status_id, kustomer_status_at=outcome.kustomer_status_at,
            kustomer_choice_id=outcome.kustomer_choice_id,
            damped_cc_status=None if from_kustomer else outcome.cc_status,
            damped_kustomer_status_id=(change.kustomer_status_id or "") if from_kustomer else None,
            reason=(f"Held at {agent.cc_status} until {agent.damped_until:%H:%M:%S} UTC: the status changed more than "
                    f"{settings.flap_max_changes} times within a minute. {outcome.cc_status} applies when the hold "
                    "ends if nothing newer comes."),
        )
    window, count = agent.flap_window_at, agent.flap_changes
    if window is None or (at - window).total_seconds() >= FLAP_WINDOW_SECONDS:
        window, count = at, 0
    count += 1
    hold = at + timedelta(seconds=settings.flap_hold_seconds) if count > settings.flap_max_changes else None
    return dataclasses.replace(outcome, flap_window_at=window, flap_changes=count, damped_until=hold)


def _decide_kustomer_change(
    settings: InheritanceSettings, status_map: StatusMap, agent: AgentState, live_instances: int,
    change: IncomingChange,
) -> Outcome:
    keep = agent.cc_status
    if not settings.active:
        reason = ("Kustomer status inheritance is not available to this tenant." if not settings.available
                  else "Kustomer status inheritance is turned off.")
        return Outcome(Decision.INHERITANCE_OFF, keep, reason=reason)
    if live_instances > 1:
        return Outcome(
            Decision.SEVERAL_INSTANCES, keep,
            reason=f"The agent is signed in to {live_instances} Kustomer instances; sync follows exactly one.",
        )
    incoming = change.kustomer_status_id or ""
    at = change.occurred_at
    if _older(at, agent.kustomer_status_at):
        return Outcome(Decision.STALE, keep, reason="Older than the agent's latest Kustomer status (out of order).")
    pushing = agent.pending_push_kustomer_status_id
    if pushing and incoming != pushing and _older(at, agent.cc_status_at) and not change.force:
        # R-S13: the push of the agent's later CC change is on its way to Kustomer and
        # replaces this older Kustomer status there; applying it would split the two.
        return Outcome(Decision.STALE, keep,
                       reason="Older than the CC change whose status is being sent to Kustomer.")
    remember = {"kustomer_status_id": incoming, "kustomer_status_at": at, "kustomer_choice_id": incoming}
    # R-S13: a newer Kustomer change than the push in flight: Kustomer must keep it, not
    # take our older push after it, so the push is pointed at it.
    reassert = incoming if pushing and incoming != pushing and settings.pushes else None
    if not change.force:
        if incoming and incoming == agent.pending_push_kustomer_status_id:
            # Our own push coming back is what Kustomer holds, never the CRM's choice (R-S13).
            return Outcome(Decision.UNCHANGED, keep, kustomer_status_id=incoming, kustomer_status_at=at,
                           reason="Kustomer reports the status pushed from the contact center.")
        if incoming == (agent.kustomer_status_id or ""):
            return Outcome(Decision.UNCHANGED, keep, reason="The agent's Kustomer status did not change.")
        if settings.priority == LATEST_WINS and _older(at, agent.cc_status_at):
            # The CC's later change wins in both systems: Kustomer learns it too (R-S13).
            push = _set_back(settings, agent, status_map.push_as.get(keep or "", ""), holds=incoming)
            if push and not agent.busy_with_call:
                remember["kustomer_choice_id"] = push  # the agent's own, later choice
            return Outcome(Decision.STALE, keep, **remember, push_kustomer_status_id=push,
                           reason="Older than the agent's current CC status (latest change wins).")
    target = status_map.kustomer_to_cc.get(incoming)
    if change.kind == KIND_SIGN_OUT and settings.sign_out_cc_status:
        target = settings.sign_out_cc_status  # R-O6: the admin's choice for a Kustomer sign-out
    if target is None:
        # A later Kustomer change replaces a held one (R-S12), even an unmapped one:
        # the held status is no longer the agent's Kustomer status.
        return Outcome(Decision.UNMAPPED, keep, **remember, clear_held=True, push_kustomer_status_id=reassert,
                       reason="This Kustomer status is not mapped to a CC status.")
    if agent.busy_with_call:
        return Outcome(
            Decision.HELD, keep, **remember,
            held_cc_status=target, held_kustomer_status_id=incoming, held_at=at,
            reason=f"Held until the call ends: {target} becomes the agent's next status.",
        )
    new_at = at if agent.cc_status_at is None or at > agent.cc_status_at else agent.cc_status_at
    return Outcome(
        Decision.APPLIED, target, cc_status_at=new_at, cc_status_changed=True, **remember, clear_held=True,
        push_kustomer_status_id=reassert,
        reason="Sign-in: the agent's current Kustomer status applied." if change.force else "",
    )


def _decide_cc_change(
    settings: InheritanceSettings, status_map: StatusMap, agent: AgentState, change: IncomingChange
) -> Outcome:
    keep = agent.cc_status
    at = change.occurred_at
    requested = change.cc_status or ""
    if _older(at, agent.cc_status_at):
        return Outcome(Decision.STALE, keep, reason="Older than the agent's current CC status.")
    requested_activity = status_map.activity_of(requested)
    # The CC moving the agent on by itself at the end of a call or wrap-up: the moment
    # R-S12 (held change) and R-S7 CRM_OVERRIDES decide the next status. Other system
    # moves (e.g. the CC signing an idle agent out) are the CC's own.
    moving_on = change.kind == KIND_SYSTEM_NEXT and agent.busy_with_call and requested_activity == ACTIVITY_NONE

    if moving_on and settings.active and agent.held_cc_status:
        # R-S12: the Kustomer change held during the call is the agent's next status;
        # if our wrap-up push replaced it in Kustomer meanwhile, set Kustomer back (R-S13).
        held_id = agent.held_kustomer_status_id or ""
        return Outcome(
            Decision.APPLIED, agent.held_cc_status, cc_status_at=at, cc_status_changed=True, clear_held=True,
            push_kustomer_status_id=_set_back(settings, agent, held_id), kustomer_choice_id=held_id or None,
            reason=f"The Kustomer status held during the call applied instead of {requested}.",
        )
    if moving_on and settings.active and settings.priority == CRM_OVERRIDES:
        # R-S13: the CRM's choice, never the status we pushed for the call itself.
        choice = agent.kustomer_choice
        from_crm = status_map.kustomer_to_cc.get(choice)
        if from_crm:
            return Outcome(
                Decision.APPLIED, from_crm, cc_status_at=at, cc_status_changed=True, clear_held=True,
                push_kustomer_status_id=_set_back(settings, agent, choice),
                reason=f"CRM overrides the next status: {from_crm} from Kustomer instead of {requested}.",
            )
    # The CC's own change. Starting a call or moving into wrap-up keeps a held change
    # for the end of the call; any other change of the CC (the agent's own choice, or
    # the CC's next status) supersedes it.
    clear_held = requested_activity == ACTIVITY_NONE
    push = None
    choice = None
    inherits_at_sign_in = change.kind == KIND_SIGN_IN and settings.inherit_on_login
    if settings.pushes and not inherits_at_sign_in:
        chosen = status_map.push_as.get(requested)
        # Compared with what Kustomer holds once a push in flight lands: a push of the
        # call's status still on its way must not be left standing (R-S13).
        if chosen and chosen != agent.kustomer_status_soon:
            push = chosen
        if chosen and requested_activity == ACTIVITY_NONE:
            choice = chosen  # the agent's own choice, mirrored in Kustomer
    return Outcome(
        Decision.APPLIED, requested, cc_status_at=at, cc_status_changed=True, clear_held=clear_held,
        push_kustomer_status_id=push, kustomer_choice_id=choice,
    )


def _set_back(settings: InheritanceSettings, agent: AgentState, kustomer_status_id: str,
              holds: str | None = None) -> str | None:
    """R-S13: the push that sets Kustomer back to `kustomer_status_id`, if Kustomer will
    hold something else (`holds`, by default what it holds once our push in flight
    lands) and two-way pushes are on."""
    holds = agent.kustomer_status_soon if holds is None else holds
    if settings.pushes and kustomer_status_id and kustomer_status_id != holds:
        return kustomer_status_id
    return None


class Agreement(enum.Enum):
    """R-S13: how an agent's two statuses stand once nothing is in flight."""

    AGREE = "agree"
    NOT_TWO_WAY = "not_two_way"  # one-way sync: only Kustomer -> CC is kept in step
    IN_FLIGHT = "in_flight"  # a push or a held change is on its way
    PUSH_FAILED = "push_failed"
    NO_CHOSEN_STATUS = "no_chosen_status"
    UNMAPPED = "unmapped"
    DIFFERENT = "different"


@dataclass(frozen=True, slots=True)
class AgreementResult:
    agreement: Agreement
    reason: str = ""

    @property
    def agree(self) -> bool:
        return self.agreement in (Agreement.AGREE, Agreement.NOT_TWO_WAY, Agreement.IN_FLIGHT)


def status_agreement(*, settings: InheritanceSettings, status_map: StatusMap, agent: AgentState,
                     push_error: str = "", kustomer_name: str = "") -> AgreementResult:
    """R-S13: do the agent's CC status and Kustomer status agree? They do when the CC
    status is the one mapped from the Kustomer status, or Kustomer holds the status
    chosen for the CC status. Otherwise the reason, in words for the agent's page."""
    if not settings.pushes:
        return AgreementResult(Agreement.NOT_TWO_WAY)
    cc_status, kustomer_id = agent.cc_status or "", agent.kustomer_status_id or ""
    if agent.pending_push_kustomer_status_id or agent.held_cc_status:
        return AgreementResult(Agreement.IN_FLIGHT, "A change is on its way.")
    if agent.damped_cc_status or agent.damped_kustomer_status_id:
        return AgreementResult(Agreement.IN_FLIGHT, "Held by the flapping guard; the latest change applies after the hold.")
    if not cc_status or not kustomer_id:
        return AgreementResult(Agreement.AGREE)
    if status_map.kustomer_to_cc.get(kustomer_id) == cc_status or status_map.push_as.get(cc_status) == kustomer_id:
        return AgreementResult(Agreement.AGREE)
    shown = kustomer_name or kustomer_id
    if push_error:
        return AgreementResult(Agreement.PUSH_FAILED, f"Kustomer did not take the status sent for {cc_status}: {push_error}")
    if not status_map.push_as.get(cc_status):
        return AgreementResult(Agreement.NO_CHOSEN_STATUS,
                               f"No Kustomer status is chosen for {cc_status}, so Kustomer keeps {shown}.")
    if kustomer_id not in status_map.kustomer_to_cc:
        return AgreementResult(Agreement.UNMAPPED,
                               f"Kustomer status {shown} is not mapped to a contact-center status.")
    return AgreementResult(Agreement.DIFFERENT, f"Kustomer shows {shown} while the contact center shows {cc_status}.")
