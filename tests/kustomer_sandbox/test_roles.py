"""API keys hold roles; each endpoint takes the roles Kustomer's OpenAPI file lists (403 otherwise)."""
import pytest
import requests

from kustomer_sandbox.roles import required_roles

from .helpers import assert_kustomer_error


def session_for(sandbox_org, roles):
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {sandbox_org.add_api_key(roles)}"
    session.url = lambda path: f"{sandbox_org.base_url}/v1{path}"  # type: ignore[attr-defined]
    return session


def test_role_lists_come_from_the_openapi_file():
    assert set(required_roles("POST", "/customers")) == {"org.permission.customer.create", "org.user.customer.write"}
    assert "org.permission.message.create" in required_roles("POST", "/conversations/abc/messages")
    assert "org.permission.search.create" in required_roles("POST", "/customers/search")
    assert "org.permission.message.read" in required_roles("GET", "/messages/externalid=x")
    assert required_roles("GET", "/users/current") == ()


def test_a_key_without_the_endpoints_role_gets_403(sandbox_org):
    reader = session_for(sandbox_org, ["org.permission.customer.read"])

    denied = reader.post(reader.url("/customers"), json={"name": "Ann"})
    who = reader.get(reader.url("/users/current"))

    error = assert_kustomer_error(denied, 403, "forbidden")
    assert "org.permission.customer.create" in error["detail"]
    assert who.status_code == 200
    assert who.json()["data"]["attributes"]["roles"] == ["org.permission.customer.read"]
    assert sandbox_org.customers() == []


def test_a_permission_role_opens_only_its_endpoint(sandbox_org, kapi):
    writer = session_for(sandbox_org, ["org.permission.customer.create"])

    created = writer.post(writer.url("/customers"), json={"name": "Ann"})
    read_back = writer.get(writer.url(f"/customers/{created.json()['data']['id']}"))

    assert created.status_code == 201
    assert_kustomer_error(read_back, 403, "forbidden")


@pytest.mark.parametrize("roles", [["org.admin"], ["org.user"], ["org.user.customer.write"]])
def test_legacy_roles_still_work(sandbox_org, roles):
    session = session_for(sandbox_org, roles)

    assert session.post(session.url("/customers"), json={"name": "Ann"}).status_code == 201


def test_org_user_does_not_open_admin_only_endpoints(sandbox_org):
    user = session_for(sandbox_org, ["org.user"])

    response = user.put(user.url("/metadata/conversation"), json={"properties": {"queueNameStr": {}}})

    assert_kustomer_error(response, 403, "forbidden")


def test_only_org_admin_may_set_created_at_and_created_by(sandbox_org, kapi):
    customer_id = kapi.post(kapi.url("/customers"), json={"name": "Ann"}).json()["data"]["id"]
    conversation_id = kapi.post(kapi.url(f"/customers/{customer_id}/conversations"), json={}).json()["data"]["id"]
    plain = session_for(sandbox_org, ["org.permission.message.create", "org.permission.note.create"])
    admin = session_for(sandbox_org, ["org.admin"])
    backdated = {"channel": "voice", "app": "ccaip", "createdAt": "2026-01-02T03:04:05.000Z",
                 "sentAt": "2026-01-02T03:04:05.000Z"}

    by_plain = plain.post(plain.url(f"/conversations/{conversation_id}/messages"), json=backdated).json()["data"]
    by_admin = admin.post(admin.url(f"/conversations/{conversation_id}/messages"), json=backdated).json()["data"]
    note = plain.post(plain.url(f"/conversations/{conversation_id}/notes"),
                      json={"body": "n", "createdAt": "2026-01-02T03:04:05.000Z"}).json()["data"]

    # without org.admin the token sets createdAt; sentAt is any writer's to give
    assert by_plain["attributes"]["createdAt"] != "2026-01-02T03:04:05.000Z"
    assert by_plain["attributes"]["sentAt"] == "2026-01-02T03:04:05.000Z"
    assert note["attributes"]["createdAt"] != "2026-01-02T03:04:05.000Z"
    assert by_admin["attributes"]["createdAt"] == "2026-01-02T03:04:05.000Z"


def test_control_endpoint_creates_a_key_with_roles(kustomer_sandbox):
    created = requests.post(f"{kustomer_sandbox.url}/__sandbox/orgs",
                            json={"name": "roles", "roles": ["org.permission.customer.read"]}).json()
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {created['api_key']}"

    assert session.post(f"{kustomer_sandbox.url}/v1/customers", json={"name": "x"}).status_code == 403
    assert session.get(f"{kustomer_sandbox.url}/v1/customers/email=x@y.z").status_code == 404
