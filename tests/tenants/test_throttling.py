"""Issue 14 finding 7: one API key (or adapter token) cannot send without bound: past its
rate (API_RATE_PER_KEY / ADAPTER_RATE_PER_TOKEN) it gets 429 with Retry-After in the
contract's error shape, and other keys are not affected."""
import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from core.throttling import parse_rate
from statusmapping.services import agent_create
from tests.adapter.test_adapter_api import adapter_token
from tests.conftest import api_client_with_scopes
from tests.tenants.factories import TenantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_counters():
    cache.clear()
    yield
    cache.clear()


def test_a_key_past_its_rate_gets_429_with_retry_after(api, tenant, settings):
    settings.API_RATE_PER_KEY = "5/hour"
    statuses = [api.get("/api/v1/agents").status_code for _ in range(5)]
    assert statuses == [200] * 5
    refused = api.get("/api/v1/agents")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 3600
    body = refused.json()
    assert set(body) == {"detail", "errors"} and body["errors"] == {} and "throttled" in body["detail"]
    # The status event endpoint (the hot path) counts against the same key.
    event = {"id": "st-1", "source": "contact_center", "status": "Lunch", "kind": "manual",
             "agent_email": "agent1@example.com", "occurred_at": timezone.now().isoformat()}
    assert api.post("/api/v1/agent-status/events", event, format="json").status_code == 429
    # Another key of the same tenant, and another tenant's key, have their own count.
    assert api_client_with_scopes(tenant, "config:read").get("/api/v1/agents").status_code == 200
    assert api_client_with_scopes(TenantFactory(slug="globex"), "config:read").get("/api/v1/agents").status_code == 200


def test_an_adapter_token_past_its_rate_gets_429(tenant, settings):
    settings.ADAPTER_RATE_PER_TOKEN = "3/hour"
    agent_create(tenant=tenant, email="agent1@example.com")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Adapter {adapter_token(tenant)}")
    assert [client.get("/adapter/api/state").status_code for _ in range(3)] == [200] * 3
    refused = client.get("/adapter/api/state")
    assert refused.status_code == 429 and refused["Retry-After"]


@pytest.mark.parametrize("rate, expected", [("6000/min", (6000, 60)), ("10/s", (10, 1)), ("5/hour", (5, 3600)),
                                            ("1/day", (1, 86400))])
def test_rates_read_like_drfs(rate, expected):
    assert parse_rate(rate) == expected


def test_principals_without_a_key_of_their_own_never_share_one_count(settings, rf):
    """CCAI Platform's senders count per endpoint; any other principal without a row
    counts per client address, never in one bucket for every tenant."""
    from dataclasses import dataclass

    from ccaip.apis import CcaipSender
    from core.throttling import CredentialRateThrottle

    @dataclass
    class Rowless:
        is_authenticated: bool = True
        pk: None = None

    settings.API_RATE_PER_KEY = "1/hour"

    def allowed(user, address="10.0.0.1") -> bool:
        request = rf.get("/api/v1/x", REMOTE_ADDR=address)
        request.user = user
        return CredentialRateThrottle().allow_request(request, None)

    class FakeEndpoint:
        def __init__(self, pk):
            self.pk = pk

    assert allowed(CcaipSender(endpoint=FakeEndpoint(1))) and not allowed(CcaipSender(endpoint=FakeEndpoint(1)))
    assert allowed(CcaipSender(endpoint=FakeEndpoint(2)))  # another tenant's endpoint
    assert allowed(Rowless(), "10.0.0.1") and not allowed(Rowless(), "10.0.0.1")
    assert allowed(Rowless(), "10.0.0.2")
