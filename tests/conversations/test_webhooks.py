"""Kustomer's signed outbound webhooks keep the conversation status mirror
(CONTRACT.md `POST /webhooks/kustomer/{id}`): signature checked on the raw body in
constant time (400 when bad or missing), each delivery stored once, processed in a task."""
from __future__ import annotations

import hashlib
import hmac
import json

import pytest
import responses as responses_lib

from conversations.models import CustomerLink, SyncedConversation, WebhookDelivery, WebhookSubscription
from core.crypto import encrypt_secret

pytestmark = pytest.mark.django_db
TOKEN = "whsec-test-token"


@pytest.fixture
def subscription(tenant):
    return WebhookSubscription.objects.create(tenant=tenant, kustomer_webhook_id="w1", active=True,
                                              token_encrypted=encrypt_secret(TOKEN))


@pytest.fixture
def mirrored(tenant):
    link = CustomerLink.objects.create(tenant=tenant, customer_key="+14155550123", external_id="x",
                                       kustomer_customer_id="c" * 24)
    return SyncedConversation.objects.create(tenant=tenant, customer=link, kustomer_customer_id="c" * 24,
                                             kustomer_conversation_id="a" * 24, kind="call", status="open")


def delivery(event_id="evt-k-1", status="done", updated="2026-11-23T10:05:00.000Z") -> bytes:
    return json.dumps({
        "id": event_id, "name": "kustomer.conversation.update", "org": "o",
        "data": {"type": "conversation", "id": "a" * 24, "attributes": {"status": status, "updatedAt": updated}},
        "createdAt": updated, "changes": {"attributes": {"status": {"op": "replace", "before": "open", "after": status}}},
    }).encode()


def sign(body: bytes, token: str = TOKEN) -> str:
    return hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


def post(client, subscription, body, signature):
    headers = {"HTTP_X_KUSTOMER_WEBHOOK_EVENT": "kustomer.conversation.update"}
    if signature is not None:
        headers["HTTP_X_KUSTOMER_WEBHOOK_SIGNATURE"] = signature
    return client.post(f"/webhooks/kustomer/{subscription.public_id}", data=body, content_type="application/json",
                       **headers)


def test_signed_delivery_updates_the_mirror(client, subscription, mirrored, django_capture_on_commit_callbacks):
    body = delivery()
    with django_capture_on_commit_callbacks(execute=True):
        r = post(client, subscription, body, sign(body))
    assert r.status_code == 200 and r.json() == {"id": "evt-k-1", "duplicate": False}
    mirrored.refresh_from_db()
    assert mirrored.status == "done"
    assert WebhookDelivery.objects.get().state == "processed"
    subscription.refresh_from_db()
    assert subscription.last_delivery_at is not None


@pytest.mark.parametrize("signature", [None, "", "0" * 64, "not-hex", sign(b"other body")])
def test_bad_or_missing_signature_is_400_and_stores_nothing(client, subscription, mirrored, signature):
    r = post(client, subscription, delivery(), signature)
    assert r.status_code == 400
    assert "X-Kustomer-Webhook-Signature" in r.json()["errors"]
    assert not WebhookDelivery.objects.exists()
    mirrored.refresh_from_db()
    assert mirrored.status == "open"


def test_signature_of_another_token_is_refused(client, subscription):
    body = delivery()
    assert post(client, subscription, body, sign(body, "another-token")).status_code == 400


def test_unknown_webhook_id_is_404(client, subscription):
    import uuid

    body = delivery()
    r = client.post(f"/webhooks/kustomer/{uuid.uuid4()}", data=body, content_type="application/json",
                    HTTP_X_KUSTOMER_WEBHOOK_SIGNATURE=sign(body))
    assert r.status_code == 404


def test_each_delivery_is_stored_once(client, subscription, mirrored):
    body = delivery()
    assert post(client, subscription, body, sign(body)).json()["duplicate"] is False
    assert post(client, subscription, body, sign(body)).json()["duplicate"] is True
    assert WebhookDelivery.objects.count() == 1


def test_out_of_order_deliveries_keep_the_newest_status(client, subscription, mirrored,
                                                        django_capture_on_commit_callbacks):
    newer = delivery("e2", status="done", updated="2026-11-23T10:10:00Z")
    older = delivery("e1", status="open", updated="2026-11-23T10:05:00Z")
    with django_capture_on_commit_callbacks(execute=True):
        post(client, subscription, newer, sign(newer))
    with django_capture_on_commit_callbacks(execute=True):
        post(client, subscription, older, sign(older))
    mirrored.refresh_from_db()
    assert mirrored.status == "done"


def test_token_is_stored_encrypted(subscription):
    assert TOKEN not in subscription.token_encrypted


def test_conversation_made_in_kustomer_for_our_customer_joins_the_mirror(client, subscription, mirrored,
                                                                         django_capture_on_commit_callbacks):
    """An agent starts a conversation in Kustomer for one of our customers: it becomes
    the customer's most recent conversation (R-T3/R-U2) in the mirror."""
    body = json.dumps({
        "id": "evt-k-9", "name": "kustomer.conversation.create",
        "data": {"type": "conversation", "id": "b" * 24,
                 "attributes": {"status": "open", "createdAt": "2026-11-23T11:00:00Z", "updatedAt": "2026-11-23T11:00:00Z"},
                 "relationships": {"customer": {"data": {"type": "customer", "id": "c" * 24}}}},
    }).encode()
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, subscription, body, sign(body)).status_code == 200
    foreign = SyncedConversation.objects.get(kustomer_conversation_id="b" * 24)
    assert foreign.kind == "other" and foreign.status == "open" and foreign.customer == mirrored.customer


def test_our_own_conversation_is_not_mirrored_as_foreign(client, subscription, mirrored,
                                                         django_capture_on_commit_callbacks):
    body = json.dumps({
        "id": "evt-k-10", "name": "kustomer.conversation.create",
        "data": {"type": "conversation", "id": "d" * 24,
                 "attributes": {"status": "open", "externalId": "cc_acme_conversation_" + "a" * 26},
                 "relationships": {"customer": {"data": {"type": "customer", "id": "c" * 24}}}},
    }).encode()
    with django_capture_on_commit_callbacks(execute=True):
        post(client, subscription, body, sign(body))
    assert not SyncedConversation.objects.filter(kustomer_conversation_id="d" * 24).exists()


@pytest.fixture
def connected(tenant):
    from integrations.models import KustomerConnection

    return KustomerConnection.objects.create(tenant=tenant, base_url="https://acme.api.kustomerapp.com",
                                             api_key_encrypted=encrypt_secret("k-secret"), verify_state="ok")


@responses_lib.activate
def test_subscription_is_created_once_with_the_public_url_and_encrypted_token(tenant, connected, settings):
    from conversations import services

    settings.PORTAL_PUBLIC_URL = "https://portal.example.com/"
    responses_lib.add(responses_lib.POST, "https://acme.api.kustomerapp.com/v1/outbound-webhooks", status=201, json={
        "data": {"type": "outbound-webhook", "id": "w" * 24,
                 "attributes": {"name": "x", "url": "u", "events": [], "token": "tok-123"}}})
    sub = services.webhook_subscription_ensure(tenant=tenant)
    assert sub.active and sub.kustomer_webhook_id == "w" * 24
    assert sub.url == f"https://portal.example.com/webhooks/kustomer/{sub.public_id}"
    assert "tok-123" not in sub.token_encrypted
    sent = json.loads(responses_lib.calls[0].request.body)
    assert sent["url"] == sub.url and set(sent["events"]) == {"kustomer.conversation.create", "kustomer.conversation.update"}
    services.webhook_subscription_ensure(tenant=tenant)
    assert len(responses_lib.calls) == 1  # once


@responses_lib.activate
def test_refused_subscription_keeps_kustomers_error(tenant, connected):
    from conversations import services
    from integrations.kustomer.errors import KustomerAuthError

    responses_lib.add(responses_lib.POST, "https://acme.api.kustomerapp.com/v1/outbound-webhooks", status=403, json={
        "errors": [{"status": 403, "code": "forbidden", "title": "Forbidden"}]})
    with pytest.raises(KustomerAuthError):
        services.webhook_subscription_ensure(tenant=tenant)
    sub = WebhookSubscription.objects.get(tenant=tenant)
    assert not sub.active and "Forbidden" in sub.last_error and sub.last_attempt_at is not None


def test_a_delivery_whose_task_was_lost_is_processed_by_the_sweeper(client, subscription, mirrored):
    """SPEC §5: a delivery answered 200 (Kustomer will not send it again) whose task the
    broker lost still updates the mirror."""
    from datetime import timedelta

    from django.utils import timezone

    from conversations import services
    from conversations.models import WebhookDelivery

    body = delivery(event_id="evt-lost")
    assert post(client, subscription, body, sign(body)).status_code == 200  # on_commit never ran: task lost
    stored = WebhookDelivery.objects.get(kustomer_event_id="evt-lost")
    assert stored.state == "received"
    assert services.webhook_deliveries_sweep() == 0  # not past the deadline yet
    WebhookDelivery.objects.filter(pk=stored.pk).update(received_at=timezone.now() - timedelta(minutes=2),
                                                        queued_at=timezone.now() - timedelta(minutes=2))
    assert services.webhook_deliveries_sweep() == 1
    mirrored.refresh_from_db()
    assert mirrored.status == "done"
    assert WebhookDelivery.objects.get(pk=stored.pk).state == "processed"


def test_webhook_poison_loop_a_delivery_that_cannot_be_processed_fails_once_with_its_traceback(
        admin_client, client, subscription, mirrored, django_capture_on_commit_callbacks):
    """Issue 22: a delivery with an impossible date was re-queued by the sweeper every
    minute, forever. It now ends failed with the error and traceback (dj-stripe's
    WebhookEventTrigger), the sweeper leaves it alone, and the portal shows it with Retry."""
    from datetime import timedelta

    from django.utils import timezone

    from conversations import services

    body = delivery(event_id="evt-poison", updated="2026-02-30T10:05:00.000Z")  # no 30 February
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, subscription, body, sign(body)).status_code == 200
    stored = WebhookDelivery.objects.get(kustomer_event_id="evt-poison")
    assert stored.state == "failed" and stored.attempts == 1
    assert "ValueError" in stored.error and "day is out of range" in stored.error
    assert "Traceback (most recent call last)" in stored.traceback and "_delivery_apply" in stored.traceback
    WebhookDelivery.objects.filter(pk=stored.pk).update(received_at=timezone.now() - timedelta(hours=1),
                                                        queued_at=timezone.now() - timedelta(hours=1))
    assert services.webhook_deliveries_sweep(queued_before=timezone.now()) == 0  # never re-queued on its own
    mirrored.refresh_from_db()
    assert mirrored.status == "open"

    page = admin_client.get("/sync/webhooks/").content.decode()
    assert "evt-poison" in page and "day is out of range" in page and "Retry" in page
    # Kustomer's body was fixed on our side (say, a parser mended): Retry processes it again.
    WebhookDelivery.objects.filter(pk=stored.pk).update(raw_body=delivery(event_id="evt-poison").decode())
    with django_capture_on_commit_callbacks(execute=True):
        answer = admin_client.post(f"/sync/webhooks/{stored.pk}/retry/", follow=True)
    assert "queued again" in answer.content.decode()
    stored.refresh_from_db()
    assert (stored.state, stored.error, stored.traceback) == ("processed", "", "")
    mirrored.refresh_from_db()
    assert mirrored.status == "done"
    again = admin_client.post(f"/sync/webhooks/{stored.pk}/retry/", follow=True).content.decode()
    assert "Only failed deliveries can be retried" in again


def test_sweeper_requeue_a_delivery_sent_after_the_mark_is_still_queued(client, subscription, mirrored):
    """Issue 22: 568 deliveries were re-queued every minute while they waited in the
    queue. Only a delivery whose task was sent before the sweeper's mark is sent again."""
    from datetime import timedelta

    from django.utils import timezone

    from conversations import services

    body = delivery(event_id="evt-queued")
    assert post(client, subscription, body, sign(body)).status_code == 200  # its task is (still) in the queue
    stored = WebhookDelivery.objects.get(kustomer_event_id="evt-queued")
    mark = timezone.now()
    WebhookDelivery.objects.filter(pk=stored.pk).update(received_at=mark - timedelta(minutes=5),
                                                        queued_at=mark + timedelta(seconds=1))
    assert services.webhook_deliveries_sweep(queued_before=mark) == 0
    WebhookDelivery.objects.filter(pk=stored.pk).update(queued_at=mark - timedelta(minutes=5))
    assert services.webhook_deliveries_sweep(queued_before=mark) == 1
    assert services.webhook_deliveries_sweep(queued_before=mark) == 0  # re-sent after the mark now
