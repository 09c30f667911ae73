"""Customers: create, read, merge/replace updates, lookups, uniqueness."""
import pytest

from .helpers import assert_kustomer_error, assert_openapi_response

ANN = {
    "name": "Ann Lee",
    "externalId": "cc-user-1",
    "emails": [{"type": "home", "email": "ann@example.com"}],
    "phones": [{"type": "mobile", "phone": "+14155550123"}],
}


@pytest.fixture
def ann(kapi):
    response = kapi.post(kapi.url("/customers"), json=ANN)
    assert response.status_code == 201, response.text
    return response.json()["data"]


def test_get_customer_by_id(kapi, ann):
    response = kapi.get(kapi.url(f"/customers/{ann['id']}"))

    body = assert_openapi_response(response, "GET", "/customers/{id}")
    assert body["data"]["id"] == ann["id"]
    assert body["data"]["attributes"]["emails"][0]["email"] == "ann@example.com"
    assert body["data"]["attributes"]["phones"][0]["phone"] == "+14155550123"


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/customers/phone=+14155550123", "/customers/phone={phone}"),
        ("/customers/phone=%2B14155550123", "/customers/phone={phone}"),
        ("/customers/email=ann@example.com", "/customers/email={email}"),
        ("/customers/email=ANN@example.com", "/customers/email={email}"),
        ("/customers/externalId=cc-user-1", "/customers/externalId={externalId}"),
    ],
)
def test_lookup_finds_the_customer(kapi, ann, path, template):
    response = kapi.get(kapi.url(path))

    body = assert_openapi_response(response, "GET", template)
    assert body["data"]["id"] == ann["id"]


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/customers/phone=+14155550199", "phone"),
        ("/customers/email=nobody@example.com", "email"),
        ("/customers/externalId=nope", "externalId"),
    ],
)
def test_lookup_of_unknown_value_is_404_naming_the_lookup(kapi, ann, path, parameter):
    assert_kustomer_error(kapi.get(kapi.url(path)), 404, "notfound", parameter)


def test_put_merges_into_the_customer(kapi, ann):
    response = kapi.put(kapi.url(f"/customers/{ann['id']}"), json={"name": "Ann B. Lee"})

    body = assert_openapi_response(response, "PUT", "/customers/{id}")
    attributes = body["data"]["attributes"]
    assert attributes["name"] == "Ann B. Lee"
    assert attributes["emails"][0]["email"] == "ann@example.com"  # kept
    assert attributes["externalId"] == "cc-user-1"  # kept
    assert attributes["rev"] == ann["attributes"]["rev"] + 1


def test_put_with_replace_true_replaces_the_customer(kapi, ann):
    response = kapi.put(kapi.url(f"/customers/{ann['id']}?replace=true"), json={"name": "Only Name"})

    assert response.status_code == 200
    attributes = response.json()["data"]["attributes"]
    assert attributes["name"] == "Only Name"
    assert attributes["emails"] == []
    assert "externalId" not in attributes
    # freed identifiers can be used by another customer now
    assert kapi.post(kapi.url("/customers"), json={"emails": [{"email": "ann@example.com"}]}).status_code == 201


def test_patch_merges_too(kapi, ann):
    response = kapi.patch(kapi.url(f"/customers/{ann['id']}"), json={"phones": [{"type": "work", "phone": "+14155550100"}]})

    body = assert_openapi_response(response, "PATCH", "/customers/{id}")
    assert body["data"]["attributes"]["name"] == "Ann Lee"
    assert [p["phone"] for p in body["data"]["attributes"]["phones"]] == ["+14155550100"]


@pytest.mark.parametrize(
    ("duplicate", "parameter"),
    [
        ({"emails": [{"email": "ANN@example.com"}]}, "emails"),
        ({"phones": [{"phone": "+1 (415) 555-0123"}]}, "phones"),
        ({"externalId": "cc-user-1"}, "externalId"),
    ],
)
def test_second_customer_with_same_identifier_is_rejected_409(kapi, ann, duplicate, parameter):
    response = kapi.post(kapi.url("/customers"), json={"name": "Copy", **duplicate})

    assert_kustomer_error(response, 409, "duplicate", parameter)
    assert kapi.get(kapi.url(f"/customers/externalId=cc-user-1")).json()["data"]["id"] == ann["id"]


def test_update_cannot_take_another_customers_email(kapi, ann):
    bob = kapi.post(kapi.url("/customers"), json={"name": "Bob", "emails": [{"email": "bob@example.com"}]}).json()["data"]

    response = kapi.put(kapi.url(f"/customers/{bob['id']}"), json={"emails": [{"email": "ann@example.com"}]})

    assert_kustomer_error(response, 409, "duplicate", "emails")
    assert kapi.get(kapi.url(f"/customers/{bob['id']}")).json()["data"]["attributes"]["emails"][0]["email"] == "bob@example.com"


def test_updating_a_customer_with_its_own_identifiers_is_fine(kapi, ann):
    response = kapi.put(kapi.url(f"/customers/{ann['id']}"), json={"externalId": "cc-user-1", "emails": ANN["emails"]})

    assert response.status_code == 200


def test_unknown_customer_is_404(kapi):
    assert_kustomer_error(kapi.get(kapi.url("/customers/5f0c8a1b2c3d4e5f6a7b8c9d")), 404, "notfound", "id")
    assert_kustomer_error(kapi.put(kapi.url("/customers/5f0c8a1b2c3d4e5f6a7b8c9d"), json={"name": "x"}), 404, "notfound", "id")
