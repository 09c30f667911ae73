"""Issue 14 finding 8: too-deep or malformed JSON is a 400 on every parser path: the API
(DRF's parser), the adapter's API and Kustomer's signed webhooks (parsed by hand)."""
import hashlib
import hmac

import pytest

from core.crypto import encrypt_secret
from core.parsers import MAX_JSON_DEPTH
from conversations.models import WebhookDelivery, WebhookSubscription

pytestmark = pytest.mark.django_db
TOKEN = "whsec-deep"


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


@pytest.fixture
def subscription(tenant):
    return WebhookSubscription.objects.create(tenant=tenant, kustomer_webhook_id="w1", active=True,
                                              token_encrypted=encrypt_secret(TOKEN))


def signed_post(client, subscription, raw: bytes):
    return client.post(f"/webhooks/kustomer/{subscription.public_id}", data=raw, content_type="application/json",
                       HTTP_X_KUSTOMER_WEBHOOK_SIGNATURE=hmac.new(TOKEN.encode(), raw, hashlib.sha256).hexdigest())


@pytest.mark.parametrize("levels", [5000, MAX_JSON_DEPTH + 1])
def test_a_signed_webhook_nested_too_deep_is_a_400(client, subscription, levels):
    raw = ('{"id": "evt-deep", "name": "kustomer.conversation.update", "data": ' + nested(levels) + "}").encode()
    response = signed_post(client, subscription, raw)
    assert response.status_code == 400, response.content[:200]
    assert "nested too deeply" in response.json()["detail"] and "body" in response.json()["errors"]
    assert not WebhookDelivery.objects.exists()


@pytest.mark.parametrize("raw", [b"{", b"\xff\xfe{}", b'{"id": "x", "data": NaN-ish}', b""])
def test_a_signed_malformed_webhook_is_a_400(client, subscription, raw):
    response = signed_post(client, subscription, raw)
    assert response.status_code == 400 and response.json()["errors"]


def test_a_webhook_just_within_the_depth_is_stored(client, subscription):
    inner = nested(MAX_JSON_DEPTH - 2)  # the object itself and "data" take two levels
    raw = ('{"id": "evt-ok", "name": "kustomer.conversation.update", "data": {"x": ' + inner + "}}").encode()
    assert signed_post(client, subscription, raw).status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/events", "/api/v1/agents", "/api/v1/kustomer-connection"])
@pytest.mark.parametrize("levels", [5000, MAX_JSON_DEPTH + 1])
def test_the_api_refuses_too_deep_json_on_every_endpoint(api, path, levels):
    method = api.put if path.endswith("connection") else api.post
    response = method(path, data='{"id": "deep", "data": ' + nested(levels) + "}", content_type="application/json")
    assert response.status_code == 400, response.content[:200]
    assert "nested too deeply" in response.json()["detail"]


def test_the_adapter_api_refuses_too_deep_json(tenant):
    from statusmapping.services import agent_create
    from tests.adapter.test_adapter_api import adapter_client

    agent_create(tenant=tenant, email="agent1@example.com")
    response = adapter_client(tenant).post("/adapter/api/heartbeat", data='{"agent_email": ' + nested(5000) + "}",
                                           content_type="application/json")
    assert response.status_code == 400 and "nested too deeply" in response.json()["detail"]

