"""End to end, SPEC §5: at most once, never lost, ordered per customer, and correct
under races, lost answers, 5xx and 429 storms and a worker killed mid-event."""
from __future__ import annotations

import os
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from conversations.models import Event, EventAction
from tests.conversations.e2e_helpers import apply, event, send, state, wait_done
from tests.e2e_fixtures import start_celery_worker

pytestmark = pytest.mark.e2e


def test_repeated_event_is_applied_once(e2e):
    body = event("call.answered", "s-rep", agent=None)
    first = apply(e2e, body)
    again = e2e.post("/api/v1/events", body)
    assert again.status_code == 200 and again.json()["state"] == "done"
    assert again.json()["kustomer"]["conversation_id"] == first["kustomer"]["conversation_id"]
    time.sleep(1.0)  # a second application, if there were one, would land now
    assert len(e2e.sandbox.customers()) == 1
    assert len(e2e.sandbox.conversations()) == 1
    assert len(e2e.sandbox.messages()) == 1 and len(e2e.sandbox.notes()) == 1
    conflicting = dict(body, data={"surprise": True})
    assert e2e.post("/api/v1/events", conflicting).status_code in (400, 409)


def test_twenty_concurrent_events_for_one_new_number_make_one_customer(e2e):
    """Twenty calls from one new number arrive at once: one customer, and, since each
    is the same menu and channel while the first conversation is open (R-U1), one
    conversation holding the twenty calls."""
    phone = "+14155550777"
    bodies = [event("call.answered", f"burst-{i}", phone=phone, agent=None) for i in range(20)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = list(pool.map(lambda b: e2e.post("/api/v1/events", b).status_code, bodies))
    assert codes == [202] * 20
    for b in bodies:
        wait_done(e2e, b["id"], timeout=120)
    customers = e2e.sandbox.customers()
    assert len(customers) == 1
    conversations = e2e.sandbox.conversations()
    assert len(conversations) == 1
    assert len(e2e.sandbox.messages(conversations[0]["id"])) == 20
    assert len(e2e.sandbox.notes(conversations[0]["id"])) == 1  # the phone note, once
    assert {e.kustomer_conversation_id for e in Event.objects.filter(event_id__in=[b["id"] for b in bodies])} == {
        conversations[0]["id"]}


def test_different_customers_run_in_parallel_and_each_gets_its_own(e2e):
    bodies = [event("call.answered", f"par-{i}", phone=f"+1415555{1000 + i:04d}", agent=None) for i in range(6)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda b: send(e2e, b), bodies))
    for b in bodies:
        wait_done(e2e, b["id"], timeout=90)
    assert len(e2e.sandbox.customers()) == 6 and len(e2e.sandbox.conversations()) == 6


def test_lost_answer_of_a_create_is_found_by_external_id(e2e):
    """Kustomer writes the conversation, then the connection drops before the answer:
    the retry looks the conversation up by its externalId instead of making another."""
    e2e.sandbox.inject_faults(drop_after_commit_next=1, methods=["POST"], path_contains="/conversations")
    done = apply(e2e, event("call.answered", "s-drop", agent=None), timeout=60)
    assert len(e2e.sandbox.conversations()) == 1
    assert done["kustomer"]["conversation_id"] == e2e.sandbox.conversations()[0]["id"]
    create = EventAction.objects.get(event__event_id=done["id"], kind="create_conversation")
    assert create.attempts == 2 and create.state == "done"


def test_5xx_storm_loses_nothing(e2e):
    """503s on most requests for a while: every event ends done, nothing doubled."""
    # 6 failures at most per event stays well under the cap (MAX_TRANSIENT_FAILURES), whatever
    # the interleaving; the storm hits every kind of request (GET, PUT, POST).
    e2e.sandbox.inject_faults(error_next=6, error_status=503)
    bodies = [event("call.answered", f"storm-{i}", phone=f"+1415555{2000 + i:04d}", agent=None) for i in range(4)]
    for b in bodies:
        send(e2e, b)
    for b in bodies:
        wait_done(e2e, b["id"], timeout=180)
    assert len(e2e.sandbox.customers()) == 4 and len(e2e.sandbox.conversations()) == 4
    assert len(e2e.sandbox.messages()) == 4 and len(e2e.sandbox.notes()) == 4
    assert sum(Event.objects.get(event_id=b["id"]).transient_failures for b in bodies) >= 1


def test_429_storm_is_a_pause_not_a_failure(e2e):
    e2e.sandbox.inject_faults(rate_limit_storm_seconds=4)
    started = time.monotonic()
    bodies = [event("call.answered", f"rl-{i}", phone=f"+1415555{3000 + i:04d}", agent=None) for i in range(3)]
    for b in bodies:
        send(e2e, b)
    for b in bodies:
        got = wait_done(e2e, b["id"], timeout=120)
        assert got["error"] == ""
    assert time.monotonic() - started >= 3  # the storm was waited out, not failed through
    for b in bodies:
        assert Event.objects.get(event_id=b["id"]).transient_failures == 0  # 429 is not a failure
    assert len(e2e.sandbox.conversations()) == 3 and len(e2e.sandbox.messages()) == 3
    assert any(r["status"] == 429 for r in e2e.sandbox.requests())


def test_permanent_error_fails_visibly_and_retry_completes(e2e):
    """A click-to-call naming a customer Kustomer does not have fails with Kustomer's
    message and writes nothing; Retry runs it again (and, nothing having changed in
    Kustomer, it fails again with the same message)."""
    from statusmapping.services import agent_create

    agent_create(tenant=e2e.tenant, email="agent1@example.com")  # click-to-call is for the tenant's agents
    r = e2e.post("/api/v1/click-to-call", {"agent_email": "agent1@example.com", "phone": "+14155550888",
                                           "kustomer_customer_id": "0" * 24})
    assert r.status_code == 201
    event_id = r.json()["event_id"]
    got = e2e.wait_for(lambda: (s := state(e2e, event_id))["state"] == "failed" and s, what="failed event")
    assert "not" in got["error"].lower() or "404" in got["error"]
    assert e2e.sandbox.conversations() == [] and e2e.sandbox.messages() == []
    # The portal shows it with a Retry button.
    retry = e2e.post(f"/api/v1/events/{event_id}/retry", {})
    assert retry.status_code == 202
    got = e2e.wait_for(lambda: (s := state(e2e, event_id))["state"] == "failed" and s["attempts"] >= 2 and s,
                       what="failed again")
    assert got["attempts"] >= 2


def test_worker_killed_mid_event_completes_once(e2e):
    """A worker is SIGKILLed while Kustomer is writing the event's message (the write
    lands after it died). The sweeper re-queues the event; another worker completes it,
    finding the message by its externalId: exactly one of everything."""
    from conversations import services
    from conversations.tasks import event_process_task
    from integrations.kustomer.external_ids import external_id as ext_id

    victim_queue = f"victim-{uuid.uuid4().hex[:6]}"
    victim = start_celery_worker(victim_queue, concurrency=1, log_name="victim-worker")
    proc = victim.proc
    try:
        body = event("call.answered", "s-kill", phone="+14155550999", agent=None)
        # Stored like the inbox stores it, but delivered to the victim worker only.
        ev = Event.objects.create(
            tenant=e2e.tenant, event_id=body["id"], type=body["type"], occurred_at=body["occurred_at"],
            session_id="s-kill", customer_key="+14155550999", raw_body="{}", body_hash="x" * 64, payload=body,
        )
        e2e.sandbox.inject_faults(latency_ms=3000, methods=["POST"], path_contains="/messages")
        event_process_task.apply_async((ev.pk,), queue=victim_queue)
        e2e.wait_for(lambda: EventAction.objects.filter(event=ev, kind="add_message", attempts__gte=1).exists(),
                     timeout=30, what="the victim to send the message")
        time.sleep(0.5)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        ev.refresh_from_db()
        assert ev.state == "processing"
        # The write lands after the worker died.
        e2e.wait_for(lambda: len(e2e.sandbox.messages()) == 1, timeout=10, what="the late write")
        e2e.sandbox.clear_faults()

        def swept_and_done():
            services.events_sweep(older_than=timedelta(0))
            return Event.objects.get(pk=ev.pk).state == "done"

        e2e.wait_for(swept_and_done, timeout=60, interval=1.0, what="the swept event to complete")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    ev.refresh_from_db()
    assert ev.attempts >= 2
    assert len(e2e.sandbox.customers()) == 1 and len(e2e.sandbox.conversations()) == 1
    [message] = e2e.sandbox.messages()
    assert message["attributes"]["externalId"] == ext_id(e2e.tenant.slug, "message", body["id"], 3)
    action = EventAction.objects.get(event=ev, kind="add_message")
    assert action.state == "done" and action.attempts == 2 and action.result.get("found") is True


def test_events_of_one_customer_wait_behind_a_retrying_one_and_apply_in_order(e2e):
    """The first event of a customer hits a 503 and waits for its retry; the customer's
    later events wait behind it and then apply in occurred_at order (the last transfer
    decides the assignee)."""
    from tests.conversations.e2e_helpers import add_agent

    add_agent(e2e, "agent1@example.com")
    add_agent(e2e, "agent2@example.com")
    a3 = add_agent(e2e, "agent3@example.com")
    e2e.sandbox.inject_faults(error_next=1, methods=["POST"], path_contains="/customers")
    phone = "+14155550444"
    first = event("call.answered", "s-ord", phone=phone)
    second = event("session.transferred", "s-ord", phone=phone, data={"to_agent_email": "agent2@example.com"})
    third = event("session.transferred", "s-ord", phone=phone, data={"to_agent_email": "agent3@example.com"})
    for b in (first, second, third):
        send(e2e, b)
    done = [wait_done(e2e, b["id"], timeout=90) for b in (first, second, third)]
    assert Event.objects.get(event_id=first["id"]).transient_failures == 1
    finished = [Event.objects.get(event_id=b["id"]).finished_at for b in (first, second, third)]
    assert finished == sorted(finished)
    [conv] = e2e.sandbox.conversations()
    assert conv["attributes"]["assignedUsers"] == [a3]
    assert {d["kustomer"]["conversation_id"] for d in done} == {conv["id"]}
