"""Tags, shortcuts and a message by its externalId."""
from .helpers import assert_kustomer_error, assert_openapi_response


def test_tags_and_shortcuts_list_the_orgs_records(kapi_demo):
    tags = kapi_demo.get(kapi_demo.url("/tags"), params={"pageSize": 2})
    rest = kapi_demo.get(kapi_demo.url("/tags"), params={"page": 2, "pageSize": 2})
    shortcuts = kapi_demo.get(kapi_demo.url("/shortcuts"))
    greeting = kapi_demo.get(kapi_demo.url("/shortcuts"), params={"name": "gre"})

    assert tags.status_code == 200
    assert [t["type"] for t in tags.json()["data"] + rest.json()["data"]] == ["tag"] * 3
    assert tags.json()["links"]["next"] == "/v1/tags?page=2&pageSize=2"
    assert {"name", "color", "createdAt", "updatedAt"} <= set(tags.json()["data"][0]["attributes"])
    assert [s["attributes"]["name"] for s in shortcuts.json()["data"]] == ["Greeting", "Callback"]
    assert shortcuts.json()["data"][0]["attributes"]["draft"]["text"].startswith("Hi ")
    assert [s["attributes"]["name"] for s in greeting.json()["data"]] == ["Greeting"]


def test_a_new_org_has_no_tags(kapi):
    body = kapi.get(kapi.url("/tags")).json()

    assert body["data"] == [] and body["meta"]["total"] == 0


def test_message_by_external_id(kapi):
    customer_id = kapi.post(kapi.url("/customers"), json={"name": "Ann"}).json()["data"]["id"]
    conversation_id = kapi.post(kapi.url(f"/customers/{customer_id}/conversations"), json={}).json()["data"]["id"]
    message = kapi.post(kapi.url(f"/conversations/{conversation_id}/messages"),
                        json={"channel": "voice", "app": "ccaip", "externalId": "call-1:m1"}).json()["data"]

    found = kapi.get(kapi.url("/messages/externalid=call-1:m1"))
    missing = kapi.get(kapi.url("/messages/externalid=nope"))

    assert assert_openapi_response(found, "GET", "/messages/externalid=:externalId")["data"]["id"] == message["id"]
    assert_kustomer_error(missing, 404, "notfound", "externalId")
