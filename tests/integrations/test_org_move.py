"""R-S14 (issue 13 #3): moving a tenant to another Kustomer org re-links agents by email,
moves the webhook subscription, re-reads statuses keeping the map by name (missing
names flagged), keeps the old org's mirrors apart and writes nothing more to the old org."""
import json
import secrets

import pytest

from conversations.models import CustomerLink, SyncedConversation, WebhookSubscription
from integrations import services
from integrations.models import KustomerConnection, OrgMove
from kustomer_sandbox.demo import seed_demo_org
from kustomer_sandbox.pytest_plugin import SandboxOrg
from kustomer_sandbox.store import add_user
from statusmapping import services as status_services
from statusmapping.models import CCStatus, KustomerStatus
from statusmapping.selectors import agent_get_by_email

pytestmark = pytest.mark.django_db

WRITES = ("POST", "PUT", "PATCH", "DELETE")


@pytest.fixture
def second_org(kustomer_sandbox):
    key = secrets.token_hex(20)
    org = seed_demo_org(kustomer_sandbox.state, name=f"second-{secrets.token_hex(3)}", api_key=key, agent_count=2)
    with kustomer_sandbox.state.lock:
        # Org 2 has no "Training" status: its mapping is flagged.
        del org.statuses[next(i for i, s in org.statuses.items() if s["attributes"]["name"] == "Training")]
    return org, key


def _org_requests(server, org_id):
    with server.state.lock:
        return [r for r in server.state.request_log if r.get("org_id") == org_id]


def test_r_s14_moving_to_another_org(tenant, sandbox_demo_org, second_org, kustomer_sandbox, admin_client,
                                     django_capture_on_commit_callbacks):
    run = django_capture_on_commit_callbacks
    with run(execute=True):
        services.kustomer_connection_save(tenant=tenant, base_url=sandbox_demo_org.base_url,
                                          api_key=sandbox_demo_org.api_key)
    with run(execute=True):
        status_services.agent_create(tenant=tenant, email="agent1@example.com")
        status_services.agent_create(tenant=tenant, email="agent5@example.com")  # not in org 2
        status_services.kustomer_statuses_refresh(tenant_id=tenant.pk)
    statuses = {s.name: s for s in KustomerStatus.objects.filter(tenant=tenant)}
    status_services.status_mapping_save(tenant=tenant, mapping={
        statuses["Lunch"].kustomer_id: "Lunch", statuses["Training"].kustomer_id: "Training",
        statuses["Available"].kustomer_id: "Available"})
    from customfields.models import CustomField
    from customfields.services import custom_field_create_from_catalogue

    with run(execute=True):
        custom_field_create_from_catalogue(tenant=tenant, key="queue_name")
    field = CustomField.objects.get(tenant=tenant)
    assert field.state == "created" and field.attribute_name in json.dumps(sandbox_demo_org.dump()["metadata"])
    from integrations.app_services import kustomer_app_request
    from kustomer_sandbox.apps_platform import registry

    with run(execute=True):
        kustomer_app_request(tenant=tenant, install=True)
    assert registry(sandbox_demo_org.org).installed
    old_agent_id = agent_get_by_email(tenant=tenant, email="agent1@example.com").kustomer_user_id
    assert old_agent_id
    old_webhook = WebhookSubscription.objects.get(tenant=tenant)
    assert old_webhook.kustomer_webhook_id
    old_public_id = old_webhook.public_id
    CustomerLink.objects.create(tenant=tenant, customer_key="+14155550100", external_id="c1",
                                kustomer_customer_id="old-customer")
    org2, key2 = second_org

    with run(execute=True):
        services.kustomer_connection_save(tenant=tenant, base_url=sandbox_demo_org.base_url, api_key=key2)
    connection = KustomerConnection.objects.get(tenant=tenant)
    assert connection.kustomer_org_id == org2.id and connection.pending_state == ""
    move = OrgMove.objects.get(tenant=tenant)
    assert move.from_org_id == sandbox_demo_org.org_id and move.to_org_id == org2.id
    assert move.from_api_key_encrypted == ""  # the old key is forgotten after use

    # Agents re-linked by email to the new org's users.
    agent1 = agent_get_by_email(tenant=tenant, email="agent1@example.com")
    new_users = {u["attributes"]["email"]: u["id"] for u in org2.users.values()}
    assert agent1.kustomer_user_id == new_users["agent1@example.com"] != old_agent_id
    assert agent_get_by_email(tenant=tenant, email="agent5@example.com").kustomer_user_id == ""
    assert move.summary["agents"] == {"linked": 1, "unmatched": ["agent5@example.com"]}

    # Statuses: the new org's, the map kept by name, the missing name flagged.
    assert set(KustomerStatus.objects.filter(tenant=tenant).values_list("kustomer_id", flat=True)) == set(org2.statuses)
    mapped = {s.name: s.cc_status.name for s in KustomerStatus.objects.filter(tenant=tenant, cc_status__isnull=False)}
    assert mapped == {"Lunch": "Lunch", "Available": "Available"}
    assert move.summary["statuses"]["missing"] == ["Training"]

    # The webhook subscription moved.
    subscription = WebhookSubscription.objects.get(tenant=tenant)
    assert subscription.kustomer_webhook_id in org2.webhooks and subscription.public_id != old_public_id
    assert old_webhook.kustomer_webhook_id not in sandbox_demo_org.org.webhooks  # removed with the old key
    assert str(subscription.public_id) in org2.webhooks[subscription.kustomer_webhook_id]["attributes"]["url"]

    # The Kustomer app is registered and installed in the new org.
    assert registry(org2).installed and move.summary["kustomer_app"] == "registered again in the new org and installed"

    # Custom fields are created again in the new org.
    field.refresh_from_db()
    org2_dump = SandboxOrg(server=kustomer_sandbox, org=org2, api_key=key2).dump()
    assert field.state == "created" and field.attribute_name in json.dumps(org2_dump["metadata"])
    assert move.summary["custom_fields"] == "1 created again in the new org"

    # The old org's mirror is kept apart.
    assert not CustomerLink.objects.filter(tenant=tenant, customer_key="+14155550100").exists()
    assert CustomerLink.objects.get(tenant=tenant, kustomer_customer_id="old-customer").customer_key.startswith("~m")

    from tenants.models import AuditEntry
    assert AuditEntry.objects.filter(tenant=tenant, action="Kustomer org changed", target=org2.id).exists()
    page = admin_client.get("/settings/kustomer/").content.decode()
    assert "Moved to another Kustomer org" in page and "1 re-linked by email" in page
    assert "agent5@example.com" in page and "Training" in page and "old org&#x27;s subscription removed" in page

    # From now on, nothing more is written to the old org.
    before = len(_org_requests(kustomer_sandbox, sandbox_demo_org.org_id))
    with run(execute=True):
        status_services.kustomer_statuses_refresh(tenant_id=tenant.pk)
        status_services.agent_kustomer_user_resolve(agent_id=agent1.pk)
    assert len(_org_requests(kustomer_sandbox, sandbox_demo_org.org_id)) == before


def test_a_new_key_of_the_same_org_is_no_move(tenant, sandbox_demo_org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.kustomer_connection_save(tenant=tenant, base_url=sandbox_demo_org.base_url,
                                          api_key=sandbox_demo_org.api_key)
        status_services.agent_create(tenant=tenant, email="agent1@example.com")
    linked = agent_get_by_email(tenant=tenant, email="agent1@example.com").kustomer_user_id
    sandbox_demo_org.server.state.add_api_key(sandbox_demo_org.org, "same-org-key-2", name="k2")
    with django_capture_on_commit_callbacks(execute=True):
        services.kustomer_connection_save(tenant=tenant, base_url=sandbox_demo_org.base_url, api_key="same-org-key-2")
    assert not OrgMove.objects.exists()
    assert agent_get_by_email(tenant=tenant, email="agent1@example.com").kustomer_user_id == linked
