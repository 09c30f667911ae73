"""Control endpoints that change the whole sandbox, on a server of their own."""
import pytest
import requests

from kustomer_sandbox import SandboxServer


@pytest.fixture
def own_sandbox():
    with SandboxServer(port=0, webhook_retry_delays=[0.05]) as server:
        yield server


def test_reset_forgets_orgs_faults_and_the_request_log(own_sandbox):
    base = own_sandbox.url
    org = requests.post(f"{base}/__sandbox/orgs", json={"name": "a", "api_key": "key-a"}, timeout=5).json()
    requests.post(f"{base}/__sandbox/faults", json={"latency_ms": 5}, timeout=5)
    requests.get(f"{base}/v1/users/current", headers={"Authorization": "Bearer key-a"}, timeout=5)

    response = requests.post(f"{base}/__sandbox/reset", timeout=5)

    assert response.status_code == 204
    assert requests.get(f"{base}/__sandbox/orgs", timeout=5).json() == {"data": []}
    assert requests.get(f"{base}/__sandbox/faults", timeout=5).json()["latency_ms"] == 0
    assert requests.get(f"{base}/__sandbox/requests", timeout=5).json()["total"] == 0
    assert requests.get(f"{base}/v1/users/current", headers={"Authorization": "Bearer key-a"}, timeout=5).status_code == 401
    assert requests.get(f"{base}/__sandbox/orgs/{org['id']}", timeout=5).status_code == 404


def test_org_limits_can_be_changed(own_sandbox):
    base = own_sandbox.url
    org = requests.post(f"{base}/__sandbox/orgs", json={"name": "a", "api_key": "key-b"}, timeout=5).json()

    patched = requests.patch(f"{base}/__sandbox/orgs/{org['id']}", json={"rate_limit_per_minute": 300}, timeout=5)
    answer = requests.get(f"{base}/v1/users/current", headers={"Authorization": "Bearer key-b"}, timeout=5)

    assert patched.json()["rate_limit_per_minute"] == 300
    assert answer.headers["x-ratelimit-limit"] == "300"


def test_api_key_can_belong_to_one_org_only(own_sandbox):
    base = own_sandbox.url
    requests.post(f"{base}/__sandbox/orgs", json={"name": "a", "api_key": "shared"}, timeout=5)

    second = requests.post(f"{base}/__sandbox/orgs", json={"name": "b", "api_key": "shared"}, timeout=5)

    assert second.status_code == 400


def test_unknown_control_endpoint_is_404_json(own_sandbox):
    response = requests.get(f"{own_sandbox.url}/__sandbox/nothing", timeout=5)

    assert response.status_code == 404 and "error" in response.json()
