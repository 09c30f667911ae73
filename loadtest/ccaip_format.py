"""CCAI Platform's external session events, built from its documented schema and state
table only (docs/ccai-platform.md): pure functions, no I/O.

A delivery is `{"count": N, "events": [...]}`; an event object carries `event_id` (a
UUID), `timestamp` (epoch ms) and the session's `item`, which each update enriches:

    1 started   connected      external connected          call_id, dn
    2 routing   connected      external connected          queue_path_names, initiator (virtual agent)
    3 assigned  connected      agent accepted              the live agent's name and id
    4 active    connected      agent connected             media connected
    5 ended     disconnected   both disconnected           ends_at
    6 final     disconnected   agent dispositionSubmitted  dispositions (code, custom_code_id, note)

Used by the tests (fixtures) and by the simulator (`simulate_traffic --format ccaip`).
Event ids are uuid5 of the session and the step, so the same session gives the same
deliveries (a resend is a true duplicate).
"""
from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

NAMESPACE = uuid.UUID("6f1c2a9e-55d4-4f0b-8f43-0b7c3e1d9a21")
VIRTUAL_AGENT = "virtual_agent_15"


@dataclass(frozen=True)
class Agent:
    id: str
    name: str

    @property
    def initiator(self) -> str:
        return f"agent_{self.id}"


def _iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


class _Session:
    """Builds one session's updates; each is a deep copy of the enriched item."""

    def __init__(self, *, call_id: str, dn: str, start: datetime) -> None:
        self.call_id = call_id
        self.start = start
        self.item: dict[str, Any] = {
            "call_id": call_id, "state": "connected", "dn": dn,
            "participants": [{"type": "external", "status": "connected"}],
            "connected_at": _iso(start),
        }
        self.events: list[dict[str, Any]] = []

    def emit(self, step: str, seconds: float) -> None:
        self.events.append({
            "event_id": str(uuid.uuid5(NAMESPACE, f"{self.call_id}/{len(self.events)}/{step}")),
            "timestamp": _ms(self.start + timedelta(seconds=seconds)),
            "item": copy.deepcopy(self.item),
        })

    def agent(self, agent: Agent) -> dict[str, Any]:
        for p in self.item["participants"]:
            if p.get("type") == "agent" and p.get("id") == agent.id:
                return p
        p = {"type": "agent", "status": "accepted", "id": agent.id, "name": agent.name}
        self.item["participants"].append(p)
        return p

    def started(self) -> None:
        self.emit("started", 0)

    def routing(self, queue_path_names: list[str], at: float) -> None:
        self.item["queue_path_names"] = list(queue_path_names)
        self.item["initiator"] = VIRTUAL_AGENT
        self.emit("routing", at)

    def assigned(self, agent: Agent, at: float) -> None:
        self.agent(agent)["status"] = "accepted"
        self.item["initiator"] = agent.initiator
        self.emit("assigned", at)

    def active(self, agent: Agent, at: float) -> None:
        for p in self.item["participants"]:
            if p.get("type") == "agent" and p.get("id") != agent.id:
                p["status"] = "disconnected"  # the agent who handed the session over
        self.agent(agent)["status"] = "connected"
        self.item["initiator"] = agent.initiator
        self.emit("active", at)

    def ended(self, at: float) -> None:
        self.item["state"] = "disconnected"
        for p in self.item["participants"]:
            p["status"] = "disconnected"
        self.item["ends_at"] = _iso(self.start + timedelta(seconds=at))
        self.emit("ended", at)

    def final(self, agent: Agent, at: float, *, code: str, custom_code_id: str | None, note: str | None) -> None:
        self.agent(agent)["status"] = "dispositionSubmitted"
        self.item["dispositions"] = {"code": code, "custom_code_id": custom_code_id, "note": note}
        self.emit("final", at)


def answered_session(*, call_id: str, dn: str, start: datetime, agent: Agent, queue_path_names: list[str],
                     talk_seconds: float = 95, code: str = "Resolved", custom_code_id: str | None = "7",
                     note: str | None = "Refund issued") -> list[dict[str, Any]]:
    """Started → routing → assigned → active → ended → final (the documented table)."""
    s = _Session(call_id=call_id, dn=dn, start=start)
    s.started()
    s.routing(queue_path_names, 3)
    s.assigned(agent, 20)
    s.active(agent, 24)
    s.ended(24 + talk_seconds)
    s.final(agent, 24 + talk_seconds + 30, code=code, custom_code_id=custom_code_id, note=note)
    return s.events


def abandoned_session(*, call_id: str, dn: str, start: datetime, queue_path_names: list[str],
                      wait_seconds: float = 42) -> list[dict[str, Any]]:
    """Started → routing → ended: the caller hung up before any agent."""
    s = _Session(call_id=call_id, dn=dn, start=start)
    s.started()
    s.routing(queue_path_names, 3)
    s.ended(wait_seconds)
    return s.events


def transferred_session(*, call_id: str, dn: str, start: datetime, first: Agent, second: Agent,
                        queue_path_names: list[str], code: str = "Transferred and resolved") -> list[dict[str, Any]]:
    """The first agent answers, then the session moves to a second agent (assigned,
    then active while the first one is disconnected), who ends and dispositions it."""
    s = _Session(call_id=call_id, dn=dn, start=start)
    s.started()
    s.routing(queue_path_names, 3)
    s.assigned(first, 15)
    s.active(first, 18)
    s.assigned(second, 70)
    s.active(second, 75)
    s.ended(160)
    s.final(second, 190, code=code, custom_code_id=None, note="Moved to billing specialist")
    return s.events


def delivery(events: list[dict[str, Any]]) -> dict[str, Any]:
    """One POST body: `{"count": N, "events": [...]}`."""
    return {"count": len(events), "events": list(events)}


# ----------------------------------------------------------------------------- simulator
#: Session mix of a CCAI Platform day (sessions, not deliveries).
CCAIP_SCENARIOS = {"call": 50, "call_transferred": 10, "call_abandoned": 15, "chat": 20, "chat_abandoned": 5}


@dataclass
class CcaipDay:
    sends: list  # loadtest.traffic.Send, kind "ccaip"
    sessions: int
    scenarios: dict[str, int]
    repeats: int
    disordered: int
    agent_map: str  # the lines to paste into the portal's Agents field


def generate_ccaip_day(*, agents: int, deliveries: int, seed: int, start: datetime, run_id: str, calls_url: str,
                       auth: tuple[str, str], agent_domain: str = "example.com", rate: float = 10.0,
                       disorder: float = 0.0, repeat: float = 0.0) -> CcaipDay:
    """About ``deliveries`` CCAI Platform deliveries (one event object each) for a day of
    calls and chats, scheduled at ``rate`` a second: each session's updates in the
    documented order, timestamped when they are due; ``disorder`` of the sessions have
    their updates sent shuffled, and each delivery is sent a second time with
    probability ``repeat`` (both as CCAI Platform's retries and races would)."""
    import random

    import phonenumbers

    from loadtest.traffic import Send

    rng = random.Random(seed)
    chats_url = calls_url[: -len("/calls")] + "/chats" if calls_url.endswith("/calls") else calls_url
    people = [Agent(id=str(i), name=f"agent{i}") for i in range(1, agents + 1)]
    phones: list[str] = []

    def phone() -> str:
        if phones and rng.random() < 0.25:
            return rng.choice(phones)  # a returning caller: R-U1 may join their open conversation
        while True:
            number = f"+1{rng.choice(('415', '212', '312', '646', '617'))}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
            if phonenumbers.is_valid_number(phonenumbers.parse(number)):
                phones.append(number)
                return number

    steps: list[tuple[float, int, str, dict[str, Any]]] = []  # (day second, session no, url, event)
    scenarios: dict[str, int] = {}
    sessions = 0
    names, weights = zip(*CCAIP_SCENARIOS.items())
    t = 0.0
    while len(steps) < deliveries:
        sessions += 1
        scenario = rng.choices(names, weights)[0]
        scenarios[scenario] = scenarios.get(scenario, 0) + 1
        call_id = f"{run_id}-{sessions:06d}"
        queue = rng.choice((["Billing", "Refunds"], ["Billing", "Invoices"], ["Orders"], ["Support"], ["Sales"]))
        begin = start + timedelta(seconds=t)
        first = rng.choice(people)
        if scenario in ("call", "chat"):
            events = answered_session(call_id=call_id, dn=phone(), start=begin, agent=first, queue_path_names=queue,
                                      talk_seconds=rng.randint(30, 600), code=rng.choice(("Resolved", "Follow-up")),
                                      custom_code_id=None, note=None)
        elif scenario == "call_transferred":
            second = rng.choice([p for p in people if p != first] or people)
            events = transferred_session(call_id=call_id, dn=phone(), start=begin, first=first, second=second,
                                         queue_path_names=queue)
        else:
            events = abandoned_session(call_id=call_id, dn=phone(), start=begin, queue_path_names=queue,
                                       wait_seconds=rng.randint(5, 300))
        url = chats_url if scenario.startswith("chat") else calls_url
        for event in events:
            steps.append(((event["timestamp"] - int(start.timestamp() * 1000)) / 1000, sessions, url, event))
        t += rng.expovariate(1 / 20)  # a session starts about every 20 s of the day
    steps.sort(key=lambda s: (s[0], s[1]))
    step = 1.0 / rate if rate > 0 else 0.0
    base_ms = int(start.timestamp() * 1000)
    # Timestamps are when each update is due (the day compressed to the rate), strictly
    # increasing, so each session's updates keep their documented order.
    for index, (_, _, _, event) in enumerate(steps):
        event["timestamp"] = base_ms + int(index * step * 1000) + index
    by_session: dict[int, list[int]] = {}
    for index, (_, number, _, _) in enumerate(steps):
        by_session.setdefault(number, []).append(index)
    disordered = 0
    for slots in by_session.values():
        if len(slots) > 1 and rng.random() < disorder:
            disordered += 1
            bodies = [steps[i][3] for i in slots]
            rng.shuffle(bodies)
            for i, body in zip(slots, bodies):
                steps[i] = (*steps[i][:3], body)
    order: list[tuple[int, str, dict[str, Any]]] = [(number, url, event) for _, number, url, event in steps]
    repeats = 0
    for index in range(len(order) - 1, -1, -1):
        if rng.random() < repeat:
            repeats += 1
            later = min(len(order), index + 1 + rng.randint(0, 20))
            order.insert(later, order[index])
    sends = []
    for index, (number, url, event) in enumerate(order):
        sends.append(Send(at=index * step, kind="ccaip", path=url, body=delivery([event]), key=f"ccaip:{number}",
                          label="ccaip", scenario="ccaip", auth=auth))
    agent_map = "\n".join(f"{p.id} = {p.name}@{agent_domain}" for p in people)
    return CcaipDay(sends=sends, sessions=sessions, scenarios=scenarios, repeats=repeats, disordered=disordered,
                    agent_map=agent_map)
