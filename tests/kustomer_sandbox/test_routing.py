"""Users, teams, routing statuses, work sessions, team routing settings and queues."""
import requests

from .helpers import OBJECT_ID, assert_kustomer_error


def _agent(kapi, email):
    return kapi.get(kapi.url(f"/users?email={email}")).json()["data"][0]


def _statuses(kapi):
    return {s["attributes"]["name"]: s for s in kapi.get(kapi.url("/routing/statuses")).json()["data"]}


def _active_session(kapi, user_id):
    sessions = kapi.get(kapi.url(f"/routing/users/{user_id}/work-sessions")).json()["data"]
    return next((s for s in sessions if s["attributes"]["active"]), None)


def test_users_by_email_and_their_teams(kapi_demo):
    response = kapi_demo.get(kapi_demo.url("/users?email=agent1@example.com"))

    body = response.json()
    assert response.status_code == 200
    assert [u["attributes"]["name"] for u in body["data"]] == ["Agent One"]
    assert body["meta"] == {"page": 1, "pageSize": 100, "total": 1}
    user = body["data"][0]
    assert kapi_demo.get(kapi_demo.url(f"/users/{user['id']}")).json()["data"]["attributes"]["email"] == "agent1@example.com"
    teams = kapi_demo.get(kapi_demo.url(f"/users/{user['id']}/teams")).json()["data"]
    assert [t["attributes"]["name"] for t in teams] == ["Support"]
    assert kapi_demo.get(kapi_demo.url("/users?email=nobody@example.com")).json()["data"] == []


def test_teams_list_and_get(kapi_demo):
    teams = kapi_demo.get(kapi_demo.url("/teams")).json()["data"]

    assert sorted(t["attributes"]["name"] for t in teams) == ["Sales", "Support"]
    one = kapi_demo.get(kapi_demo.url(f"/teams/{teams[0]['id']}")).json()["data"]
    assert one["id"] == teams[0]["id"] and all(OBJECT_ID.match(m) for m in one["attributes"]["members"])
    assert_kustomer_error(kapi_demo.get(kapi_demo.url("/teams/5f0c8a1b2c3d4e5f6a7b8c9d")), 404, "notfound", "id")


def test_routing_statuses_have_status_type_and_system_flag(kapi_demo):
    statuses = _statuses(kapi_demo)

    summary = {name: (s["attributes"]["statusType"], s["attributes"]["system"]) for name, s in statuses.items()}
    assert summary["Available"] == ("available", True)
    assert summary["Busy"] == ("busy", True)
    assert summary["Unavailable"] == ("unavailable", True)
    assert summary["Offline"] == ("offline", True)
    assert summary["Lunch"] == ("unavailable", False)
    assert summary["Break"] == ("unavailable", False)


def test_demo_agents_have_active_routable_work_sessions(kapi_demo, sandbox_demo_org):
    first = kapi_demo.get(kapi_demo.url("/routing/work-sessions?active=true&pageSize=2")).json()
    second = requests.get(sandbox_demo_org.base_url + first["links"]["next"], headers=sandbox_demo_org.headers, timeout=5).json()
    last = requests.get(sandbox_demo_org.base_url + second["links"]["next"], headers=sandbox_demo_org.headers, timeout=5).json()

    sessions = first["data"] + second["data"] + last["data"]
    assert first["meta"]["total"] == 5 and last["links"]["next"] is None
    assert all(s["attributes"]["active"] and s["attributes"]["routable"] for s in sessions)
    assert all(s["attributes"]["statusType"] == "available" for s in sessions)
    assert {"user", "team", "status"} <= set(sessions[0]["relationships"])


def test_put_work_session_status_by_id_updates_type_and_routable(kapi_demo):
    agent = _agent(kapi_demo, "agent2@example.com")
    session = _active_session(kapi_demo, agent["id"])
    lunch = _statuses(kapi_demo)["Lunch"]

    response = kapi_demo.put(kapi_demo.url(f"/routing/work-sessions/{session['id']}"), json={"status": lunch["id"]})

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["relationships"]["status"]["data"]["id"] == lunch["id"]
    assert data["attributes"]["statusType"] == "unavailable"
    assert data["attributes"]["routable"] is False
    assert _active_session(kapi_demo, agent["id"])["relationships"]["status"]["data"]["id"] == lunch["id"]


def test_put_work_session_accepts_the_status_as_a_relationship(kapi_demo):
    agent = _agent(kapi_demo, "agent3@example.com")
    session = _active_session(kapi_demo, agent["id"])
    busy = _statuses(kapi_demo)["Busy"]

    response = kapi_demo.put(
        kapi_demo.url(f"/routing/work-sessions/{session['id']}"),
        json={"relationships": {"status": {"data": {"type": "routing_status", "id": busy["id"]}}}},
    )

    assert response.status_code == 200
    assert response.json()["data"]["attributes"]["statusType"] == "busy"


def test_put_work_session_rejects_unknown_or_missing_status(kapi_demo):
    session = _active_session(kapi_demo, _agent(kapi_demo, "agent1@example.com")["id"])
    url = kapi_demo.url(f"/routing/work-sessions/{session['id']}")

    assert_kustomer_error(kapi_demo.put(url, json={"status": "5f0c8a1b2c3d4e5f6a7b8c9d"}), 400, "badparam", "status")
    assert_kustomer_error(kapi_demo.put(url, json={}), 400, "badparam", "status")


def test_offline_ends_the_session_and_the_next_status_starts_a_new_one(kapi_demo, sandbox_demo_org):
    agent = _agent(kapi_demo, "agent4@example.com")
    session = _active_session(kapi_demo, agent["id"])
    offline = _statuses(kapi_demo)["Offline"]
    url = kapi_demo.url(f"/routing/work-sessions/{session['id']}")

    ended = kapi_demo.put(url, json={"status": offline["id"]}).json()["data"]["attributes"]

    assert ended["active"] is False and ended["signedOutAt"] and ended["statusType"] == "offline"
    assert _active_session(kapi_demo, agent["id"]) is None
    assert_kustomer_error(kapi_demo.put(url, json={"status": _statuses(kapi_demo)["Available"]["id"]}), 409, "conflict")
    sandbox_demo_org.set_agent_status("agent4@example.com", "Available")
    sessions = kapi_demo.get(kapi_demo.url(f"/routing/users/{agent['id']}/work-sessions")).json()["data"]
    assert [s["attributes"]["active"] for s in sessions] == [True, False]  # newest first


def test_control_endpoint_sets_an_agents_status_by_email_and_name(kapi_demo, sandbox_demo_org):
    agent = _agent(kapi_demo, "agent1@example.com")
    before = _active_session(kapi_demo, agent["id"])

    response = requests.post(
        f"{sandbox_demo_org.base_url}/__sandbox/orgs/{sandbox_demo_org.org_id}/agents/status",
        json={"email": "agent1@example.com", "status": "Break"}, timeout=5,
    )

    assert response.status_code == 200
    after = _active_session(kapi_demo, agent["id"])
    assert after["id"] == before["id"]  # same shift, new status
    assert after["relationships"]["status"]["data"]["id"] == _statuses(kapi_demo)["Break"]["id"]
    assert after["attributes"]["statusType"] == "unavailable" and after["attributes"]["routable"] is False
    unknown = requests.post(
        f"{sandbox_demo_org.base_url}/__sandbox/orgs/{sandbox_demo_org.org_id}/agents/status",
        json={"email": "agent1@example.com", "status": "Napping"}, timeout=5,
    )
    assert unknown.status_code == 404


def test_team_routing_settings_and_external_queue(kapi_demo):
    support = next(t for t in kapi_demo.get(kapi_demo.url("/teams")).json()["data"] if t["attributes"]["name"] == "Support")
    queues = kapi_demo.get(kapi_demo.url("/routing/queues")).json()["data"]

    settings = kapi_demo.get(kapi_demo.url(f"/routing/settings/{support['id']}")).json()["data"]

    external = [q for q in queues if q["attributes"]["external"]]
    assert [q["attributes"]["name"] for q in external] == ["Contact Center"]
    assert settings["id"] == support["id"]
    assert settings["attributes"]["enabled"] is True
    assert settings["attributes"]["externalQueues"] == [external[0]["attributes"]["external"]]
    assert all(q in {x["id"] for x in queues} for q in settings["attributes"]["queues"])
    assert_kustomer_error(kapi_demo.get(kapi_demo.url("/routing/settings/5f0c8a1b2c3d4e5f6a7b8c9d")), 404, "notfound", "id")
