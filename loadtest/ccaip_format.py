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
