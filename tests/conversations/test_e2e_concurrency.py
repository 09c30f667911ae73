"""End to end, SPEC §5 under the threads pool (docs/concurrency.md): many customers and
tenants in flight in one worker process, one customer's events still one at a time and
in order; a tenant whose work waits (a 429 pause, a slow Kustomer) gives its worker
slots back and holds at most SYNC_TENANT_IN_FLIGHT of them."""
from __future__ import annotations

import secrets
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from conversations.models import Event
from tests.conversations.e2e_helpers import event, send, wait_done
from tests.e2e_fixtures import start_celery_worker, stop_celery_worker

pytestmark = pytest.mark.e2e


def _runs(event_ids: list[str]) -> list[tuple[float, float]]:
    """(start, end) of each event's successful run, in the order given."""
    out = []
    for event_id in event_ids:
        ev = Event.objects.get(event_id=event_id)
        out.append((ev.processing_started_at.timestamp(), ev.finished_at.timestamp()))
    return out


def test_one_customers_events_stay_ordered_while_many_customers_run_at_once(e2e):
    """SPEC §5: four customers' calls, eight each, sent at once to a threaded worker
    whose Kustomer answers in 50 ms: different customers' events overlap in time, one
    customer's never do, and each conversation holds its messages in occurred_at order."""
    assert "(thread)" in e2e.worker.log(), "the e2e worker runs the threads pool"
    e2e.sandbox.inject_faults(latency_ms=50)
    phones = [f"+1415555{2100 + c:04d}" for c in range(4)]
    per_customer = {p: [event("call.answered", f"ord-{p[-4:]}-{i}", phone=p, agent=None) for i in range(8)]
                    for p in phones}

    def send_customer(bodies):
        for b in bodies:  # in order per customer; customers interleave
            send(e2e, b)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(send_customer, per_customer.values()))
    for bodies in per_customer.values():
        for b in bodies:
            wait_done(e2e, b["id"], timeout=120)

    overlaps_across_customers = 0
    all_runs = {p: _runs([b["id"] for b in bodies]) for p, bodies in per_customer.items()}
    for phone, runs in all_runs.items():
        for (_, end), (start, _) in zip(runs, runs[1:]):
            assert start >= end, f"{phone}: an event started before the one before it finished"
        for other, other_runs in all_runs.items():
            if other != phone:
                overlaps_across_customers += sum(
                    1 for s, e in runs for s2, e2 in other_runs if s < e2 and s2 < e)
    assert overlaps_across_customers > 0, "different customers' events never ran at the same time"

    conversations = e2e.sandbox.conversations()
    assert len(conversations) == 4
    for conv in conversations:
        messages = e2e.sandbox.messages(conv["id"])  # in the order Kustomer created them
        assert len(messages) == 8
        phone = Event.objects.get(kustomer_conversation_id=conv["id"], session_id__endswith="-0").customer_key
        expected = [Event.objects.get(event_id=b["id"]).kustomer_ids["message_ids"][0] for b in per_customer[phone]]
        assert [m["id"] for m in messages] == expected


@pytest.fixture
def fair_worker(e2e, monkeypatch):
    """A threaded worker of three slots on a queue of its own, each tenant allowed two."""
    from portal.celery import app

    queue = f"fair-{uuid.uuid4().hex[:6]}"
    monkeypatch.setenv("SYNC_TENANT_IN_FLIGHT", "2")
    monkeypatch.setenv("SYNC_BUDGET_WAIT_SECONDS", "1")
    worker = start_celery_worker(queue, concurrency=3, log_name="fair-worker", pool="threads")
    default_queue = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    try:
        yield worker
    finally:
        app.conf.task_default_queue = default_queue
        stop_celery_worker(worker)


def _noisy_tenant(e2e):
    """A second tenant on an org of its own (its own budget: org_key from the org id)."""
    from core.crypto import encrypt_secret
    from integrations.models import KustomerConnection
    from tests.tenants.factories import TenantFactory, make_api_key

    server = e2e.sandbox.server
    api_key = secrets.token_hex(20)
    org = server.create_org(f"noisy-{secrets.token_hex(3)}", api_key)
    tenant = TenantFactory(name="Noisy", slug=f"noisy-{uuid.uuid4().hex[:6]}")
    KustomerConnection.objects.create(tenant=tenant, base_url=server.url, api_key_encrypted=encrypt_secret(api_key),
                                      verify_state=KustomerConnection.VerifyState.OK, kustomer_org_id=org.id)
    KustomerConnection.objects.filter(tenant=e2e.tenant).update(kustomer_org_id=e2e.sandbox.org_id)
    _, plain = make_api_key(tenant)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {plain}"
    return tenant, org, session


def _send_as(session, url, body):
    r = session.post(url + "/api/v1/events", json=body, timeout=30)
    assert r.status_code == 202, r.text


def _wait_done_db(e2e, tenant, event_ids: list[str], timeout: float) -> None:
    def all_done():
        states = set(Event.objects.filter(tenant=tenant, event_id__in=event_ids).values_list("state", flat=True))
        assert "failed" not in states
        return states == {"done"}

    e2e.wait_for(all_done, timeout=timeout, interval=0.5, what="the noisy tenant's events done")


def _quiet_round(e2e, n: int, tag: str) -> float:
    bodies = [event("call.answered", f"{tag}-{i}", phone=f"+1415555{3100 + i:04d}", agent=None) for i in range(n)]
    started = time.monotonic()
    for b in bodies:
        send(e2e, b)
    for b in bodies:
        wait_done(e2e, b["id"], timeout=60)
    return time.monotonic() - started


def test_a_slow_tenant_holds_at_most_its_slots_and_the_rest_wait_parked(e2e, fair_worker):
    """SPEC §5 fairness: the noisy tenant's Kustomer answers in 1.5 s; its eight events
    of eight customers take at most two of the worker's three slots (the others wait
    parked, off the worker), so the quiet tenant's calls are applied meanwhile."""
    tenant, org, session = _noisy_tenant(e2e)
    from kustomer_sandbox.faults import fault_config_update

    with e2e.sandbox.server.state.lock:
        fault_config_update(org.faults, {"latency_ms": 1500})
    noisy = [event("call.answered", f"slow-{i}", phone=f"+1415555{3200 + i:04d}", agent=None) for i in range(8)]
    for b in noisy:
        _send_as(session, e2e.url, b)
    e2e.wait_for(lambda: Event.objects.filter(tenant=tenant, parked_at__isnull=False).count() >= 4,
                 timeout=20, what="the noisy tenant's events beyond its two slots parked")
    took = _quiet_round(e2e, 3, "quiet-slow")
    assert took < 12, f"the quiet tenant waited {took:.1f} s behind the slow one"
    assert Event.objects.filter(tenant=tenant).exclude(state="done").count() >= 3, "the slow tenant was not slower"
    _wait_done_db(e2e, tenant, [b["id"] for b in noisy], timeout=120)
    # Never more than two of the noisy tenant's events in flight at once.
    runs = sorted(_runs([b["id"] for b in noisy]))
    most = max(sum(1 for s, e in runs if s <= start < e) for start, _ in runs)
    assert most <= 2, f"{most} of the noisy tenant's events ran at once (cap 2)"
    assert not Event.objects.filter(tenant=tenant, parked_at__isnull=False).exists()


def test_a_429_storm_pauses_only_that_org_and_its_events_give_their_slots_back(e2e, fair_worker):
    """SPEC §5: the noisy org answers 429 (Retry-After 20 s) to everything; its events
    wait for the pause re-queued with a countdown, not in a worker, so every slot stays
    free for the quiet tenant, whose own org's budget is untouched; afterwards the
    noisy events complete."""
    tenant, org, session = _noisy_tenant(e2e)
    from kustomer_sandbox.faults import fault_config_update

    with e2e.sandbox.server.state.lock:
        fault_config_update(org.faults, {"rate_limit_storm_seconds": 20})
    noisy = [event("call.answered", f"storm-{i}", phone=f"+1415555{3300 + i:04d}", agent=None) for i in range(6)]
    for b in noisy:
        _send_as(session, e2e.url, b)
    e2e.wait_for(lambda: Event.objects.filter(tenant=tenant, next_attempt_at__isnull=False).count() >= 2,
                 timeout=20, what="the noisy tenant's events waiting for the pause")
    took = _quiet_round(e2e, 4, "quiet-storm")
    assert took < 8, f"the quiet tenant waited {took:.1f} s behind the 429 storm"
    waiting = Event.objects.filter(tenant=tenant).exclude(state="done")
    assert waiting.count() == 6, "the storm was over before the quiet tenant's round"
    assert [r for r in e2e.sandbox.requests() if r["status"] == 429] == []  # the quiet org was never refused
    _wait_done_db(e2e, tenant, [b["id"] for b in noisy], timeout=90)
