"""Status inheritance against the Kustomer sandbox (real HTTP): statuses refresh (R-S2),
agents matched by email (R-S5), the watcher feed, two-way push (R-S9), sign-in (R-S8)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from celery.exceptions import Retry

from kustomer_sandbox.store import add_status
from statusmapping import selectors, services
from statusmapping.models import Agent, KustomerStatus, StatusChange
from statusmapping.tasks import agent_status_push_task
from tests.statusmapping.factories import inheritance_on


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run what the code under test queued on commit (tasks run eagerly in unit tests)."""
    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)
    return run


@pytest.fixture
def ready(tenant, connected, api, run_on_commit):
    """Statuses read from the sandbox, a map, agent1 created and linked, inheritance on."""
    assert run_on_commit(api.post, "/api/v1/kustomer-statuses/refresh").status_code == 202
    s = connected.statuses
    mapping = {s["Available"]: "Available", s["Busy"]: "Unavailable", s["Away"]: "Break", s["Email"]: "Break",
               s["Offline"]: "Offline"}
    assert api.put("/api/v1/status-mapping", {"mapping": mapping}, format="json").status_code == 200
    created = run_on_commit(api.post, "/api/v1/agents", {"email": "Agent1@Example.com"}, format="json")
    assert created.status_code == 201
    inheritance_on(tenant)
    return connected


def agent1(tenant) -> Agent:
    return selectors.agent_get_by_email(tenant=tenant, email="agent1@example.com")


def watch(tenant, *, after_seconds: float = 0):
    return services.status_watch_tenant(tenant_id=tenant.pk, now=timezone.now() + timedelta(seconds=after_seconds))


def test_r_s2_statuses_read_from_kustomer_and_gone_ones_marked(tenant, connected, api, run_on_commit):
    run_on_commit(api.post, "/api/v1/kustomer-statuses/refresh")
    listed = api.get("/api/v1/kustomer-statuses").json()
    assert {(s["name"], s["status_type"]) for s in listed["results"]} == {
        ("Available", "available"), ("Busy", "busy"), ("Away", "unavailable"), ("Email", "busy"), ("Offline", "offline")}
    assert listed["refreshed_at"]
    api.put("/api/v1/status-mapping", {"mapping": {connected.statuses["Email"]: "Break"}}, format="json")

    with connected.sandbox.server.state.lock:  # Kustomer admin deletes "Email", adds "Coaching"
        del connected.sandbox.org.statuses[connected.statuses["Email"]]
        add_status(connected.sandbox.org, name="Coaching", status_type="unavailable")
    run_on_commit(api.post, "/api/v1/kustomer-statuses/refresh")
    by_name = {s["name"]: s for s in api.get("/api/v1/kustomer-statuses").json()["results"]}
    assert by_name["Email"]["removed"] is True and by_name["Email"]["cc_status"] == "Break"  # marked, kept
    assert by_name["Coaching"]["removed"] is False
    assert by_name["Available"]["removed"] is False


def test_r_s5_agent_linked_to_kustomer_user_by_email(tenant, connected, api, run_on_commit):
    run_on_commit(api.post, "/api/v1/agents", {"email": "AGENT2@example.com"}, format="json")
    run_on_commit(api.post, "/api/v1/agents", {"email": "nobody@example.com"}, format="json")
    agents = {a["email"]: a for a in api.get("/api/v1/agents").json()["results"]}
    assert agents["agent2@example.com"]["kustomer_user_id"] == connected.users["agent2@example.com"]
    assert agents["nobody@example.com"]["kustomer_user_id"] == ""
    assert "No Kustomer user" in agents["nobody@example.com"]["kustomer_user_error"]


def test_r_s5_one_look_up_of_a_kustomer_user_by_email_for_agents_and_assignments(tenant, connected):
    """Conversations assign by the same look-up as agents link: the agent's linked user,
    else Kustomer's user list, and never a guess when several users share an email."""
    from integrations.selectors import kustomer_connection_get
    from integrations.services import kustomer_client_for
    from kustomer_sandbox.store import add_user

    with connected.sandbox.server.state.lock:
        shared = [add_user(connected.sandbox.org, name=f"Desk {i}", email="desk@example.com")["id"] for i in range(2)]
        solo = add_user(connected.sandbox.org, name="Solo", email="solo@example.com")["id"]
    with kustomer_client_for(connection=kustomer_connection_get(tenant=tenant)) as client:
        look_up = lambda email: services.kustomer_user_id_for_email(tenant=tenant, client=client, email=email)  # noqa: E731
        assert look_up("Agent1@example.com") == connected.users["agent1@example.com"]
        assert look_up("solo@example.com") == solo
        assert look_up("desk@example.com") is None and len(shared) == 2
        assert look_up("nobody@example.com") is None


def test_watcher_picks_up_a_status_changed_in_the_sandbox(tenant, ready):
    ready.set_status("agent1@example.com", "Available")
    connected = ready.sandbox
    connected.server.state.request_log.clear()
    assert watch(tenant) == 1
    assert agent1(tenant).cc_status.name == "Available"

    ready.set_status("agent1@example.com", "Away")
    assert watch(tenant, after_seconds=1) == 0  # within its interval: no second read
    assert watch(tenant, after_seconds=6) == 1
    agent = agent1(tenant)
    assert agent.cc_status.name == "Break" and agent.kustomer_status_id == ready.statuses["Away"]
    change = StatusChange.objects.filter(agent=agent).first()
    assert (change.feed, change.decision, change.kustomer_status_name) == ("watcher", "applied", "Away")

    # Nothing new: no change fed. And one list call per read (one page), nothing per agent.
    assert watch(tenant, after_seconds=12) == 0
    calls = connected.requests()
    assert len(calls) == 3 and all(c["path"] == "/v1/routing/work-sessions" for c in calls)


def test_watcher_sees_an_agent_who_went_offline(tenant, ready):
    ready.set_status("agent1@example.com", "Away")
    watch(tenant)
    ready.set_status("agent1@example.com", "Offline")  # ends the work session
    assert watch(tenant, after_seconds=6) == 1
    assert agent1(tenant).cc_status.name == "Offline"


def test_r_s9_two_way_push_against_sandbox_without_echo(tenant, ready, api, run_on_commit):
    s = ready.statuses
    # Many-to-one: Kustomer Away and Email both map to CC Break. CC Lunch goes out as Away.
    api.put("/api/v1/status-mapping", {
        "mapping": {s["Available"]: "Available", s["Away"]: "Break", s["Email"]: "Break", s["Offline"]: "Offline"},
        "push": {"Lunch": s["Away"], "Available": s["Available"], "Meeting": s["Email"]},
    }, format="json")
    ready.set_status("agent1@example.com", "Available")
    watch(tenant)
    response = run_on_commit(api.put, "/api/v1/status-inheritance", {"direction": "TWO_WAY"}, format="json")
    assert response.status_code == 200
    settings = api.get("/api/v1/status-inheritance").json()
    assert settings["two_way"]["ready"] is True, settings

    ready.sandbox.server.state.request_log.clear()
    answer = run_on_commit(api.post, "/api/v1/agent-status/events", {
        "id": "cc-1", "source": "contact_center", "agent_email": "agent1@example.com", "status": "Lunch",
        "kind": "manual", "occurred_at": timezone.now().isoformat()}, format="json").json()
    assert answer["decision"] == "applied" and answer["agent_status"] == "Lunch"
    assert ready.work_session_status("agent1@example.com") == s["Away"]  # Kustomer holds the pushed status
    puts = ready.sandbox.requests(method="PUT")
    assert len(puts) == 1 and "/v1/routing/work-sessions/" in puts[0]["path"]

    # The echo: the adapter reports Away (which maps to Break) and the watcher reads it.
    echo = api.post("/api/v1/agent-status/events", {
        "id": "k-echo", "source": "kustomer", "agent_email": "agent1@example.com", "kustomer_status_id": s["Away"],
        "occurred_at": timezone.now().isoformat(), "instance_id": "tab-1"}, format="json").json()
    assert echo["decision"] == "unchanged" and echo["agent_status"] == "Lunch"
    assert watch(tenant, after_seconds=6) == 0
    assert agent1(tenant).cc_status.name == "Lunch"

    # A change made in Kustomer applies and is never pushed back (no ping-pong).
    ready.set_status("agent1@example.com", "Email")
    run_on_commit(watch, tenant, after_seconds=12)
    assert agent1(tenant).cc_status.name == "Break"
    assert len(ready.sandbox.requests(method="PUT")) == 1
    assert ready.work_session_status("agent1@example.com") == s["Email"]


def test_r_s9_pushes_collapse_to_the_latest_status(tenant, ready, api, run_on_commit):
    s = ready.statuses
    api.put("/api/v1/status-mapping", {"mapping": {s["Available"]: "Available"},
                                       "push": {"Lunch": s["Away"], "Meeting": s["Email"]}}, format="json")
    ready.set_status("agent1@example.com", "Available")
    run_on_commit(api.put, "/api/v1/status-inheritance", {"direction": "TWO_WAY"}, format="json")
    ready.sandbox.server.state.request_log.clear()
    now = timezone.now()
    # Two CC changes commit before any push runs: the pushes that follow send the latest.
    with_callbacks = []
    for i, status in enumerate(("Lunch", "Meeting")):
        services.agent_status_change_record(
            tenant=tenant, event_id=f"cc-{i}", source="contact_center", agent_email="agent1@example.com",
            occurred_at=now + timedelta(seconds=i), status=status)
        with_callbacks.append(agent1(tenant).pk)
    for agent_id in with_callbacks:
        services.agent_status_push(agent_id=agent_id)
    puts = ready.sandbox.requests(method="PUT")
    assert len(puts) == 1
    assert ready.work_session_status("agent1@example.com") == s["Email"]


def test_r_s9_prerequisites_show_which_fail(tenant, ready, api, run_on_commit):
    run_on_commit(api.post, "/api/v1/agents", {"email": "agent2@example.com"}, format="json")
    ready.set_status("agent1@example.com", "Available")
    ready.set_status("agent2@example.com", "Available")  # works as Sales: team routing off
    run_on_commit(api.put, "/api/v1/status-inheritance", {"direction": "TWO_WAY"}, format="json")
    two_way = api.get("/api/v1/status-inheritance").json()["two_way"]
    failing = {(c["check"], c["subject"]) for c in two_way["checks"] if not c["ok"]}
    assert failing == {("team_routing", "Sales"), ("external_queue", "Sales"), ("selected_team", "agent2@example.com")}
    passing = {(c["check"], c["subject"]) for c in two_way["checks"] if c["ok"]}
    assert {("team_routing", "Support"), ("external_queue", "Support"), ("selected_team", "agent1@example.com")} <= passing

    # agent2's CC changes are not pushed: their selected team fails the prerequisites.
    s = ready.statuses
    api.put("/api/v1/status-mapping", {"mapping": {}, "push": {"Lunch": s["Away"]}}, format="json")
    run_on_commit(services.agent_status_change_record, tenant=tenant, event_id="cc-2", source="contact_center",
                  agent_email="agent2@example.com", occurred_at=timezone.now(), status="Lunch")
    assert ready.work_session_status("agent2@example.com") == s["Available"]
    agent2 = selectors.agent_get_by_email(tenant=tenant, email="agent2@example.com")
    assert "selected Kustomer team" in agent2.push_error


def test_r_s8_inherit_status_on_sign_in(tenant, ready, api, run_on_commit):
    ready.set_status("agent1@example.com", "Away")
    sign_in = {"source": "contact_center", "agent_email": "agent1@example.com", "status": "Available",
               "kind": "sign_in"}
    # Off by default: the CC's own sign-in status stays.
    answer = run_on_commit(api.post, "/api/v1/agent-status/events",
                           {**sign_in, "id": "login-1", "occurred_at": timezone.now().isoformat()}, format="json")
    assert answer.json()["agent_status"] == "Available"
    assert agent1(tenant).cc_status.name == "Available"

    api.put("/api/v1/status-inheritance", {"inherit_on_login": True}, format="json")
    run_on_commit(api.post, "/api/v1/agent-status/events",
                  {**sign_in, "id": "login-2", "occurred_at": (timezone.now() + timedelta(seconds=1)).isoformat()},
                  format="json")
    agent = agent1(tenant)
    assert agent.cc_status.name == "Break"  # Kustomer's Away, mapped
    login = StatusChange.objects.get(event_id="login:login-2")
    assert (login.feed, login.decision, login.kustomer_status_name) == ("login", "applied", "Away")


def test_watcher_stays_off_while_inheritance_is_off(tenant, connected, api, run_on_commit):
    run_on_commit(api.post, "/api/v1/agents", {"email": "agent1@example.com"}, format="json")
    connected.set_status("agent1@example.com", "Away")
    connected.sandbox.server.state.request_log.clear()
    assert watch(tenant) == 0
    assert connected.sandbox.requests() == []
    assert services.status_watch_due_tenants() == []
    assert KustomerStatus.objects.filter(tenant=tenant).count() == 0


def test_r_s9_push_retried_after_a_transient_kustomer_error(tenant, ready, api, run_on_commit):
    s = ready.statuses
    api.put("/api/v1/status-mapping", {"mapping": {s["Available"]: "Available"}, "push": {"Lunch": s["Away"]}},
            format="json")
    ready.set_status("agent1@example.com", "Available")
    run_on_commit(api.put, "/api/v1/status-inheritance", {"direction": "TWO_WAY"}, format="json")
    ready.sandbox.inject_faults(error_next=1, error_status=503, methods=["PUT"])
    with pytest.raises(Retry):  # eager mode hands the retry back instead of sleeping
        run_on_commit(services.agent_status_change_record, tenant=tenant, event_id="cc-1",
                      source="contact_center", agent_email="agent1@example.com", occurred_at=timezone.now(),
                      status="Lunch")
    agent = agent1(tenant)
    assert "503" in agent.push_error or "Unavailable" in agent.push_error
    assert agent.push_kustomer_status_id == s["Away"]  # still wanted: the retry sends it
    assert ready.work_session_status("agent1@example.com") == s["Available"]
    agent_status_push_task.apply(args=[agent.pk])  # the retry
    assert ready.work_session_status("agent1@example.com") == s["Away"]
    puts = ready.sandbox.requests(method="PUT")
    assert [p["status"] for p in puts] == [503, 200]
    agent = agent1(tenant)
    assert agent.push_error == "" and agent.push_kustomer_status_id == "" and agent.kustomer_status_id == s["Away"]


def test_periodic_tick_runs_the_watcher_of_due_tenants(tenant, ready):
    from portal.celery import app
    from statusmapping.tasks import status_watch_due_task

    app.finalize()
    assert {"statusmapping-watch", "statusmapping-refresh-kustomer-statuses"} <= set(app.conf.beat_schedule)
    ready.set_status("agent1@example.com", "Away")
    assert services.status_watch_due_tenants() == [tenant.pk]
    status_watch_due_task()
    assert agent1(tenant).cc_status.name == "Break"
    assert services.status_watch_due_tenants() == []  # read just now: not due again yet


def test_r_s2_status_new_in_kustomer_is_read_when_an_event_names_it(tenant, ready, api, run_on_commit):
    with ready.sandbox.server.state.lock:
        coaching = add_status(ready.sandbox.org, name="Coaching", status_type="unavailable")["id"]
    answer = run_on_commit(api.post, "/api/v1/agent-status/events", {
        "id": "st-1", "source": "kustomer", "agent_email": "agent1@example.com", "kustomer_status_id": coaching,
        "occurred_at": timezone.now().isoformat()}, format="json").json()
    assert answer["decision"] == "unmapped"
    names = {s["name"] for s in api.get("/api/v1/kustomer-statuses").json()["results"]}
    assert "Coaching" in names  # now listed on the mapping page, waiting to be mapped


def test_r_s13_two_way_disagreement_after_a_call_is_set_back_in_kustomer(tenant, ready, api, run_on_commit):
    """The simulated day's defect: under CRM_OVERRIDES an agent Away in Kustomer takes a
    call (the portal pushes Busy for "On call"); at the call's end the agent gets Break
    (Away's mapping) and Kustomer must be set back to Away, not left at our Busy push."""
    s = ready.statuses
    api.put("/api/v1/status-mapping", {
        "mapping": {s["Available"]: "Available", s["Busy"]: "Unavailable", s["Away"]: "Break", s["Offline"]: "Offline"},
        "push": {"Available": s["Available"], "Break": s["Away"], "On call": s["Busy"], "Wrap-up": s["Busy"]},
    }, format="json")
    ready.set_status("agent1@example.com", "Available")
    watch(tenant)
    response = run_on_commit(api.put, "/api/v1/status-inheritance",
                             {"direction": "TWO_WAY", "priority": "CRM_OVERRIDES"}, format="json")
    assert response.status_code == 200 and api.get("/api/v1/status-inheritance").json()["two_way"]["ready"] is True

    ready.set_status("agent1@example.com", "Away")  # a person, in Kustomer
    run_on_commit(watch, tenant, after_seconds=6)
    assert agent1(tenant).cc_status.name == "Break"

    def cc(event_id, status, kind):
        return run_on_commit(api.post, "/api/v1/agent-status/events", {
            "id": event_id, "source": "contact_center", "agent_email": "agent1@example.com", "status": status,
            "kind": kind, "occurred_at": timezone.now().isoformat()}, format="json").json()

    assert cc("call-1", "On call", "system_next")["decision"] == "applied"
    assert ready.work_session_status("agent1@example.com") == s["Busy"]  # our push
    end = cc("call-1-end", "Available", "system_next")
    assert end["agent_status"] == "Break"  # the CRM's choice, not Busy's mapping
    assert ready.work_session_status("agent1@example.com") == s["Away"]  # set back
    run_on_commit(watch, tenant, after_seconds=12)
    agent = api.get("/api/v1/agents/agent1@example.com").json()
    assert (agent["cc_status"], agent["statuses_agree"], agent["disagreement"]) == ("Break", True, "")


def test_r_s13_a_disagreement_that_cannot_be_resolved_is_shown_with_its_reason(tenant, ready, api, run_on_commit,
                                                                            admin_client):
    s = ready.statuses
    api.put("/api/v1/status-mapping", {
        "mapping": {s["Available"]: "Available", s["Away"]: "Break"}, "push": {"Available": s["Available"]},
    }, format="json")
    ready.set_status("agent1@example.com", "Available")
    watch(tenant)
    run_on_commit(api.put, "/api/v1/status-inheritance", {"direction": "TWO_WAY"}, format="json")
    run_on_commit(api.post, "/api/v1/agent-status/events", {
        "id": "cc-lunch", "source": "contact_center", "agent_email": "agent1@example.com", "status": "Lunch",
        "kind": "manual", "occurred_at": timezone.now().isoformat()}, format="json")
    agent = api.get("/api/v1/agents/agent1@example.com").json()
    assert agent["statuses_agree"] is False
    assert agent["disagreement"] == "No Kustomer status is chosen for Lunch, so Kustomer keeps Available."
    page = admin_client.get(reverse("statusmapping:agents")).content.decode()
    assert "No Kustomer status is chosen for Lunch, so Kustomer keeps Available." in page
