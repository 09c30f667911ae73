"""R-P7: every message and note carries the time its event happened, also when it is
synced much later (here: days after the call, as after an outage)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tests.conversations.e2e_helpers import add_agent, apply, event

pytestmark = pytest.mark.e2e
CALL_TIME = datetime(2026, 11, 20, 9, 30, 15, 125000, tzinfo=timezone.utc)
WRAP_UP_TIME = datetime(2026, 11, 20, 9, 41, 2, tzinfo=timezone.utc)


def test_r_p7_messages_and_notes_carry_the_events_time(e2e):
    add_agent(e2e, "agent1@example.com")
    answered = apply(e2e, event("call.answered", "times-1", at=CALL_TIME))
    apply(e2e, event("disposition.submitted", "times-1", at=WRAP_UP_TIME, data={"code": "Refund"}))
    conv_id = answered["kustomer"]["conversation_id"]

    messages = e2e.sandbox.messages(conv_id)
    notes = e2e.sandbox.notes(conv_id)

    assert [m["attributes"]["sentAt"] for m in messages] == ["2026-11-20T09:30:15.125Z"]
    by_body = {n["attributes"]["body"].split(":")[0]: n["attributes"]["createdAt"] for n in notes}
    assert by_body["Phone number"] == "2026-11-20T09:30:15.125Z"
    assert [t for body, t in by_body.items() if "disposition" in body] == ["2026-11-20T09:41:02.000Z"]
