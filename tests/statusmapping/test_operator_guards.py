"""Operator guards against the Kustomer sandbox (real HTTP): R-O6 a Kustomer sign-out
sets the status the admin chose; R-O7 the flapping guard holds an agent at the last
status, shows the damped changes in history and the API, and applies the latest one
when the hold ends."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from statusmapping import services
from statusmapping.models import StatusChange
from tests.statusmapping.test_sandbox_sync import agent1, ready, run_on_commit, watch  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


def test_r_o6_an_agent_signed_out_of_kustomer_gets_the_chosen_status(tenant, ready, api, run_on_commit):  # noqa: F811
    assert api.put("/api/v1/status-inheritance", {"sign_out_status": "Lunch"}, format="json").status_code == 200
    assert api.get("/api/v1/status-inheritance").json()["sign_out_status"] == "Lunch"
    ready.set_status("agent1@example.com", "Available")
    watch(tenant)
    assert agent1(tenant).cc_status.name == "Available"
    ready.set_status("agent1@example.com", "Offline")  # ends the work session
    watch(tenant, after_seconds=6)
    assert agent1(tenant).cc_status.name == "Lunch"  # not Offline, the offline status's mapping
    change = StatusChange.objects.filter(agent=agent1(tenant)).order_by("-received_at").first()
    assert (change.kind, change.decision, change.to_status) == ("sign_out", "applied", "Lunch")


def test_r_o6_a_sign_out_status_must_be_a_status_outside_calls(tenant, ready, api):  # noqa: F811
    response = api.put("/api/v1/status-inheritance", {"sign_out_status": "On call"}, format="json")
    assert response.status_code == 400 and "sign_out_status" in response.json()["errors"]
    response = api.put("/api/v1/status-inheritance", {"sign_out_status": "Nope"}, format="json")
    assert response.status_code == 400 and "sign_out_status" in response.json()["errors"]


def test_r_o7_a_flapping_agent_is_held_and_the_latest_change_applies_after_the_hold(tenant, ready, api):  # noqa: F811
    assert api.put("/api/v1/status-inheritance", {"flap_max_changes": 2, "flap_hold_seconds": 30},
                   format="json").status_code == 200
    s = ready.statuses
    start = timezone.now() - timedelta(seconds=20)
    decisions = []
    for i, name in enumerate(["Available", "Away", "Available", "Away", "Available"]):
        answer = api.post("/api/v1/agent-status/events", {
            "id": f"flap-{i}", "source": "kustomer", "agent_email": "agent1@example.com",
            "kustomer_status_id": s[name], "occurred_at": (start + timedelta(seconds=i)).isoformat()},
            format="json").json()
        decisions.append(answer["decision"])
    # The third change goes past the limit: the agent is held at it; the fourth is damped;
    # the fifth comes back to the held status itself, so nothing is left to apply later.
    assert decisions == ["applied", "applied", "applied", "damped", "applied"]
    assert agent1(tenant).cc_status.name == "Available"
    history = api.get("/api/v1/agents/agent1@example.com/status-history").json()
    damped = [c for c in history["results"] if c["decision"] == "damped"]
    assert len(damped) == 1 and "within a minute" in damped[0]["reason"]
    assert not agent1(tenant).damped_kustomer_status_id
    assert services.agents_damped_release(now=timezone.now() + timedelta(seconds=31)) == 0


def test_r_o7_the_change_remembered_during_a_hold_applies_when_it_ends(tenant, ready, api):  # noqa: F811
    api.put("/api/v1/status-inheritance", {"flap_max_changes": 1, "flap_hold_seconds": 10}, format="json")
    s = ready.statuses
    start = timezone.now() - timedelta(seconds=5)
    for i, name in enumerate(["Available", "Away", "Available"]):
        api.post("/api/v1/agent-status/events", {
            "id": f"f-{i}", "source": "kustomer", "agent_email": "agent1@example.com",
            "kustomer_status_id": s[name], "occurred_at": (start + timedelta(seconds=i)).isoformat()}, format="json")
    assert agent1(tenant).cc_status.name == "Break"  # Away's mapping: held at the second change
    assert agent1(tenant).damped_kustomer_status_id == s["Available"]
    services.agents_damped_release(now=timezone.now() + timedelta(seconds=11))
    assert agent1(tenant).cc_status.name == "Available"
    release = StatusChange.objects.filter(agent=agent1(tenant), kind="damped_release").get()
    assert release.decision == "applied"
