"""Issue 14 finding 6: click-to-call validates its input. The optional
`kustomer_customer_id` is optional (leaving it out was a 500), and the agent must be one
of the tenant's (another tenant's or an unknown email is a 400 naming `agent_email`)."""
import pytest

from conversations.models import Event
from statusmapping.services import agent_create
from tests.adapter.test_adapter_api import adapter_client
from tests.tenants.factories import TenantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(tenant):
    return agent_create(tenant=tenant, email="agent1@example.com")


@pytest.mark.parametrize("extra", [{}, {"kustomer_customer_id": None}, {"kustomer_customer_id": ""},
                                   {"kustomer_customer_id": "a" * 24}])
def test_the_kustomer_customer_is_optional(api, agent, extra):
    response = api.post("/api/v1/click-to-call", {"agent_email": "Agent1@example.com", "phone": "415-555-0123", **extra},
                        format="json")
    assert response.status_code == 201, response.content
    event = Event.objects.get(event_id=response.json()["event_id"])
    assert event.payload["agent"]["email"] == "agent1@example.com"
    assert event.payload["data"]["kustomer_customer_id"] == (extra.get("kustomer_customer_id") or None)


def test_the_adapter_calls_without_a_kustomer_customer_too(tenant, agent):
    response = adapter_client(tenant).post("/adapter/api/click-to-call",
                                           {"agent_email": "agent1@example.com", "phone": "+14155550123"}, format="json")
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("email", ["nobody@example.com", "gus@globex.test"])
def test_an_agent_the_tenant_does_not_have_is_a_400_naming_agent_email(api, agent, email):
    agent_create(tenant=TenantFactory(slug="globex"), email="gus@globex.test")
    response = api.post("/api/v1/click-to-call", {"agent_email": email, "phone": "415-555-0123"}, format="json")
    assert response.status_code == 400
    assert "agent_email" in response.json()["errors"]
    assert not Event.objects.exists()


def test_a_malformed_kustomer_id_is_a_400(api, agent):
    response = api.post("/api/v1/click-to-call", {"agent_email": "agent1@example.com", "phone": "415-555-0123",
                                                 "kustomer_customer_id": "../../x"}, format="json")
    assert response.status_code == 400 and "kustomer_customer_id" in response.json()["errors"]
