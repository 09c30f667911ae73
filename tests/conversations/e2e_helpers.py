"""Helpers of the end-to-end tests: events as the contact center sends them, and
readers of what the sandbox org then holds."""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from typing import Any

from kustomer_sandbox.store import add_user

_seq = itertools.count(1)
BASE = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)


def event(type_: str, session: str, *, phone: str | None = "+14155550123", identifier: str | None = None,
          channel: str = "voice", source: str = "ivr", menu: str | None = "Billing > Refunds",
          agent: str | None = "agent1@example.com", data: dict | None = None, recording: bool = False,
          at: datetime | None = None, event_id: str | None = None) -> dict[str, Any]:
    n = next(_seq)
    return {
        "id": event_id or f"evt-{type_}-{session}-{n}",
        "type": type_,
        "occurred_at": (at or BASE + timedelta(seconds=n)).isoformat(),
        "session": {"id": session, "channel": channel, "source": source, "menu": menu, "queue": "Billing",
                    "language": "en", "recording_enabled": recording},
        "end_user": {"phone": phone, "identifier": identifier, "name": "Ann Lee", "email": None},
        "agent": {"email": agent} if agent else None,
        "data": data or {},
    }


def send(e2e, body: dict) -> dict:
    r = e2e.post("/api/v1/events", body)
    assert r.status_code == 202, r.text
    return r.json()


def state(e2e, event_id: str) -> dict:
    r = e2e.get(f"/api/v1/events/{event_id}")
    assert r.status_code == 200, r.text
    return r.json()


def wait_done(e2e, event_id: str, timeout: float = 45) -> dict:
    got = e2e.wait_for(lambda: (s := state(e2e, event_id))["state"] in ("done", "failed") and s,
                       timeout=timeout, what=f"event {event_id} finished")
    assert got["state"] == "done", got
    return got


def apply(e2e, body: dict, timeout: float = 45) -> dict:
    send(e2e, body)
    return wait_done(e2e, body["id"], timeout)


def add_agent(e2e, email: str, name: str = "Agent") -> str:
    org = e2e.sandbox.org
    with e2e.sandbox.server.state.lock:
        return add_user(org, name=name, email=email)["id"]


def conversation(e2e, conversation_id: str) -> dict:
    return next(c for c in e2e.sandbox.conversations() if c["id"] == conversation_id)


def customer(e2e, customer_id: str) -> dict:
    return next(c for c in e2e.sandbox.customers() if c["id"] == customer_id)


def attachment_ids(record: dict) -> list[str]:
    rel = record.get("relationships", {}).get("attachments", {})
    return [a["id"] for a in rel.get("data", [])]


def note_attachment_ids(e2e, note_id: str) -> list[str]:
    with e2e.sandbox.server.state.lock:
        return list(e2e.sandbox.org.notes[note_id]["attachments"])
