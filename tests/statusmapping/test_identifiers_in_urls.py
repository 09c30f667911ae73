"""Issue 14 finding 4: identifiers that appear in URLs cannot break routing. An agent email
or event id with "/" (or ?, #, %, spaces) is refused with a 400 naming the field; pages link
agents by id; an agent or event stored before the check is still shown, read and removed."""
import pytest
from django.utils import timezone

from conversations.models import Event
from statusmapping.models import Agent
from tests.statusmapping.factories import AgentFactory

pytestmark = pytest.mark.django_db
BAD_EMAIL = "team/lead@example.com"


@pytest.mark.parametrize("email", [BAD_EMAIL, "a?b@example.com", "a#b@example.com", "a%2Fb@example.com",
                                   "a b@example.com", "ann@exa/mple.com"])
def test_an_agent_email_that_would_break_a_url_is_a_400_naming_email(api, admin_client, email):
    response = api.post("/api/v1/agents", {"email": email}, format="json")
    assert response.status_code == 400 and "email" in response.json()["errors"], response.content
    page = admin_client.post("/agents/", {"email": email, "name": ""})
    assert page.status_code == 200 and not Agent.objects.exists()


def test_ordinary_emails_still_pass(api):
    for email in ["ann.lee+cc@acme.test", "o'brien@example.co.uk", "Agent-1_x@Example.com"]:
        assert api.post("/api/v1/agents", {"email": email}, format="json").status_code == 201


def test_an_agent_stored_with_a_slash_breaks_no_page_and_can_be_read_and_removed(api, admin_client, tenant):
    legacy = AgentFactory(tenant=tenant, email=BAD_EMAIL)  # stored before emails were checked
    # The probe's 500s (NoReverseMatch): the dashboard and the agents page.
    for page in ("/", "/agents/", "/agents/?fragment=rows", f"/agents/{legacy.pk}/history/"):
        response = admin_client.get(page)
        assert response.status_code == 200, page
    assert BAD_EMAIL in admin_client.get("/agents/").content.decode()
    # The API reads it, and its history, by its email.
    assert api.get(f"/api/v1/agents/{BAD_EMAIL}").json()["email"] == BAD_EMAIL
    assert api.get(f"/api/v1/agents/{BAD_EMAIL}/status-history").json()["agent_email"] == BAD_EMAIL
    # And it can be removed: through the API ...
    assert api.delete(f"/api/v1/agents/{BAD_EMAIL}").status_code == 204
    assert api.get(f"/api/v1/agents/{BAD_EMAIL}").status_code == 404
    # ... or the page.
    again = AgentFactory(tenant=tenant, email=BAD_EMAIL)
    assert admin_client.post(f"/agents/{again.pk}/remove/").status_code == 302
    assert not Agent.objects.exists()


def test_another_tenants_agent_cannot_be_removed(api, other_tenant):
    AgentFactory(tenant=other_tenant, email="theirs@example.com")
    assert api.delete("/api/v1/agents/theirs@example.com").status_code == 404
    assert Agent.objects.filter(email="theirs@example.com").exists()


def _event_body(event_id: str) -> dict:
    return {"id": event_id, "type": "call.answered", "occurred_at": timezone.now().isoformat(),
            "session": {"id": "s-1", "channel": "voice", "source": "ivr"},
            "end_user": {"phone": "+14155550123"}, "agent": None, "data": {}}


@pytest.mark.parametrize("event_id", ["evt/1", "evt?1", "evt#1", "evt 1", "evt%2F1"])
def test_an_event_id_that_would_break_a_url_is_a_400_naming_id(api, event_id):
    response = api.post("/api/v1/events", _event_body(event_id), format="json")
    assert response.status_code == 400 and "id" in response.json()["errors"], response.content
    assert not Event.objects.exists()


def test_an_accepted_event_id_reads_back(api):
    event_id = "evt-7f3a9c:2026.11@cc+1=~_"
    assert api.post("/api/v1/events", _event_body(event_id), format="json").status_code == 202
    assert api.get(f"/api/v1/events/{event_id}").json()["id"] == event_id


def test_an_event_stored_with_a_slash_still_reads_back(api, tenant):
    Event.objects.create(tenant=tenant, event_id="legacy/1", type="call.answered", occurred_at=timezone.now(),
                         session_id="s-1", customer_key="+14155550123", raw_body="{}", body_hash="h",
                         payload={}, state="failed", error="boom")
    assert api.get("/api/v1/events/legacy/1").json()["id"] == "legacy/1"
    assert api.post("/api/v1/events/legacy/1/retry").status_code == 202
