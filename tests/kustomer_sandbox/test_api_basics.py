"""Transport facts every Kustomer client relies on: auth, envelopes, ids, 201, errors."""
import requests

from .helpers import OBJECT_ID, assert_kustomer_error, assert_openapi_response


def test_missing_or_wrong_bearer_token_is_401_with_kustomer_error_body(sandbox_org):
    url = f"{sandbox_org.base_url}/v1/users/current"

    missing = requests.get(url, timeout=5)
    wrong = requests.get(url, headers={"Authorization": "Bearer not-a-key"}, timeout=5)
    basic = requests.get(url, headers={"Authorization": f"Basic {sandbox_org.api_key}"}, timeout=5)

    for response in (missing, wrong, basic):
        assert_kustomer_error(response, 401, "unauthorized")


def test_api_key_of_one_org_cannot_read_another_orgs_records(kustomer_sandbox, sandbox_org, kapi):
    customer_id = kapi.post(kapi.url("/customers"), json={"name": "Ann"}).json()["data"]["id"]
    other = kustomer_sandbox.create_org("other", "other-org-key")

    response = requests.get(
        f"{sandbox_org.base_url}/v1/customers/{customer_id}", headers={"Authorization": "Bearer other-org-key"}, timeout=5,
    )

    assert_kustomer_error(response, 404, "notfound", "id")
    assert other.customers == {}


def test_current_user_is_the_machine_user_of_the_api_key(kapi, sandbox_org):
    response = kapi.get(kapi.url("/users/current"))

    assert response.status_code == 200
    data = response.json()["data"]
    assert data["type"] == "user"
    assert OBJECT_ID.match(data["id"])
    assert data["attributes"]["userType"] == "machine"
    assert data["relationships"]["org"]["data"] == {"type": "org", "id": sandbox_org.org_id}


def test_create_answers_201_with_a_json_api_resource_and_objectid(kapi):
    response = kapi.post(kapi.url("/customers"), json={"name": "Ann Lee"})

    assert response.status_code == 201
    assert response.headers["Content-Type"].startswith("application/json")
    body = assert_openapi_response(response, "POST", "/customers")
    data = body["data"]
    assert set(data) == {"type", "id", "attributes", "relationships", "links"}
    assert data["type"] == "customer"
    assert OBJECT_ID.match(data["id"])
    assert data["links"]["self"] == f"/v1/customers/{data['id']}"
    assert data["attributes"]["name"] == "Ann Lee"


def test_request_body_is_flat_json_not_wrapped_in_data(kapi):
    """Kustomer takes flat bodies; a JSON:API-wrapped one is an unknown property."""
    response = kapi.post(kapi.url("/customers"), json={"data": {"attributes": {"name": "Ann"}}})

    assert_kustomer_error(response, 400, "badparam", "data")


def test_unknown_path_is_404_notfound(kapi):
    assert_kustomer_error(kapi.get(kapi.url("/no-such-thing")), 404, "notfound")


def test_unknown_record_is_404_notfound_naming_the_parameter(kapi):
    response = kapi.get(kapi.url("/conversations/5f0c8a1b2c3d4e5f6a7b8c9d"))

    assert_kustomer_error(response, 404, "notfound", "id")


def test_invalid_json_body_is_400(kapi):
    response = kapi.post(kapi.url("/customers"), data=b"{not json", headers={"Content-Type": "application/json"})

    assert_kustomer_error(response, 400, "badrequest")
