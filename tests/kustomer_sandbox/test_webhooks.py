"""Outbound webhooks: subscriptions, signed deliveries, event bodies, retries."""
import hashlib
import hmac
import json

import pytest
import requests

from .helpers import assert_kustomer_error


@pytest.fixture
def subscription(kapi, webhook_receiver):
    response = kapi.post(kapi.url("/outbound-webhooks"), json={
        "name": "portal",
        "url": webhook_receiver.url,
        "events": ["kustomer.customer.create", "kustomer.customer.update",
                   "kustomer.conversation.create", "kustomer.conversation.update",
                   "kustomer.message.create"],
        "headers": [{"name": "X-Portal-Hook", "value": "hook-1"}],
    })
    assert response.status_code == 201, response.text
    return response.json()["data"]


def _events(receiver, sandbox_org, count, timeout=5.0):
    sandbox_org.wait_for(lambda: len(receiver.received) >= count, timeout=timeout)
    return receiver.received


def test_create_returns_a_token_that_listing_does_not_show(kapi, subscription):
    assert len(subscription["attributes"]["token"]) >= 32

    listed = kapi.get(kapi.url("/outbound-webhooks")).json()["data"]

    assert [w["id"] for w in listed] == [subscription["id"]]
    assert "token" not in listed[0]["attributes"]


def test_delivery_is_signed_with_hmac_sha256_of_the_raw_body(kapi, sandbox_org, subscription, webhook_receiver):
    customer = kapi.post(kapi.url("/customers"), json={"name": "Ann"}).json()["data"]

    delivery = _events(webhook_receiver, sandbox_org, 1)[0]

    expected = hmac.new(subscription["attributes"]["token"].encode(), delivery["body"], hashlib.sha256).hexdigest()
    assert delivery["headers"]["X-Kustomer-Webhook-Signature"] == expected
    assert delivery["headers"]["X-Kustomer-Webhook-Event"] == "kustomer.customer.create"
    assert delivery["headers"]["X-Portal-Hook"] == "hook-1"  # the subscription's own headers
    event = json.loads(delivery["body"])
    assert set(event) == {"id", "name", "org", "data", "createdAt", "changes"}
    assert event["name"] == "kustomer.customer.create"
    assert event["org"] == sandbox_org.org_id
    assert event["data"]["type"] == "customer" and event["data"]["id"] == customer["id"]
    assert event["data"]["attributes"]["name"] == "Ann"
    assert set(event["data"]) == {"type", "id", "attributes", "relationships"}


def test_update_event_carries_attribute_changes(kapi, sandbox_org, subscription, webhook_receiver):
    customer_id = kapi.post(kapi.url("/customers"), json={"name": "Ann"}).json()["data"]["id"]
    kapi.put(kapi.url(f"/customers/{customer_id}"), json={"name": "Ann Lee"})

    events = [json.loads(d["body"]) for d in _events(webhook_receiver, sandbox_org, 2)]

    update = next(e for e in events if e["name"] == "kustomer.customer.update")
    assert update["changes"]["attributes"]["name"] == {"op": "replace", "before": "Ann", "after": "Ann Lee"}


def test_agent_closing_a_conversation_fires_conversation_update(kapi, sandbox_org, subscription, webhook_receiver):
    customer_id = kapi.post(kapi.url("/customers"), json={"name": "Ann"}).json()["data"]["id"]
    conversation_id = kapi.post(kapi.url(f"/customers/{customer_id}/conversations"), json={}).json()["data"]["id"]

    closed = requests.post(
        f"{sandbox_org.base_url}/__sandbox/orgs/{sandbox_org.org_id}/conversations/{conversation_id}/close", timeout=5,
    )

    assert closed.status_code == 200 and closed.json()["data"]["attributes"]["status"] == "done"
    assert kapi.get(kapi.url(f"/conversations/{conversation_id}")).json()["data"]["attributes"]["status"] == "done"
    events = [json.loads(d["body"]) for d in _events(webhook_receiver, sandbox_org, 3)]
    update = next(e for e in events if e["name"] == "kustomer.conversation.update")
    assert update["data"]["id"] == conversation_id
    assert update["changes"]["attributes"]["status"] == {"op": "replace", "before": "open", "after": "done"}
    reopened = requests.post(
        f"{sandbox_org.base_url}/__sandbox/orgs/{sandbox_org.org_id}/conversations/{conversation_id}/reopen", timeout=5,
    )
    assert reopened.json()["data"]["attributes"]["status"] == "open"


def test_message_create_is_delivered(kapi, sandbox_org, subscription, webhook_receiver):
    customer_id = kapi.post(kapi.url("/customers"), json={"name": "Ann"}).json()["data"]["id"]
    conversation_id = kapi.post(kapi.url(f"/customers/{customer_id}/conversations"), json={}).json()["data"]["id"]
    message_id = kapi.post(
        kapi.url(f"/conversations/{conversation_id}/messages"), json={"channel": "chat", "app": "ccaip", "preview": "hi"},
    ).json()["data"]["id"]

    sandbox_org.wait_for(lambda: any(b"kustomer.message.create" in d["body"] for d in webhook_receiver.received))

    event = next(json.loads(d["body"]) for d in webhook_receiver.received if json.loads(d["body"])["name"] == "kustomer.message.create")
    assert event["data"]["id"] == message_id


def test_message_update_is_delivered_with_changes(kapi, sandbox_org, webhook_receiver):
    kapi.post(kapi.url("/outbound-webhooks"), json={"name": "m", "url": webhook_receiver.url, "events": ["kustomer.message.update"]})
    customer_id = kapi.post(kapi.url("/customers"), json={"name": "Ann"}).json()["data"]["id"]
    conversation_id = kapi.post(kapi.url(f"/customers/{customer_id}/conversations"), json={}).json()["data"]["id"]
    message_id = kapi.post(
        kapi.url(f"/conversations/{conversation_id}/messages"), json={"channel": "voice", "app": "ccaip", "preview": "Ringing"},
    ).json()["data"]["id"]

    updated = kapi.put(kapi.url(f"/messages/{message_id}"), json={"preview": "Call ended after 42 s"})

    assert updated.status_code == 200
    event = json.loads(_events(webhook_receiver, sandbox_org, 1)[0]["body"])
    assert event["name"] == "kustomer.message.update" and event["data"]["id"] == message_id
    assert event["changes"]["attributes"]["preview"] == {"op": "replace", "before": "Ringing", "after": "Call ended after 42 s"}


def test_only_subscribed_events_are_delivered(kapi, sandbox_org, webhook_receiver):
    kapi.post(kapi.url("/outbound-webhooks"), json={"name": "c", "url": webhook_receiver.url, "events": ["kustomer.conversation.create"]})
    customer_id = kapi.post(kapi.url("/customers"), json={"name": "Ann"}).json()["data"]["id"]
    kapi.post(kapi.url(f"/customers/{customer_id}/conversations"), json={})

    received = _events(webhook_receiver, sandbox_org, 1)

    assert [d["headers"]["X-Kustomer-Webhook-Event"] for d in received] == ["kustomer.conversation.create"]


def test_failed_delivery_is_retried_until_it_succeeds(kapi, sandbox_org, subscription, webhook_receiver):
    webhook_receiver.fail_first = 2
    kapi.post(kapi.url("/customers"), json={"name": "Ann"})

    received = _events(webhook_receiver, sandbox_org, 1)

    assert len(received) == 1
    assert webhook_receiver.attempts == 3
    delivery = sandbox_org.wait_for(lambda: next((d for d in sandbox_org.webhook_deliveries() if d["state"] == "delivered"), None))
    assert [a["status"] for a in delivery["attempts"]] == [500, 500, 200]


def test_delivery_gives_up_after_the_retry_schedule(kapi, sandbox_org, subscription, webhook_receiver):
    webhook_receiver.fail_first = 100
    kapi.post(kapi.url("/customers"), json={"name": "Ann"})

    delivery = sandbox_org.wait_for(
        lambda: next((d for d in sandbox_org.webhook_deliveries() if d["state"] == "failed"), None), timeout=10,
    )

    assert delivery is not None
    assert len(delivery["attempts"]) == 8  # the first try and 7 retries (1, 1, 2, 5, 10, 15, 30 min)


def test_delete_stops_deliveries(kapi, sandbox_org, subscription, webhook_receiver):
    response = kapi.delete(kapi.url(f"/outbound-webhooks/{subscription['id']}"))
    kapi.post(kapi.url("/customers"), json={"name": "Ann"})

    assert response.status_code == 204
    assert kapi.get(kapi.url("/outbound-webhooks")).json()["data"] == []
    assert sandbox_org.webhook_deliveries() == []
    assert_kustomer_error(kapi.delete(kapi.url(f"/outbound-webhooks/{subscription['id']}")), 404, "notfound", "id")


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        ({"name": "x", "url": "http://h/x", "events": ["kustomer.status.update"]}, "events"),
        ({"name": "x", "url": "not a url", "events": ["kustomer.customer.create"]}, "url"),
        ({"name": "x", "events": ["kustomer.customer.create"]}, "url"),
    ],
)
def test_webhook_create_is_validated(kapi, body, parameter):
    assert_kustomer_error(kapi.post(kapi.url("/outbound-webhooks"), json=body), 400, "badparam", parameter)


def test_the_token_is_readable_with_get_by_id(kapi, subscription):
    """Kustomer: "You can also read it later with GET /v1/outbound-webhooks/{id}"."""
    read = kapi.get(kapi.url(f"/outbound-webhooks/{subscription['id']}")).json()["data"]

    assert read["attributes"]["token"] == subscription["attributes"]["token"]


def test_a_webhook_that_keeps_failing_is_disabled(kapi, sandbox_org, subscription, webhook_receiver):
    dispatcher = sandbox_org.server.dispatcher
    before, dispatcher.disable_after = dispatcher.disable_after, 2
    try:
        webhook_receiver.fail_first = 1000
        kapi.post(kapi.url("/customers"), json={"name": "Ann"})
        kapi.post(kapi.url("/customers"), json={"name": "Bob"})
        disabled = sandbox_org.wait_for(
            lambda: not kapi.get(kapi.url(f"/outbound-webhooks/{subscription['id']}")).json()["data"]["attributes"]["enabled"],
            timeout=15,
        )
        attempts_when_disabled = webhook_receiver.attempts
        kapi.post(kapi.url("/customers"), json={"name": "Cy"})  # no longer queued for the disabled hook
    finally:
        dispatcher.disable_after = before

    assert disabled
    assert [d["state"] for d in sandbox_org.webhook_deliveries()] == ["failed", "failed"]
    assert webhook_receiver.attempts == attempts_when_disabled
