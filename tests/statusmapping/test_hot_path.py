"""The status event endpoint's fast path keeps the product's answers: configuration
read from the process's copy is never older than the last change made through the
portal, a change made behind its back is seen within its bound, and the
compare-and-set decides again when the agent's state moved between read and write."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from django.conf import settings as django_settings

from statusmapping import agent_state, selectors, services
from statusmapping.models import Agent, CCStatus, KustomerStatus, StatusChange
from tenants.models import Tenant
from tests.statusmapping.factories import AgentFactory, inheritance_on, seed_map

URL = "/api/v1/agent-status/events"
T0 = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)


@pytest.fixture
def setup(tenant):
    inheritance_on(tenant)
    seed_map(tenant)
    return AgentFactory(tenant=tenant, email="agent1@example.com")


def _at(seconds: int) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def _kustomer(api, event_id, status_id, seconds):
    response = api.post(URL, {"id": event_id, "source": "kustomer", "agent_email": "agent1@example.com",
                              "kustomer_status_id": status_id, "occurred_at": _at(seconds)}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def _cc(api, event_id, status, seconds):
    return api.post(URL, {"id": event_id, "source": "contact_center", "agent_email": "agent1@example.com",
                          "status": status, "kind": "manual", "occurred_at": _at(seconds)}, format="json")


def _later(monkeypatch, module, seconds: float) -> None:
    """Move `module`'s monotonic clock `seconds` ahead."""
    real = module.time.monotonic
    monkeypatch.setattr(module.time, "monotonic", lambda: real() + seconds)


# ------------------------------------------------------------------------ configuration copy
def test_a_map_saved_in_the_portal_applies_to_the_very_next_event(api, setup):
    assert _kustomer(api, "st-1", "k3", 1)["agent_status"] == "Break"
    services.status_mapping_save(tenant=Tenant.objects.get(pk=setup.tenant_id), mapping={
        "k1": "Available", "k2": "Available", "k3": "Lunch", "k4": "Lunch"})
    assert _kustomer(api, "st-2", "k4", 2)["agent_status"] == "Lunch"
    assert _kustomer(api, "st-3", "k3", 3)["agent_status"] == "Lunch"


def test_inheritance_turned_off_applies_to_the_very_next_event(api, setup):
    assert _kustomer(api, "st-1", "k3", 1)["decision"] == "applied"
    services.status_inheritance_update(tenant=Tenant.objects.get(pk=setup.tenant_id), enabled=False)
    answer = _kustomer(api, "st-2", "k4", 2)
    assert answer["decision"] != "applied" and answer["agent_status"] == "Break"


def test_every_configuration_writer_moves_the_tenant_version(tenant):
    def version():
        return Tenant.objects.get(pk=tenant.pk).config_version

    steps = [
        lambda: services.status_inheritance_availability_set(tenant=tenant, available=True),
        lambda: services.status_inheritance_update(tenant=tenant, enabled=True, priority="CRM_OVERRIDES"),
        lambda: services.cc_status_ensure_defaults(tenant=tenant),
        lambda: services.cc_status_create(tenant=tenant, name="Coaching"),
        lambda: services.status_mapping_save(tenant=tenant, mapping={}),
        lambda: services.two_way_prerequisites_check(tenant_id=tenant.pk),  # no connection: stores "not ready"
    ]
    for step in steps:
        before = version()
        step()
        assert version() > before, step
        if step is not steps[-1]:  # (the check loads a tenant of its own)
            assert tenant.config_version == version()  # the caller's instance follows


def test_kustomer_statuses_read_again_move_the_version(tenant, connected):
    before = Tenant.objects.get(pk=tenant.pk).config_version
    services.kustomer_statuses_refresh(tenant_id=tenant.pk)
    assert Tenant.objects.get(pk=tenant.pk).config_version > before
    assert KustomerStatus.objects.filter(tenant=tenant).count() == 5


def test_a_change_made_behind_the_services_back_is_seen_within_the_copy_age(api, setup, monkeypatch):
    assert _kustomer(api, "st-1", "k3", 1)["agent_status"] == "Break"
    lunch = CCStatus.objects.get(tenant_id=setup.tenant_id, name="Lunch")
    KustomerStatus.objects.filter(tenant_id=setup.tenant_id, kustomer_id="k1").update(cc_status=lunch)  # no bump
    assert _kustomer(api, "st-2", "k1", 2)["agent_status"] == "Available"  # this process's copy
    _later(monkeypatch, selectors, django_settings.STATUS_CONFIG_MAX_AGE_SECONDS + 1)
    assert _kustomer(api, "st-3", "k2", 3)["agent_status"] == "Available"
    assert _kustomer(api, "st-4", "k1", 4)["agent_status"] == "Lunch"


def test_a_cc_status_added_by_another_process_is_found_on_a_miss(api, setup, monkeypatch):
    assert _cc(api, "cc-1", "Available", 1).status_code == 200  # the copy is loaded
    CCStatus.objects.create(tenant_id=setup.tenant_id, name="Coaching")  # as if by another process
    _later(monkeypatch, selectors, 2)  # the copy is older than the re-read pause
    response = _cc(api, "cc-2", "Coaching", 2)
    assert response.status_code == 200, response.content
    assert response.json()["agent_status"] == "Coaching"


def test_an_unknown_status_name_is_still_refused_naming_the_field(api, setup):
    response = _cc(api, "cc-1", "Nap", 1)
    assert response.status_code == 400
    assert "status" in response.json()["errors"]


def test_a_repeated_id_with_a_body_that_cannot_be_decided_answers_the_first_decision(api, setup):
    first = _cc(api, "cc-1", "Break", 1)
    again = _cc(api, "cc-1", "Nap", 1)
    assert again.status_code == 200 and again.json() == first.json()
    assert StatusChange.objects.filter(event_id="cc-1").count() == 1


# ------------------------------------------------------------------------ compare-and-set
def _store_between_read_and_write(monkeypatch, tenant_id: int, *, status: str, seconds: int) -> list:
    """The next agent read is followed, before its event writes, by event B (`status` at
    T0 + `seconds`) stored through the service. Returns [B's record] once it ran."""
    real_read = agent_state.agent_row_read
    stored: list = []

    def read_then_interleave(**kwargs):
        row = real_read(**kwargs)
        if not stored:
            stored.append(None)  # before the call: B's own read comes through here too
            stored[0] = services.agent_status_change_record(
                tenant=Tenant.objects.get(pk=tenant_id), event_id="cc-B", source="contact_center",
                agent_email="agent1@example.com", status=status, occurred_at=T0 + timedelta(seconds=seconds))
        return row

    monkeypatch.setattr(agent_state, "agent_row_read", read_then_interleave)
    return stored


def test_a_change_stored_between_read_and_write_makes_the_event_decided_again(api, setup, monkeypatch):
    """Event A (Break, newest) reads the agent; before it writes, event B (Lunch, older)
    is stored. A's write finds the state moved, reads again, and is decided on B's
    result: nothing of B is lost and A's history says it came from Lunch."""
    assert _cc(api, "cc-0", "Available", 0).status_code == 200
    stored = _store_between_read_and_write(monkeypatch, setup.tenant_id, status="Lunch", seconds=2)
    answer = _cc(api, "cc-A", "Break", 3).json()
    assert stored[0].decision == "applied"
    assert answer["decision"] == "applied" and answer["agent_status"] == "Break"
    a, b = StatusChange.objects.get(event_id="cc-A"), StatusChange.objects.get(event_id="cc-B")
    assert (b.from_status, b.to_status) == ("Available", "Lunch")
    assert (a.from_status, a.to_status) == ("Lunch", "Break")
    agent = Agent.objects.select_related("cc_status").get(pk=setup.pk)
    assert agent.cc_status.name == "Break" and agent.cc_status_at == T0 + timedelta(seconds=3)


def test_an_older_change_stored_between_read_and_write_is_not_overwritten_by_a_stale_decision(
        api, setup, monkeypatch):
    """The reverse order: A (older) read first, B (newer) stored meanwhile. Decided again,
    A is stale under LATEST_WINS and the agent keeps B's status."""
    assert _cc(api, "cc-0", "Available", 0).status_code == 200
    _store_between_read_and_write(monkeypatch, setup.tenant_id, status="Lunch", seconds=5)
    answer = _cc(api, "cc-A", "Break", 3).json()
    assert answer["decision"] == "stale" and answer["agent_status"] == "Lunch"
    assert Agent.objects.select_related("cc_status").get(pk=setup.pk).cc_status.name == "Lunch"


def test_an_agent_whose_state_never_settles_gets_a_503_and_nothing_is_written(api, setup, monkeypatch):
    monkeypatch.setattr(agent_state, "agent_change_commit", lambda **kwargs: False)
    response = _cc(api, "cc-1", "Break", 1)
    assert response.status_code == 503
    assert "agent_email" in response.json()["errors"]
    assert not StatusChange.objects.filter(event_id="cc-1").exists()


def test_the_stored_history_record_reads_back_as_sent(api, setup):
    _kustomer(api, "st-1", "k3", 1)
    row = StatusChange.objects.get(event_id="st-1")
    assert row.agent_id == setup.pk and row.tenant_id == setup.tenant_id
    assert (row.source, row.feed, row.kustomer_status_id, row.kustomer_status_name) == (
        "kustomer", "api", "k3", "Status 3")
    assert (row.from_status, row.to_status, row.decision) == ("", "Break", "applied")
    assert row.occurred_at == T0 + timedelta(seconds=1)
    assert row.received_at.tzinfo is not None
    assert StatusChange.objects.filter(agent=setup).count() == 1  # the agent's history finds it
