"""`POST /api/v1/agent-status/events` and the agents/history endpoints, on the database."""
import pytest

from statusmapping import selectors
from statusmapping.models import StatusChange
from tests.conftest import api_client_with_scopes
from tests.statusmapping.factories import AgentFactory, inheritance_on, seed_map

URL = "/api/v1/agent-status/events"


@pytest.fixture
def setup(tenant):
    inheritance_on(tenant)
    seed_map(tenant)
    return AgentFactory(tenant=tenant, email="agent1@example.com")


def kustomer_event(event_id, status_id, at, email="agent1@example.com", instance="tab-1"):
    return {"id": event_id, "source": "kustomer", "agent_email": email, "kustomer_status_id": status_id,
            "occurred_at": at, "instance_id": instance}


def cc_event(event_id, status, at, kind="manual", email="agent1@example.com"):
    return {"id": event_id, "source": "contact_center", "agent_email": email, "status": status, "kind": kind,
            "occurred_at": at}


def post(api, body):
    response = api.post(URL, body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def test_r_s4_seed_map_applies_in_the_request(api, setup):
    assert post(api, kustomer_event("st-1", "k3", "2026-11-23T10:00:01Z")) | {"reason": ""} == {
        "id": "st-1", "decision": "applied", "agent_status": "Break", "reason": ""}
    assert post(api, kustomer_event("st-2", "k2", "2026-11-23T10:00:02Z"))["agent_status"] == "Available"
    assert post(api, kustomer_event("st-3", "k4", "2026-11-23T10:00:03Z"))["agent_status"] == "Lunch"
    assert post(api, kustomer_event("st-4", "k1", "2026-11-23T10:00:04Z"))["agent_status"] == "Available"
    agent = selectors.agent_get_by_email(tenant=setup.tenant, email="AGENT1@example.com")
    assert agent.cc_status.name == "Available" and agent.kustomer_status_id == "k1"


def test_r_s4_unmapped_status_recorded(api, setup):
    post(api, kustomer_event("st-1", "k3", "2026-11-23T10:00:01Z"))
    answer = post(api, kustomer_event("st-2", "k5", "2026-11-23T10:00:02Z"))
    assert answer["decision"] == "unmapped" and answer["agent_status"] == "Break"
    row = StatusChange.objects.get(event_id="st-2")
    assert (row.decision, row.kustomer_status_name, row.from_status, row.to_status) == (
        "unmapped", "Status 5 (unmapped)", "Break", "Break")


def test_r_s5_unknown_agent_email_recorded(api, setup):
    answer = post(api, kustomer_event("st-1", "k1", "2026-11-23T10:00:01Z", email="nobody@example.com"))
    assert answer["decision"] == "unknown_agent" and answer["agent_status"] is None
    row = StatusChange.objects.get(event_id="st-1")
    assert row.agent is None and row.agent_email == "nobody@example.com"


def test_repeated_event_id_answers_first_decision(api, setup):
    first = post(api, kustomer_event("st-1", "k3", "2026-11-23T10:00:01Z"))
    post(api, cc_event("cc-1", "Available", "2026-11-23T10:00:05Z"))
    again = post(api, kustomer_event("st-1", "k3", "2026-11-23T10:00:01Z"))
    assert again == first
    assert StatusChange.objects.filter(event_id="st-1").count() == 1
    assert selectors.agent_get_by_email(tenant=setup.tenant, email="agent1@example.com").cc_status.name == "Available"


def test_r_s7_stale_event_under_latest_wins(api, setup):
    post(api, kustomer_event("st-1", "k3", "2026-11-23T10:00:10Z"))
    post(api, cc_event("cc-1", "Meeting", "2026-11-23T10:00:20Z"))
    late = post(api, kustomer_event("st-0", "k4", "2026-11-23T10:00:15Z"))
    assert late == {"id": "st-0", "decision": "stale", "agent_status": "Meeting", "reason": late["reason"]}


def test_r_s7_crm_overrides_next_status_after_call(api, tenant, setup):
    from statusmapping import services

    services.status_inheritance_update(tenant=tenant, priority="CRM_OVERRIDES")
    post(api, kustomer_event("st-1", "k4", "2026-11-23T10:00:00Z"))  # Lunch
    post(api, cc_event("cc-1", "On call", "2026-11-23T10:00:10Z", kind="system_next"))
    post(api, cc_event("cc-2", "Wrap-up", "2026-11-23T10:01:00Z", kind="system_next"))
    end = post(api, cc_event("cc-3", "Available", "2026-11-23T10:01:30Z", kind="system_next"))
    assert end["decision"] == "applied" and end["agent_status"] == "Lunch"


def test_r_s12_held_during_call_and_released_at_end(api, setup):
    post(api, kustomer_event("st-1", "k1", "2026-11-23T10:00:00Z"))
    post(api, cc_event("cc-1", "On call", "2026-11-23T10:00:10Z", kind="system_next"))
    held = post(api, kustomer_event("st-2", "k3", "2026-11-23T10:00:20Z"))
    assert held["decision"] == "held" and held["agent_status"] == "On call"
    replaced = post(api, kustomer_event("st-3", "k4", "2026-11-23T10:00:25Z"))
    assert replaced["decision"] == "held"
    agent = selectors.agent_get_by_email(tenant=setup.tenant, email="agent1@example.com")
    assert agent.held_cc_status.name == "Lunch"
    end = post(api, cc_event("cc-2", "Available", "2026-11-23T10:00:40Z", kind="system_next"))
    assert end["decision"] == "applied" and end["agent_status"] == "Lunch"
    agent.refresh_from_db()
    assert agent.held_cc_status is None


def test_r_s6_two_live_instances(api, setup):
    hb = api.post("/api/v1/adapter/heartbeat", {"agent_email": "agent1@example.com", "instance_id": "tab-1"},
                  format="json").json()
    assert hb["live_instances"] == 1 and hb["several_instances"] is False
    hb = api.post("/api/v1/adapter/heartbeat", {"agent_email": "Agent1@example.com", "instance_id": "tab-2"},
                  format="json").json()
    assert hb["live_instances"] == 2 and hb["several_instances"] is True and hb["message"]
    answer = post(api, kustomer_event("st-1", "k3", "2026-11-23T10:00:01Z", instance="tab-1"))
    assert answer["decision"] == "several_instances" and answer["agent_status"] is None
    detail = api.get("/api/v1/agents/agent1@example.com").json()
    assert detail["several_instances"] is True and detail["live_instances"] == 2


def test_r_s6_instance_unseen_for_30_seconds_is_gone(api, setup):
    from datetime import timedelta

    from django.utils import timezone

    from statusmapping.models import AdapterInstance

    api.post("/api/v1/adapter/heartbeat", {"agent_email": "agent1@example.com", "instance_id": "old-tab"}, format="json")
    AdapterInstance.objects.filter(instance_id="old-tab").update(last_seen_at=timezone.now() - timedelta(seconds=31))
    answer = post(api, kustomer_event("st-1", "k3", "2026-11-23T10:00:01Z", instance="new-tab"))
    assert answer["decision"] == "applied"


def test_r_s1_inheritance_off(api, tenant):
    seed_map(tenant)
    AgentFactory(tenant=tenant, email="agent1@example.com")
    answer = post(api, kustomer_event("st-1", "k3", "2026-11-23T10:00:01Z"))
    assert answer["decision"] == "inheritance_off"


def test_validation_names_the_field(api, setup):
    response = api.post(URL, {"id": "x", "source": "kustomer", "agent_email": "agent1@example.com",
                              "occurred_at": "2026-11-23T10:00:01Z"}, format="json")
    assert response.status_code == 400 and "kustomer_status_id" in response.json()["errors"]
    response = api.post(URL, cc_event("x", "Nope", "2026-11-23T10:00:01Z"), format="json")
    assert response.status_code == 400 and "status" in response.json()["errors"]
    assert not StatusChange.objects.exists()


def test_events_need_events_write_scope(tenant, setup):
    client = api_client_with_scopes(tenant, "config:read", "config:write")
    assert client.post(URL, kustomer_event("st-1", "k3", "2026-11-23T10:00:01Z"), format="json").status_code == 403


def test_r_s11_history_and_agents_endpoints(api, setup):
    post(api, kustomer_event("st-1", "k3", "2026-11-23T10:00:01Z"))
    post(api, kustomer_event("st-2", "k5", "2026-11-23T10:00:02Z"))
    history = api.get("/api/v1/agents/agent1@example.com/status-history").json()
    assert [(h["event_id"], h["decision"], h["from_status"], h["to_status"]) for h in history["results"]] == [
        ("st-2", "unmapped", "Break", "Break"), ("st-1", "applied", "", "Break")]
    agents = api.get("/api/v1/agents").json()["results"]
    assert agents[0]["email"] == "agent1@example.com" and agents[0]["cc_status"] == "Break"
    assert agents[0]["kustomer_status"] == "Status 5 (unmapped)"


def test_agents_create_and_foreign_tenant_404(api, tenant, other_tenant):
    created = api.post("/api/v1/agents", {"email": "New.Agent@Example.com", "name": "New"}, format="json")
    assert created.status_code == 201 and created.json()["email"] == "new.agent@example.com"
    dup = api.post("/api/v1/agents", {"email": "new.agent@example.com"}, format="json")
    assert dup.status_code == 409 and "email" in dup.json()["errors"]
    AgentFactory(tenant=other_tenant, email="theirs@example.com")
    assert api.get("/api/v1/agents/theirs@example.com").status_code == 404
    assert api.get("/api/v1/agents/theirs@example.com/status-history").status_code == 404


def test_heartbeat_validation_and_unknown_agent(api, setup):
    response = api.post("/api/v1/adapter/heartbeat", {"agent_email": "agent1@example.com"}, format="json")
    assert response.status_code == 400 and "instance_id" in response.json()["errors"]
    response = api.post("/api/v1/adapter/heartbeat", {"agent_email": "x@example.com", "instance_id": "t"}, format="json")
    assert response.status_code == 404


def test_watcher_interval_stretches_to_stay_within_rate_budget(tenant):
    """A tenant whose last read took 30 pages, on a 300/min org, is read at most once a
    minute (10% of the budget), whatever interval the admin chose."""
    from datetime import timedelta

    from django.utils import timezone

    from integrations.models import KustomerConnection
    from core.crypto import encrypt_secret
    from statusmapping import services
    from statusmapping.models import StatusInheritanceSettings

    KustomerConnection.objects.create(tenant=tenant, base_url="https://acme.api.kustomerapp.com",
                                      api_key_encrypted=encrypt_secret("k"), rate_limit_per_minute=300)
    inheritance_on(tenant, watch_interval_seconds=5)
    now = timezone.now()
    StatusInheritanceSettings.objects.filter(tenant=tenant).update(watched_at=now - timedelta(seconds=10), watch_pages=1)
    assert services.status_watch_due_tenants(now=now) == [tenant.pk]
    StatusInheritanceSettings.objects.filter(tenant=tenant).update(watch_pages=30)
    assert services.status_watch_due_tenants(now=now) == []
    assert services.status_watch_due_tenants(now=now + timedelta(seconds=51)) == [tenant.pk]


def test_r_s7_sender_clock_ahead_does_not_make_later_changes_stale(api, setup):
    """An adapter whose clock runs an hour ahead: its change counts as happening when
    received, so the CC's real later change still applies."""
    from datetime import timedelta

    from django.utils import timezone

    ahead = (timezone.now() + timedelta(hours=1)).isoformat()
    assert post(api, kustomer_event("st-1", "k3", ahead))["agent_status"] == "Break"
    later = (timezone.now() + timedelta(seconds=1)).isoformat()
    assert post(api, cc_event("cc-1", "Meeting", later))["decision"] == "applied"
    assert StatusChange.objects.get(event_id="st-1").occurred_at.isoformat() == ahead  # kept as sent
