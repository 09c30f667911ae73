"""R-O2 end to end (HTTP in, PostgreSQL, a Celery worker, the Kustomer sandbox): a
session with no end event N hours after its last event is closed out with a note on its
conversation, made once; its later events still apply."""
from __future__ import annotations

from datetime import timedelta

import pytest

from conversations.models import Event
from conversations.services.close_out import close_out_event_id, sessions_close_out
from tests.conversations.e2e_helpers import BASE, add_agent, apply, event, wait_done

pytestmark = pytest.mark.e2e


def test_r_o2_a_session_without_an_end_is_closed_out_once_and_later_events_apply(e2e):
    add_agent(e2e, "agent1@example.com")
    answered = apply(e2e, event("call.answered", "s-open", at=BASE))
    ended = event("call.answered", "s-ended", phone="+14155550199", at=BASE)
    apply(e2e, ended)
    apply(e2e, event("session.ended", "s-ended", phone="+14155550199", at=BASE + timedelta(minutes=5),
                     data={"duration_seconds": 300}))
    conversation_id = answered["kustomer"]["conversation_id"]

    assert sessions_close_out(now=BASE + timedelta(hours=3)) == 0  # not 4 hours yet (the default)
    assert sessions_close_out(now=BASE + timedelta(hours=4, minutes=1)) == 1  # only the session without an end
    closed = wait_done(e2e, close_out_event_id("s-open"))
    assert closed["type"] == "session.closed_out"
    notes = [n["attributes"]["body"] for n in e2e.sandbox.notes(conversation_id)]
    closing = [b for b in notes if "closed out by the portal" in b]
    assert len(closing) == 1 and "within 4 hours" in closing[0]
    assert sessions_close_out(now=BASE + timedelta(hours=9)) == 0  # made once

    late = apply(e2e, event("session.ended", "s-open", at=BASE + timedelta(hours=5), data={"duration_seconds": 60}))
    assert late["kustomer"]["conversation_id"] == conversation_id  # the late end still applies to its conversation
    assert len([m for m in e2e.sandbox.messages(conversation_id) if "ended" in m["attributes"]["preview"]]) == 1
    assert Event.objects.filter(tenant=e2e.tenant, session_id="s-open", type="session.closed_out").count() == 1


def test_r_o2_the_tenant_sets_the_hours_or_turns_it_off(e2e):
    assert e2e.get("/api/v1/sync-settings").json()["close_out_after_hours"] == 4
    r = e2e.api.put(e2e.url + "/api/v1/sync-settings", json={"close_out_after_hours": 1}, timeout=10)
    assert r.status_code == 200 and r.json()["close_out_after_hours"] == 1
    apply(e2e, event("session.started", "s-chat", channel="chat", source="web_sdk", agent=None, at=BASE))
    assert sessions_close_out(now=BASE + timedelta(minutes=61)) == 1
    wait_done(e2e, close_out_event_id("s-chat"))
    e2e.api.put(e2e.url + "/api/v1/sync-settings", json={"close_out_after_hours": 0}, timeout=10)
    apply(e2e, event("session.started", "s-chat2", channel="chat", source="web_sdk", agent=None, at=BASE))
    assert sessions_close_out(now=BASE + timedelta(days=3)) == 0
    bad = e2e.api.put(e2e.url + "/api/v1/sync-settings", json={"close_out_after_hours": -1}, timeout=10)
    assert bad.status_code == 400 and "close_out_after_hours" in bad.json()["errors"]


@pytest.mark.unit
def test_r_o2_the_close_out_runs_on_beats_schedule_queued_once():
    from conversations.tasks import sessions_close_out_task
    from portal.celery import app

    app.finalize(auto=True)  # collects each app's schedule.py
    entry = app.conf.beat_schedule["conversations-close-out-sessions"]
    assert entry["task"] == sessions_close_out_task.name and entry["schedule"] <= 600
    assert getattr(sessions_close_out_task, "queued_once", False)
