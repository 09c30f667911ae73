"""Issue 14 finding 5: adapter tokens end on the server. Signing out, an admin's "sign
out everywhere", removing the agent and a password change of the admin who issued the
link end every token of that sign-in (renewed ones included), and renewal stops at the
sign-in's absolute lifetime."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from adapter import auth
from adapter.models import AdapterSession
from statusmapping.models import StatusChange
from statusmapping.services import agent_create, agent_delete

pytestmark = pytest.mark.django_db
AGENT = "agent1@example.com"


@pytest.fixture
def agent(tenant):
    return agent_create(tenant=tenant, email=AGENT)


def signed_in_browser(client, tenant_admin, tenant):
    """The real flow: the admin issues a link, the agent redeems it on the adapter page."""
    admin = APIClient()  # a second browser: the admin's
    admin.force_login(tenant_admin)
    admin.post("/", {"action": "adapter_link", "email": AGENT})
    code = admin.session["dashboard_adapter_link"]["url"].split("code=", 1)[1]
    response = client.post("/adapter/sign-in/", {"code": code, "email": AGENT})
    assert response.status_code == 302
    page = client.get("/adapter/").content.decode()
    escaped = page.split('window.ADAPTER_TOKEN = "', 1)[1].split('"', 1)[0]
    return json.loads(f'"{escaped}"')  # escapejs writes ":" as \u003A


def api(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Adapter {token}")
    return client


def heartbeat(token: str):
    return api(token).post("/adapter/api/heartbeat", {"agent_email": AGENT, "instance_id": "tab-1"}, format="json")


def status(token: str, event_id: str = "st-9"):
    return api(token).post("/adapter/api/agent-status/events", {
        "id": event_id, "source": "contact_center", "status": "Lunch", "kind": "manual", "agent_email": AGENT,
        "occurred_at": timezone.now().isoformat(), "instance_id": "tab-1"}, format="json")


def test_signing_out_ends_the_token_and_every_renewed_one(client, tenant_admin, tenant, agent):
    token = signed_in_browser(client, tenant_admin, tenant)
    answer = heartbeat(token)
    assert answer.status_code == 200, answer.content
    renewed = answer.json()["token"]
    assert status(renewed).status_code == 200
    client.post("/adapter/sign-out/")
    # The probe: the old token's heartbeat answered 200 with a fresh token. Not any more.
    assert heartbeat(token).status_code == 401
    assert heartbeat(renewed).status_code == 401
    assert status(renewed, "st-10").status_code == 401
    assert not StatusChange.objects.filter(event_id="st-10").exists()
    assert "Sign in as an agent" in client.get("/adapter/").content.decode()


def test_an_admins_sign_out_everywhere_ends_every_sign_in_of_the_agent(client, admin_client, tenant_admin, tenant, agent):
    first = signed_in_browser(client, tenant_admin, tenant)
    assert heartbeat(first).status_code == 200
    second = auth.api_token_make(auth._principal(auth.adapter_session_start(tenant=tenant, agent_email=AGENT)))
    other = agent_create(tenant=tenant, email="agent2@example.com")
    bystander = auth.api_token_make(auth._principal(auth.adapter_session_start(tenant=tenant, agent_email=other.email)))
    response = admin_client.post("/", {"action": "adapter_sign_out", "email": AGENT})
    assert response.status_code == 302
    assert heartbeat(first).status_code == 401 and heartbeat(second).status_code == 401
    assert api(bystander).get("/adapter/api/state").status_code == 200  # another agent's sign-in stays
    admin_client.post("/", {"action": "adapter_sign_out"})  # every agent
    assert api(bystander).get("/adapter/api/state").status_code == 401


def test_removing_the_agent_ends_their_tokens(client, tenant_admin, tenant, agent):
    token = signed_in_browser(client, tenant_admin, tenant)
    assert heartbeat(token).status_code == 200
    agent_delete(agent=agent)
    assert heartbeat(token).status_code == 401
    assert not AdapterSession.objects.exists()


def test_a_password_change_of_the_issuing_admin_ends_the_sign_ins_and_unused_links(client, tenant_admin, tenant, agent):
    token = signed_in_browser(client, tenant_admin, tenant)
    assert heartbeat(token).status_code == 200
    admin = APIClient()
    admin.force_login(tenant_admin)
    admin.post("/", {"action": "adapter_link", "email": AGENT})
    unused_code = admin.session["dashboard_adapter_link"]["url"].split("code=", 1)[1]
    tenant_admin.set_password("a-new-long-password-123")
    tenant_admin.save()
    assert heartbeat(token).status_code == 401
    with pytest.raises(auth.SignInError, match="withdrawn"):
        auth.sign_in_code_redeem(code=unused_code, typed_email=AGENT)


def test_renewal_stops_at_the_absolute_lifetime(tenant, agent, settings):
    settings.ADAPTER_SESSION_MAX_AGE_SECONDS = 3600
    row = auth.adapter_session_start(tenant=tenant, agent_email=AGENT)
    token = auth.api_token_make(auth._principal(row))
    renewed = heartbeat(token).json()["token"]
    assert heartbeat(renewed).status_code == 200
    AdapterSession.objects.filter(pk=row.pk).update(started_at=timezone.now() - timedelta(seconds=3601))
    refused = heartbeat(renewed)
    assert refused.status_code == 401 and "time limit" in refused.json()["detail"]


def test_a_token_forged_in_the_old_format_is_refused(tenant, agent):
    from django.core import signing

    old_style = signing.dumps({"t": tenant.pk, "e": AGENT}, salt=auth.API_TOKEN_SALT)  # validly signed, no sign-in
    assert heartbeat(old_style).status_code == 401
