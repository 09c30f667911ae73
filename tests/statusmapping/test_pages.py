"""The portal pages: Agent status settings, Status mapping › Set and manage, Agents,
an agent's history, and support's availability page (R-S1)."""
from django.urls import reverse

from statusmapping import selectors, services
from statusmapping.models import Agent, KustomerStatus
from tests.statusmapping.factories import AgentFactory, KustomerStatusFactory, inheritance_on, seed_map


def test_r_s1_settings_toggle_disabled_until_available(admin_client, tenant):
    page = admin_client.get(reverse("statusmapping:settings"))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="not-available"' in html and "Contact support" in html
    enabled_input = next(tag for tag in html.split("<input") if 'name="enabled"' in tag)
    assert "disabled" in enabled_input
    # Posting "enabled" anyway does not turn it on.
    admin_client.post(reverse("statusmapping:settings"), {"enabled": "on", "priority": "LATEST_WINS",
                                                          "direction": "ONE_WAY", "watch_interval_seconds": 5})
    assert selectors.inheritance_settings_get(tenant=tenant).enabled is False


def test_r_s1_support_makes_available_then_admin_sets_priority(admin_client, tenant, support_user):
    from django.test import Client

    assert admin_client.get(reverse("statusmapping:support_tenants")).status_code == 403
    client = Client()
    client.force_login(support_user)
    page = client.get(reverse("statusmapping:support_tenants"))
    assert 'data-testid="tenant-acme"' in page.content.decode()
    response = client.post(reverse("statusmapping:support_availability", args=["acme"]), {"available": "1"}, follow=True)
    assert "now available to Acme Support" in response.content.decode()

    response = admin_client.post(reverse("statusmapping:settings"), {
        "enabled": "on", "priority": "CRM_OVERRIDES", "direction": "ONE_WAY", "watch_interval_seconds": 5}, follow=True)
    html = response.content.decode()
    assert "Agent status settings saved." in html
    settings = selectors.inheritance_settings_get(tenant=tenant)
    assert settings.enabled and settings.priority == "CRM_OVERRIDES"
    assert 'data-testid="inheritance-state">On' in html


def test_two_way_shows_prerequisite_checks(admin_client, tenant):
    inheritance_on(tenant)
    from statusmapping.models import StatusInheritanceSettings

    StatusInheritanceSettings.objects.filter(tenant=tenant).update(
        direction="TWO_WAY", two_way_checked_at="2026-11-23T10:00:00Z", two_way_ready=False,
        two_way_checks=[{"check": "team_routing", "subject": "Sales", "ok": False, "detail": "Turn on team routing"}])
    html = admin_client.get(reverse("statusmapping:settings")).content.decode()
    assert 'data-testid="two-way-checks"' in html and "Sales" in html and "fails" in html
    assert "Two-way sync is not running" in html


def test_r_s2_r_s3_mapping_page_saves_whole_map_and_warns(admin_client, tenant):
    KustomerStatusFactory(tenant=tenant, kustomer_id="k-av", name="Available", status_type="available")
    KustomerStatusFactory(tenant=tenant, kustomer_id="k-off", name="Offline", status_type="offline")
    gone = KustomerStatusFactory(tenant=tenant, kustomer_id="k-gone", name="Old status", status_type="busy")
    KustomerStatus.objects.filter(pk=gone.pk).update(removed_at="2026-11-01T00:00:00Z")
    page = admin_client.get(reverse("statusmapping:mapping")).content.decode()
    assert 'name="map:k-av"' in page and "gone from Kustomer" in page
    assert "<option value=\"In-chat\"" in page

    response = admin_client.post(reverse("statusmapping:mapping"), {"map:k-av": "Available", "map:k-off": "Available"},
                                 follow=True)
    html = response.content.decode()
    assert "Status mapping saved." in html
    assert 'data-code="routable_when_away"' in html  # warned, not blocked
    assert KustomerStatus.objects.get(kustomer_id="k-off").cc_status.name == "Available"


def test_mapping_page_keeps_choices_on_error(admin_client, tenant):
    KustomerStatusFactory(tenant=tenant, kustomer_id="k1", name="One", status_type="available")
    response = admin_client.post(reverse("statusmapping:mapping"), {"map:k1": "No such status"})
    html = response.content.decode()
    assert "The map was not saved" in html and "No CC status named No such status" in html
    assert KustomerStatus.objects.get(kustomer_id="k1").cc_status is None


def test_add_cc_status_from_mapping_page(admin_client, tenant):
    response = admin_client.post(reverse("statusmapping:cc_status_create"), {"name": "Email work", "activity": "none"},
                                 follow=True)
    assert "CC status Email work added." in response.content.decode()
    response = admin_client.post(reverse("statusmapping:cc_status_create"), {"name": "email work", "activity": "none"},
                                 follow=True)
    assert "already exists" in response.content.decode()


def test_r_s11_agents_page_live_and_history(admin_client, tenant, api):
    inheritance_on(tenant)
    seed_map(tenant)
    AgentFactory(tenant=tenant, email="agent1@example.com", kustomer_user_id="u1")
    api.post("/api/v1/agent-status/events", {"id": "st-1", "source": "kustomer", "agent_email": "agent1@example.com",
                                             "kustomer_status_id": "k3", "occurred_at": "2026-11-23T10:00:01Z"},
             format="json")
    page = admin_client.get(reverse("statusmapping:agents")).content.decode()
    assert 'data-testid="agent-agent1@example.com"' in page and "Break" in page and "Status 3" in page
    assert "setInterval" in page  # refreshes itself
    rows = admin_client.get(reverse("statusmapping:agents") + "?fragment=rows").content.decode()
    assert "<html" not in rows and "Break" in rows

    agent = Agent.objects.get(tenant=tenant, email="agent1@example.com")
    history = admin_client.get(reverse("statusmapping:agent_history", args=[agent.pk])).content.decode()
    assert "applied" in history and "Status 3" in history and "→ Break" in history


def test_agents_page_adds_agent_and_keeps_typed_values(admin_client, tenant):
    response = admin_client.post(reverse("statusmapping:agents"), {"email": "New@Example.com", "name": "New"}, follow=True)
    assert "Agent new@example.com added" in response.content.decode()
    response = admin_client.post(reverse("statusmapping:agents"), {"email": "new@example.com", "name": "Typed name"})
    html = response.content.decode()
    assert "already exists" in html and 'value="Typed name"' in html


def test_other_tenants_agent_history_is_404(admin_client, other_tenant):
    theirs = AgentFactory(tenant=other_tenant, email="theirs@example.com")
    assert admin_client.get(reverse("statusmapping:agent_history", args=[theirs.pk])).status_code == 404
