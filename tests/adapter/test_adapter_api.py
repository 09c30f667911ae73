"""The adapter's API: an agent-bound token, never a tenant API key; the contract's
bodies and answers; only the signed-in agent's own status, heartbeat and calls."""
from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.core import signing
from django.utils import timezone
from rest_framework.test import APIClient

from adapter import auth, selectors
from adapter.auth import AdapterAgent
from conversations.models import Event
from integrations.models import KustomerConnection
from statusmapping.models import StatusChange
from statusmapping.services import agent_create
from tests.tenants.factories import TenantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(tenant):
    return agent_create(tenant=tenant, email="agent1@example.com", name="Agent One")


def adapter_token(tenant, email="agent1@example.com") -> str:
    """A token of a new adapter sign-in of the agent (as a redeemed sign-in link makes)."""
    session = auth.adapter_session_start(tenant=tenant, agent_email=email)
    return auth.api_token_make(AdapterAgent(tenant=tenant, agent_email=email, session_id=session.pk))


def adapter_client(tenant, email="agent1@example.com") -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Adapter {adapter_token(tenant, email)}")
    return client


def status_body(**extra):
    body = {"id": "st-1", "source": "contact_center", "status": "Lunch", "kind": "manual",
            "agent_email": "agent1@example.com", "occurred_at": timezone.now().isoformat(), "instance_id": "tab-1"}
    body.update(extra)
    return body


def test_r_s10_the_dropdown_posts_a_contact_center_status_event_and_gets_the_decision(tenant, agent):
    r = adapter_client(tenant).post("/adapter/api/agent-status/events", status_body(), format="json")
    assert r.status_code == 200, r.content
    assert r.json()["decision"] == "applied" and r.json()["agent_status"] == "Lunch"
    change = StatusChange.objects.get(tenant=tenant, event_id="st-1")
    assert change.source == "contact_center" and change.feed == "adapter" and change.instance_id == "tab-1"


def test_an_agent_cannot_act_for_another_agent(tenant, agent):
    agent_create(tenant=tenant, email="agent2@example.com")
    client = adapter_client(tenant)
    r = client.post("/adapter/api/agent-status/events", status_body(agent_email="agent2@example.com"), format="json")
    assert r.status_code == 403
    r = client.post("/adapter/api/heartbeat", {"agent_email": "agent2@example.com", "instance_id": "t"}, format="json")
    assert r.status_code == 403
    r = client.post("/adapter/api/click-to-call", {"agent_email": "agent2@example.com", "phone": "+14155550123"},
                    format="json")
    assert r.status_code == 403
    assert not StatusChange.objects.exists() and not Event.objects.exists()


def test_without_a_token_or_with_a_forged_one_nothing_is_accepted(tenant, agent, api):
    anonymous = APIClient()
    assert anonymous.post("/adapter/api/agent-status/events", status_body(), format="json").status_code == 401
    forged = APIClient()
    forged.credentials(HTTP_AUTHORIZATION="Adapter " + signing.dumps({"t": tenant.pk, "e": "agent1@example.com"},
                                                                      salt="something-else"))
    assert forged.get("/adapter/api/state").status_code == 401
    # A tenant API key is not an adapter token: the adapter API refuses it.
    assert api.get("/adapter/api/state").status_code == 401


def test_a_token_of_a_deleted_agent_is_refused(tenant, agent):
    client = adapter_client(tenant)
    agent.delete()
    assert client.get("/adapter/api/state").status_code == 401


def test_r_s6_heartbeats_of_two_tabs_say_several_instances_and_renew_the_token(tenant, agent):
    client = adapter_client(tenant)
    first = client.post("/adapter/api/heartbeat", {"agent_email": "agent1@example.com", "instance_id": "tab-a"},
                        format="json").json()
    assert first["live_instances"] == 1 and first["several_instances"] is False
    assert auth.api_token_read(first["token"]).agent_email == "agent1@example.com"
    second = client.post("/adapter/api/heartbeat", {"agent_email": "agent1@example.com", "instance_id": "tab-b"},
                         format="json").json()
    assert second["several_instances"] is True and "more than one tab" in second["message"]
    state = client.get("/adapter/api/state").json()
    assert state["several_instances"] is True and state["live_instances"] == 2


def test_r_x2_click_to_call_starts_an_outbound_session_for_the_agent(tenant, agent):
    r = adapter_client(tenant).post("/adapter/api/click-to-call", {
        "agent_email": "agent1@example.com", "phone": "(415) 555-0123", "kustomer_customer_id": None,
    }, format="json")
    assert r.status_code == 201, r.content
    event = Event.objects.get(tenant=tenant, event_id=r.json()["event_id"])
    assert event.type == "call.outbound_started" and event.payload["end_user"]["phone"] == "+14155550123"
    assert event.payload["agent"]["email"] == "agent1@example.com"


def test_click_to_call_names_the_bad_field(tenant, agent):
    r = adapter_client(tenant).post("/adapter/api/click-to-call", {"agent_email": "agent1@example.com",
                                                                   "phone": "not a number"}, format="json")
    assert r.status_code == 400 and "phone" in r.json()["errors"]


def test_r_x3_state_shows_the_current_call_and_its_kustomer_conversation_link(tenant, agent):
    KustomerConnection.objects.create(tenant=tenant, base_url="https://acme.api.kustomerapp.com",
                                      api_key_encrypted="x")
    now = timezone.now()
    common = dict(tenant=tenant, session_id="s-7", customer_key="+14155550123", raw_body="{}", body_hash="h")
    payload = {"session": {"id": "s-7", "channel": "voice", "source": "ivr"},
               "end_user": {"phone": "+14155550123", "name": "Ann Lee"}, "agent": {"email": "agent1@example.com"}}
    Event.objects.create(event_id="e1", type="call.answered", occurred_at=now - timedelta(seconds=30), payload=payload,
                         state="done", kustomer_customer_id="c" * 24, kustomer_conversation_id="a" * 24, **common)
    current = selectors.agent_current_session(tenant=tenant, agent_email="Agent1@example.com")
    assert current.session_id == "s-7" and current.name == "Ann Lee" and current.direction == "inbound"
    assert current.conversation_url == f"https://acme.kustomerapp.com/app/customers/{'c' * 24}/event/{'a' * 24}"
    # Once the session ends nothing is in progress.
    Event.objects.create(event_id="e2", type="session.ended", occurred_at=now, payload=payload, **common)
    assert selectors.agent_current_session(tenant=tenant, agent_email="agent1@example.com") is None


def test_r_a1_another_tenants_events_never_show_as_the_agents_call(tenant, agent):
    other = TenantFactory(slug="globex")
    Event.objects.create(tenant=other, event_id="g1", type="call.answered", occurred_at=timezone.now(),
                         session_id="s-g", customer_key="+1", raw_body="{}", body_hash="h",
                         payload={"agent": {"email": "agent1@example.com"}, "session": {}, "end_user": {}})
    assert selectors.agent_current_session(tenant=tenant, agent_email="agent1@example.com") is None


@pytest.mark.parametrize("parent_url, allowed", [
    ("https://acme.kustomerapp.com/app/customers/1", "https://acme.kustomerapp.com"),
    ("http://127.0.0.1:8765/__sandbox/host/x", "http://127.0.0.1:8765"),
    ("https://kustomerapp.com.evil.test/", None),
    ("https://a.b.kustomerapp.com/", None),
    ("http://acme.kustomerapp.com/", None),
    ("javascript:alert(1)", None),
    ("", None),
])
def test_only_kustomer_and_local_hosts_may_frame_the_adapter(parent_url, allowed):
    assert selectors.host_origin_allowed(parent_url) == allowed


def test_the_adapter_page_allows_framing_by_kustomer_only(client, tenant, agent):
    r = client.get("/adapter/")
    assert "X-Frame-Options" not in r.headers
    assert r.headers["Content-Security-Policy"].startswith("frame-ancestors 'self' https://*.kustomerapp.com")


def test_sign_in_code_expires_and_is_bound_to_its_tenant_and_agent(tenant, agent, monkeypatch):
    code = auth.sign_in_code_make(tenant=tenant, agent_email="agent1@example.com")
    with pytest.raises(auth.SignInError) as wrong:
        auth.sign_in_code_redeem(code=code, typed_email="agent2@example.com")
    assert wrong.value.field == "email"
    monkeypatch.setattr(auth, "SIGN_IN_MAX_AGE", -1)
    with pytest.raises(auth.SignInError, match="expired"):
        auth.sign_in_code_redeem(code=code, typed_email="agent1@example.com")


def _adapter_session(client, tenant, email="agent1@example.com"):
    session = client.session
    session[auth.SESSION_KEY] = {"session_id": auth.adapter_session_start(tenant=tenant, agent_email=email).pk}
    session.save()


def test_the_adapter_talks_only_to_an_allowed_host_origin(client, tenant, agent, settings):
    """R-X4: inside an allowed Kustomer the page loads Kustomer's Cards SDK (the setting's
    URL) and speaks through it; framed by anyone else it loads no SDK at all."""
    settings.KUSTOMER_CARDS_SDK_URL = "https://cdn.kustomerapp.com/card-js/latest/kustomer-card.min.js"
    _adapter_session(client, tenant)
    allowed = client.get("/adapter/", {"parentUrl": "https://acme.kustomerapp.com/app/x", "id": "card-1"}).content.decode()
    assert 'data-host-origin="https://acme.kustomerapp.com"' in allowed
    assert '<script src="https://cdn.kustomerapp.com/card-js/latest/kustomer-card.min.js"></script>' in allowed
    refused = client.get("/adapter/", {"parentUrl": "https://evil.test/app", "id": "card-1"}).content.decode()
    assert 'data-host-origin=""' in refused and 'data-testid="host-refused"' in refused
    assert "kustomer-card" not in refused


def test_the_adapter_page_carries_an_agent_token_and_no_api_key(client, tenant, agent, api_key):
    _adapter_session(client, tenant)
    html = client.get("/adapter/").content.decode()
    assert api_key[1] not in html and api_key[0].prefix not in html
    token = re.search(r'window.ADAPTER_TOKEN = "([^"]+)"', html).group(1)
    token = json.loads(f'"{token}"')  # the page writes it as a JS string literal
    assert auth.api_token_read(token).agent_email == "agent1@example.com"


def test_signing_out_ends_the_adapter_session(client, tenant, agent):
    _adapter_session(client, tenant)
    client.post("/adapter/sign-out/")
    assert 'data-testid="adapter-sign-in"' in client.get("/adapter/").content.decode()


def test_r_x4_the_adapter_warns_when_the_kustomer_app_is_another_tenants(client, tenant, agent):
    _adapter_session(client, tenant)
    assert 'data-testid="tenant-mismatch"' not in client.get("/adapter/", {"tenant": tenant.slug}).content.decode()
    other = client.get("/adapter/", {"tenant": "someone-else"}).content.decode()
    assert 'data-testid="tenant-mismatch"' in other and "someone-else" in other
