"""Fault injection and the request log, through the control endpoints."""
import time

import pytest
import requests

from .helpers import assert_kustomer_error


def _control(sandbox_org, path):
    return f"{sandbox_org.base_url}/__sandbox{path}"


def _org_faults(sandbox_org, **settings):
    response = requests.post(_control(sandbox_org, f"/orgs/{sandbox_org.org_id}/faults"), json=settings, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def test_added_latency(kapi, sandbox_org):
    _org_faults(sandbox_org, latency_ms=300)

    started = time.monotonic()
    response = kapi.get(kapi.url("/users/current"))

    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3


def test_added_latency_holds_only_the_request_it_delays(kapi, sandbox_org):
    """The benchmark's 150 ms Kustomer (bench/concurrency.py): eight requests at once
    each wait 300 ms in their own thread, so all answer in about 300 ms, not 2.4 s."""
    from concurrent.futures import ThreadPoolExecutor

    _org_faults(sandbox_org, latency_ms=300)

    def one(_):
        with requests.Session() as session:
            session.headers.update(sandbox_org.headers)
            return session.get(kapi.url("/users/current"), timeout=10).status_code

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(one, range(8)))
    took = time.monotonic() - started

    assert codes == [200] * 8
    assert 0.3 <= took < 1.2


def test_error_next_answers_5xx_without_writing(kapi, sandbox_org):
    _org_faults(sandbox_org, error_next=2, error_status=502)

    failed = [kapi.post(kapi.url("/customers"), json={"name": "Ann"}) for _ in range(2)]
    succeeded = kapi.post(kapi.url("/customers"), json={"name": "Ann"})

    assert [f.status_code for f in failed] == [502, 502]
    assert failed[0].json()["errors"][0]["status"] == 502
    assert succeeded.status_code == 201
    assert len(sandbox_org.customers()) == 1


def test_error_rate_one_fails_every_matching_request_only(kapi, sandbox_org):
    _org_faults(sandbox_org, error_rate=1.0, methods=["POST"], path_contains="/customers")

    assert kapi.post(kapi.url("/customers"), json={"name": "Ann"}).status_code == 503
    assert kapi.get(kapi.url("/users/current")).status_code == 200


def test_rate_limit_storm_answers_429_for_n_seconds(kapi, sandbox_org):
    _org_faults(sandbox_org, rate_limit_storm_seconds=0.5)

    during = kapi.get(kapi.url("/users/current"))
    time.sleep(0.6)
    after = kapi.get(kapi.url("/users/current"))

    assert_kustomer_error(during, 429, "ratelimited")
    assert during.headers["x-ratelimit-remaining"] == "0"
    assert during.headers["Retry-After"] == during.headers["x-ratelimit-reset"] == "1"
    assert after.status_code == 200


def test_timeout_sleeps_past_the_client_then_writes_anyway(kapi, sandbox_org):
    _org_faults(sandbox_org, timeout_next=1, timeout_seconds=1.0)

    with pytest.raises(requests.exceptions.ReadTimeout):
        kapi.post(kapi.url("/customers"), json={"name": "Ann", "externalId": "cc-1"}, timeout=0.3)

    # the request finishes server-side: the externalId finds it
    found = sandbox_org.wait_for(lambda: kapi.get(kapi.url("/customers/externalId=cc-1")).status_code == 200, timeout=3)
    assert found


def test_commit_then_drop_writes_and_closes_without_answer(kapi, sandbox_org):
    _org_faults(sandbox_org, drop_after_commit_next=1)

    with pytest.raises(requests.exceptions.ConnectionError):
        kapi.post(kapi.url("/customers"), json={"name": "Ann", "externalId": "cc-2"})

    assert [c["attributes"]["externalId"] for c in sandbox_org.customers()] == ["cc-2"]
    again = kapi.post(kapi.url("/customers"), json={"name": "Ann", "externalId": "cc-2"})
    assert_kustomer_error(again, 409, "duplicate", "externalId")  # the retry is told it exists
    assert kapi.get(kapi.url("/customers/externalId=cc-2")).status_code == 200


def test_commit_then_drop_leaves_reads_alone(kapi, sandbox_org):
    _org_faults(sandbox_org, drop_after_commit_next=1)

    assert kapi.get(kapi.url("/users/current")).status_code == 200
    with pytest.raises(requests.exceptions.ConnectionError):
        kapi.post(kapi.url("/customers"), json={"name": "Ann"})


def test_global_faults_apply_to_every_org_and_reset(kapi, sandbox_org):
    response = requests.post(_control(sandbox_org, "/faults"), json={"error_rate": 1.0}, timeout=5)
    assert response.json()["error_rate"] == 1.0

    assert kapi.get(kapi.url("/users/current")).status_code == 503
    reset = requests.delete(_control(sandbox_org, "/faults"), timeout=5)
    assert reset.json()["error_rate"] == 0.0
    assert kapi.get(kapi.url("/users/current")).status_code == 200


def test_org_faults_reset(kapi, sandbox_org):
    _org_faults(sandbox_org, error_rate=1.0)
    requests.delete(_control(sandbox_org, f"/orgs/{sandbox_org.org_id}/faults"), timeout=5)

    assert kapi.get(kapi.url("/users/current")).status_code == 200


def test_bad_fault_settings_are_refused(sandbox_org):
    unknown = requests.post(_control(sandbox_org, f"/orgs/{sandbox_org.org_id}/faults"), json={"explode": True}, timeout=5)
    out_of_range = requests.post(_control(sandbox_org, f"/orgs/{sandbox_org.org_id}/faults"), json={"error_rate": 2}, timeout=5)

    assert unknown.status_code == 400 and "explode" in unknown.json()["error"]
    assert out_of_range.status_code == 400


def test_request_log_counts_kustomer_requests(kapi, sandbox_org):
    kapi.post(kapi.url("/customers"), json={"name": "Ann"})
    kapi.get(kapi.url("/customers/email=none@example.com"))

    response = requests.get(_control(sandbox_org, f"/requests?org_id={sandbox_org.org_id}"), timeout=5)

    entries = response.json()["data"]
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("POST", "/v1/customers", 201), ("GET", "/v1/customers/email=none@example.com", 404),
    ]
    assert all(e["at"] and e["duration_ms"] >= 0 for e in entries)
    posts = requests.get(_control(sandbox_org, f"/requests?org_id={sandbox_org.org_id}&method=POST"), timeout=5).json()
    assert posts["total"] == 1


def test_control_orgs_create_list_and_dump(sandbox_org):
    created = requests.post(_control(sandbox_org, "/orgs"), json={"name": "Ops demo", "demo": True}, timeout=5)

    assert created.status_code == 201
    org = created.json()
    assert org["api_key"] and org["counts"]["users"] == 6  # 5 agents + the API key's machine user
    listed = requests.get(_control(sandbox_org, "/orgs"), timeout=5).json()["data"]
    assert org["id"] in {o["id"] for o in listed}
    dump = requests.get(_control(sandbox_org, f"/orgs/{org['id']}/dump"), timeout=5).json()
    assert {u["attributes"]["email"] for u in dump["users"]} >= {"agent1@example.com", "agent5@example.com"}
    assert len(dump["work_sessions"]) == 5
    me = requests.get(f"{sandbox_org.base_url}/v1/users/current", headers={"Authorization": f"Bearer {org['api_key']}"}, timeout=5)
    assert me.status_code == 200
