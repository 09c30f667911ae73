"""End to end, as a CCAI Platform tenant feeds the product: HTTP into the real
endpoint (basic auth), PostgreSQL, a Celery worker on Redis, HTTP out to the Kustomer
sandbox; each test is judged by what the sandbox holds."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest
import requests

from ccaip import services
from loadtest import ccaip_format as fmt
from tests.conversations.e2e_helpers import add_agent, wait_done

pytestmark = pytest.mark.e2e

T0 = datetime(2026, 12, 1, 22, 0, tzinfo=timezone.utc)
ANN, BO = fmt.Agent("15", "Ann Agent"), fmt.Agent("22", "Bo Agent")
QUEUE = ["Billing", "Refunds"]


@pytest.fixture
def ccaip(e2e):
    """The tenant's endpoint and credentials, and its two agents known to Kustomer."""
    endpoint, password = services.endpoint_credentials_set(tenant=e2e.tenant, username="ccaip-e2e")
    services.endpoint_agent_emails_set(tenant=e2e.tenant, text="15 = ann@example.com\n22 = bo@example.com")
    users = {"ann": add_agent(e2e, "ann@example.com", "Ann Agent"), "bo": add_agent(e2e, "bo@example.com", "Bo Agent")}

    class Feed:
        def post(self, events, *, channel="calls", password=password) -> requests.Response:
            return requests.post(f"{e2e.url}/api/v1/ccai-platform/{endpoint.public_id}/{channel}",
                                 json=fmt.delivery(events), auth=("ccaip-e2e", password), timeout=30)

        def send(self, events, *, channel="calls") -> list[str]:
            r = self.post(events, channel=channel)
            assert r.status_code == 200, r.text
            return r.json()["recorded"]

    feed = Feed()
    feed.users = users
    return feed


def wait_all(e2e, event_ids):
    for event_id in event_ids:
        wait_done(e2e, event_id)


def records(e2e, phone: str, call_id: str) -> dict:
    """What the sandbox holds for one customer, without ids and times (the call id and
    the number written as placeholders, so two sessions can be compared)."""
    def clean(value):
        if isinstance(value, str):
            return value.replace(phone, "<phone>").replace(call_id, "<call>")
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        return value

    customers = [c for c in e2e.sandbox.customers() if phone in [p["phone"] for p in c["attributes"]["phones"]]]
    out = {"customers": len(customers), "conversations": []}
    for cust in customers:
        out["customer_custom"] = clean(cust["attributes"].get("custom") or {})
        for conv in e2e.sandbox.conversations():
            if conv["relationships"]["customer"]["data"]["id"] != cust["id"]:
                continue
            attrs = conv["attributes"]
            messages = sorted((m["attributes"].get("channel"), m["attributes"].get("direction"),
                               clean(m["attributes"].get("preview") or "")) for m in e2e.sandbox.messages(conv["id"]))
            notes = sorted(clean(n["attributes"]["body"]) for n in e2e.sandbox.notes(conv["id"]))
            out["conversations"].append({
                "name": clean(attrs.get("name")), "status": attrs.get("status"),
                "assignedUsers": attrs.get("assignedUsers"), "custom": clean(attrs.get("custom") or {}),
                "messages": messages, "notes": notes,
            })
    return out


def test_full_call_started_to_final(e2e, ccaip):
    """started → routing → assigned → active → ended → final, one delivery each, in
    order: one customer, one conversation assigned to the agent who answered, the
    answered and ended messages, the number and the disposition as notes."""
    events = fmt.answered_session(call_id="88412", dn="+14155550123", start=T0, agent=ANN, queue_path_names=QUEUE)
    recorded = []
    for event in events:
        recorded += ccaip.send([event])
    assert recorded == ["ccaip-call-88412-answered", "ccaip-call-88412-ended", "ccaip-call-88412-disposition"]
    wait_all(e2e, recorded)
    held = records(e2e, "+14155550123", "88412")
    assert held["customers"] == 1 and len(held["conversations"]) == 1
    conv = held["conversations"][0]
    assert conv["assignedUsers"] == [ccaip.users["ann"]]
    assert conv["custom"]["ccCallIdStr"] == "ccaip-call-<call>"
    assert conv["custom"]["ccMenuSelectionStr"] == "Billing > Refunds"
    assert [m[2] for m in conv["messages"]] == ["Call answered: Billing > Refunds", "Call ended (1m 59s)"]
    assert conv["notes"] == ["Call disposition: Resolved (custom code 7) by ann@example.com\nRefund issued",
                             "Phone number: <phone>"]


def test_chat_started_to_final(e2e, ccaip):
    """A chat (its own URL): the conversation is made when the chat starts (R-T1), then
    assigned to the agent who connects, ended, and the disposition noted."""
    events = fmt.answered_session(call_id="c-311", dn="+14155550177", start=T0, agent=BO,
                                  queue_path_names=["Orders"], talk_seconds=300, code="Order tracked",
                                  custom_code_id=None, note=None)
    recorded = []
    for event in events:
        recorded += ccaip.send([event], channel="chats")
    assert recorded == ["ccaip-chat-c-311-started", "ccaip-chat-c-311-answered", "ccaip-chat-c-311-ended",
                        "ccaip-chat-c-311-disposition"]
    wait_all(e2e, recorded)
    held = records(e2e, "+14155550177", "c-311")
    assert len(held["conversations"]) == 1
    conv = held["conversations"][0]
    assert conv["custom"]["ccChannelStr"] == "chat" and conv["assignedUsers"] == [ccaip.users["bo"]]
    assert [m[2] for m in conv["messages"]] == ["Chat ended (5m 24s)", "Chat started (web): Orders"]
    assert "Chat disposition: Order tracked by bo@example.com" in conv["notes"]


def test_abandoned_call(e2e, ccaip):
    """Ended with no agent on it: an abandoned-call conversation (R-T4), not assigned,
    saying how long the caller waited."""
    events = fmt.abandoned_session(call_id="91001", dn="+14155550142", start=T0, queue_path_names=QUEUE,
                                   wait_seconds=42)
    recorded = []
    for event in events:
        recorded += ccaip.send([event])
    assert recorded == ["ccaip-call-91001-abandoned"]
    wait_all(e2e, recorded)
    held = records(e2e, "+14155550142", "91001")
    assert held["customers"] == 1 and len(held["conversations"]) == 1
    conv = held["conversations"][0]
    assert not conv["assignedUsers"]
    assert [m[2] for m in conv["messages"]] == ["Abandoned call after 42s waiting"]


def test_transfer_assigns_the_agent_who_received_it(e2e, ccaip):
    events = fmt.transferred_session(call_id="77001", dn="+14155550155", start=T0, first=ANN, second=BO,
                                     queue_path_names=QUEUE)
    recorded = []
    for event in events:
        recorded += ccaip.send([event])
    assert recorded == ["ccaip-call-77001-answered", "ccaip-call-77001-transfer-22-1", "ccaip-call-77001-ended",
                        "ccaip-call-77001-disposition"]
    wait_all(e2e, recorded)
    conv = records(e2e, "+14155550155", "77001")["conversations"][0]
    assert conv["assignedUsers"] == [ccaip.users["bo"]]  # R-U4
    assert "Call transferred to bo@example.com." in conv["notes"]


@pytest.mark.parametrize("seed", [1, 2])
def test_duplicated_and_shuffled_deliveries_end_as_one_clean_delivery(e2e, ccaip, seed):
    """The same transferred call sent twice: once clean (in order, one update a
    delivery), once with every update repeated and all of them shuffled, some batched.
    The sandbox holds the same records for both."""
    clean = fmt.transferred_session(call_id="clean-1", dn="+14155550101", start=T0, first=ANN, second=BO,
                                    queue_path_names=QUEUE)
    messy = fmt.transferred_session(call_id="messy-1", dn="+14155550102", start=T0 + timedelta(minutes=5),
                                    first=ANN, second=BO, queue_path_names=QUEUE)
    clean_ids = []
    for event in clean:
        clean_ids += ccaip.send([event])
    rng = random.Random(seed)
    sends = messy + messy
    rng.shuffle(sends)
    messy_ids = []
    while sends:  # deliveries of 1 to 3 event objects, as CCAI Platform may batch them
        take = rng.randint(1, 3)
        batch, sends = sends[:take], sends[take:]
        messy_ids += ccaip.send(batch)
    assert sorted(i.replace("clean-1", "X") for i in clean_ids) == sorted(i.replace("messy-1", "X") for i in messy_ids)
    wait_all(e2e, clean_ids + messy_ids)
    assert records(e2e, "+14155550102", "messy-1") == records(e2e, "+14155550101", "clean-1")
    assert records(e2e, "+14155550101", "clean-1")["conversations"][0]["assignedUsers"] == [ccaip.users["bo"]]


def test_wrong_password_is_401_and_nothing_reaches_kustomer(e2e, ccaip):
    events = fmt.answered_session(call_id="55501", dn="+14155550166", start=T0, agent=ANN, queue_path_names=QUEUE)
    r = ccaip.post(events, password="not-the-password")
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Basic")
    from ccaip.models import Delivery
    from conversations.models import Event

    assert not Delivery.objects.filter(tenant=e2e.tenant).exists()
    assert not Event.objects.filter(tenant=e2e.tenant).exists()
    # A correct delivery afterwards goes through, so the worker was there to act.
    wait_all(e2e, ccaip.send(events[:4]))
    assert records(e2e, "+14155550166", "55501")["customers"] == 1
    r = ccaip.post(events, password="")
    assert r.status_code == 401
    assert records(e2e, "+14155550166", "55501")["conversations"][0]["messages"] == [
        ("voice", "in", "Call answered: Billing > Refunds")]
