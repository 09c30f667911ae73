"""One agent's concurrent status events never lose an update (compare-and-set on the
agent's state, statusmapping/agent_state.py).

Runs on PostgreSQL only (SQLite serialises whole transactions, so it proves nothing):
DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_sm python -m pytest tests/statusmapping/test_concurrency.py
"""
from __future__ import annotations

import random
import threading
from datetime import datetime, timedelta, timezone

import pytest
from django.db import connection, connections

from statusmapping import services
from statusmapping.models import Agent, CCStatus, StatusChange
from tests.statusmapping.factories import AgentFactory, KustomerStatusFactory, inheritance_on, seed_map

pytestmark = pytest.mark.django_db(transaction=True)

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("write races need PostgreSQL (set DATABASE_URL)")


def _run_concurrently(calls, threads=8):
    """Run the callables from `threads` threads released at once; return results/errors."""
    barrier = threading.Barrier(threads)
    results, errors = [], []
    lock = threading.Lock()
    chunks = [calls[i::threads] for i in range(threads)]

    def worker(chunk):
        try:
            barrier.wait()
            for call in chunk:
                outcome = call()
                with lock:
                    results.append(outcome)
        except Exception as exc:  # surfaced by the assertion below
            with lock:
                errors.append(exc)
        finally:
            connections.close_all()

    pool = [threading.Thread(target=worker, args=(chunk,)) for chunk in chunks]
    for t in pool:
        t.start()
    for t in pool:
        t.join(60)
    assert not errors, errors
    return results


def test_concurrent_events_of_one_agent_end_on_the_latest_status(tenant):
    """R-S7 latest wins under a race: 40 Kustomer and CC events of one agent, sent from 8
    threads in shuffled order. Each is decided on the state the previous one left, so the
    agent ends on the status of the newest event and every event has its record."""
    inheritance_on(tenant)
    seed_map(tenant)
    AgentFactory(tenant=tenant, email="agent1@example.com")
    # Every Kustomer event names a status of its own (so none is merely "unchanged"),
    # mapped to one of three CC statuses.
    cc_of = {}
    for i in range(1, 40, 2):
        cc_of[f"ks-{i}"] = random.choice(["Available", "Break", "Lunch"])
        KustomerStatusFactory(tenant=tenant, kustomer_id=f"ks-{i}", cc_status=CCStatus.objects.get(
            tenant=tenant, name=cc_of[f"ks-{i}"]))
    events = []
    for i in range(40):
        at = T0 + timedelta(seconds=i)
        if i % 2:
            events.append(dict(event_id=f"k-{i}", source="kustomer", kustomer_status_id=f"ks-{i}", occurred_at=at))
        else:
            events.append(dict(event_id=f"c-{i}", source="contact_center", status=random.choice(["Meeting", "Training"]),
                               occurred_at=at))
    random.shuffle(events)
    newest = max(events, key=lambda e: e["occurred_at"])
    calls = [lambda e=e: services.agent_status_change_record(tenant=tenant, agent_email="agent1@example.com", **e)
             for e in events]
    _run_concurrently(calls)

    agent = Agent.objects.select_related("cc_status").get(email="agent1@example.com")
    assert agent.cc_status_at == newest["occurred_at"]
    expected = newest.get("status") or cc_of[newest["kustomer_status_id"]]
    assert agent.cc_status.name == expected
    assert StatusChange.objects.filter(agent=agent).count() == 40
    # Replaying the history in decision order reproduces the final state: no decision was
    # made on a state another transaction had already changed.
    applied = StatusChange.objects.filter(agent=agent, decision="applied").order_by("id")
    previous = ""
    for change in applied:
        assert change.from_status == previous, "a decision was made on a stale snapshot (lost update)"
        previous = change.to_status
    assert previous == expected


def test_same_event_id_from_many_threads_is_decided_once(tenant):
    inheritance_on(tenant)
    seed_map(tenant)
    AgentFactory(tenant=tenant, email="agent1@example.com")
    calls = [lambda: services.agent_status_change_record(
        tenant=tenant, event_id="st-dup", source="kustomer", agent_email="agent1@example.com",
        kustomer_status_id="k3", occurred_at=T0) for _ in range(16)]
    results = _run_concurrently(calls)
    assert len({r.pk for r in results}) == 1
    assert StatusChange.objects.filter(event_id="st-dup").count() == 1


def test_same_event_id_for_unknown_agent_from_many_threads(tenant):
    """No agent row to compare and set: the unique key on the event id settles the race."""
    calls = [lambda: services.agent_status_change_record(
        tenant=tenant, event_id="st-nobody", source="kustomer", agent_email="nobody@example.com",
        kustomer_status_id="k3", occurred_at=T0) for _ in range(16)]
    results = _run_concurrently(calls)
    assert {r.decision for r in results} == {"unknown_agent"}
    assert StatusChange.objects.filter(event_id="st-nobody").count() == 1
