"""Issue 13 #4: agents are edited (a new email re-links) and removed (history kept); CC
statuses are renamed and removed after a confirmation listing what they affect, and a
status an agent holds cannot be removed."""
import pytest
from django.utils import timezone

from statusmapping import services
from statusmapping.models import Agent, CCStatus, KustomerStatus, StatusChange
from tests.statusmapping.factories import AgentFactory, KustomerStatusFactory

pytestmark = pytest.mark.django_db


def test_an_agent_is_edited_and_a_new_email_drops_the_old_kustomer_link(admin_client, tenant):
    agent = AgentFactory(tenant=tenant, email="ann@acme.test", kustomer_user_id="u-old")
    response = admin_client.post(f"/agents/{agent.pk}/edit/", {"email": "Ann.Lee@acme.test", "name": "Ann Lee"})
    assert response.status_code == 302
    agent.refresh_from_db()
    assert (agent.email, agent.name, agent.kustomer_user_id) == ("ann.lee@acme.test", "Ann Lee", "")
    bob = AgentFactory(tenant=tenant, email="bob@acme.test")
    taken = admin_client.post(f"/agents/{bob.pk}/edit/", {"email": "ann.lee@acme.test", "name": ""})
    assert taken.status_code == 200 and "already exists" in taken.content.decode()


def test_removing_an_agent_asks_first_and_keeps_their_history(admin_client, tenant):
    services.cc_status_ensure_defaults(tenant=tenant)
    agent = AgentFactory(tenant=tenant, email="ann@acme.test")
    StatusChange.objects.create(tenant=tenant, event_id="e1", agent=agent, agent_email=agent.email,
                                source="contact_center", decision="applied", occurred_at=timezone.now(),
                                to_status="Break")
    confirm = admin_client.get(f"/agents/{agent.pk}/remove/")
    assert "Remove agent ann@acme.test?" in confirm.content.decode()
    assert Agent.objects.filter(pk=agent.pk).exists()
    admin_client.post(f"/agents/{agent.pk}/remove/")
    assert not Agent.objects.filter(pk=agent.pk).exists()
    history = StatusChange.objects.get(event_id="e1")
    assert history.agent_id is None and history.agent_email == "ann@acme.test"


def test_a_cc_status_is_renamed_with_its_mappings_kept(admin_client, tenant):
    services.cc_status_ensure_defaults(tenant=tenant)
    test = services.cc_status_create(tenant=tenant, name="Test entry")
    mapped = KustomerStatusFactory(tenant=tenant, name="Coaching", cc_status=test)
    version = tenant.config_version
    page = admin_client.get(f"/settings/status-mapping/cc-statuses/{test.pk}/").content.decode()
    assert "Coaching" in page  # the mapping it affects
    admin_client.post(f"/settings/status-mapping/cc-statuses/{test.pk}/", {"action": "rename", "name": "Coaching"})
    test.refresh_from_db()
    mapped.refresh_from_db()
    assert test.name == "Coaching" and mapped.cc_status_id == test.pk
    tenant.refresh_from_db()
    assert tenant.config_version > version  # hot paths read the new name
    clash = admin_client.post(f"/settings/status-mapping/cc-statuses/{test.pk}/", {"action": "rename", "name": "break"})
    assert "already exists" in clash.content.decode()


def test_a_cc_status_held_by_an_agent_cannot_be_removed(admin_client, tenant):
    services.cc_status_ensure_defaults(tenant=tenant)
    test = services.cc_status_create(tenant=tenant, name="Test entry")
    agent = AgentFactory(tenant=tenant, email="ann@acme.test", cc_status=test)
    page = admin_client.get(f"/settings/status-mapping/cc-statuses/{test.pk}/").content.decode()
    assert "cannot be removed while an agent holds it (ann@acme.test)" in page
    refused = admin_client.post(f"/settings/status-mapping/cc-statuses/{test.pk}/", {"action": "remove"})
    assert "ann@acme.test" in refused.content.decode()
    assert CCStatus.objects.filter(pk=test.pk).exists()

    Agent.objects.filter(pk=agent.pk).update(cc_status=CCStatus.objects.get(tenant=tenant, name="Break"))
    mapped = KustomerStatusFactory(tenant=tenant, name="Coaching", cc_status=test)
    page = admin_client.get(f"/settings/status-mapping/cc-statuses/{test.pk}/").content.decode()
    assert "leaves Coaching unmapped" in page
    admin_client.post(f"/settings/status-mapping/cc-statuses/{test.pk}/", {"action": "remove"})
    assert not CCStatus.objects.filter(pk=test.pk).exists()
    mapped.refresh_from_db()
    assert mapped.cc_status_id is None
    assert "cc-status-Test entry" not in admin_client.get("/settings/status-mapping/").content.decode()
