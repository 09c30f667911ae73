"""Conversations, messages and notes: create, read, update, externalIds, paging."""
import json

import pytest

from .helpers import JSON_PATCH, assert_kustomer_error, assert_openapi_response


@pytest.fixture
def customer_id(kapi):
    return kapi.post(kapi.url("/customers"), json={"name": "Ann"}).json()["data"]["id"]


@pytest.fixture
def conversation(kapi, customer_id):
    response = kapi.post(
        kapi.url(f"/customers/{customer_id}/conversations"),
        json={"name": "Inbound call", "externalId": "cc-session-1", "direction": "in", "priority": 2},
    )
    assert response.status_code == 201, response.text
    return response.json()["data"]


def test_create_conversation_for_a_customer(kapi, customer_id):
    response = kapi.post(kapi.url(f"/customers/{customer_id}/conversations"), json={"name": "Chat", "status": "open"})

    body = assert_openapi_response(response, "POST", "/customers/{id}/conversations")
    data = body["data"]
    assert data["type"] == "conversation"
    assert data["attributes"]["status"] == "open"
    assert data["relationships"]["customer"]["data"] == {"type": "customer", "id": customer_id}


def test_conversation_for_unknown_customer_is_404(kapi):
    response = kapi.post(kapi.url("/customers/5f0c8a1b2c3d4e5f6a7b8c9d/conversations"), json={"name": "x"})

    assert_kustomer_error(response, 404, "notfound", "id")


def test_get_conversation_and_find_it_by_external_id(kapi, conversation):
    by_id = kapi.get(kapi.url(f"/conversations/{conversation['id']}"))
    by_external_id = kapi.get(kapi.url("/conversations/externalId=cc-session-1"))

    assert assert_openapi_response(by_id, "GET", "/conversations/{id}")["data"]["id"] == conversation["id"]
    body = assert_openapi_response(by_external_id, "GET", "/conversations/externalId={externalId}")
    assert body["data"]["id"] == conversation["id"]
    assert_kustomer_error(kapi.get(kapi.url("/conversations/externalId=missing")), 404, "notfound", "externalId")


def test_conversation_external_id_is_unique_per_org(kapi, customer_id, conversation):
    response = kapi.post(kapi.url(f"/customers/{customer_id}/conversations"), json={"externalId": "cc-session-1"})

    assert_kustomer_error(response, 409, "duplicate", "externalId")


def test_put_and_patch_update_a_conversation(kapi, conversation):
    put = kapi.put(kapi.url(f"/conversations/{conversation['id']}"), json={"status": "snoozed", "tags": ["voice"]})
    patch = kapi.patch(kapi.url(f"/conversations/{conversation['id']}"), data=json.dumps({"status": "done"}),
                       headers=JSON_PATCH)

    assert assert_openapi_response(put, "PUT", "/conversations/{id}")["data"]["attributes"]["status"] == "snoozed"
    attributes = assert_openapi_response(patch, "PATCH", "/conversations/{id}")["data"]["attributes"]
    assert attributes["status"] == "done"
    assert attributes["tags"] == ["voice"]
    assert attributes["rev"] == conversation["attributes"]["rev"] + 2


def test_conversation_status_must_be_open_snoozed_or_done(kapi, conversation):
    response = kapi.put(kapi.url(f"/conversations/{conversation['id']}"), json={"status": "closed"})

    assert_kustomer_error(response, 400, "badparam", "status")


def test_customer_conversation_counts_follow_status(kapi, customer_id, conversation):
    kapi.put(kapi.url(f"/conversations/{conversation['id']}"), json={"status": "done"})

    counts = kapi.get(kapi.url(f"/customers/{customer_id}")).json()["data"]["attributes"]["conversationCounts"]

    assert counts == {"all": 1, "open": 0, "snoozed": 0, "done": 1}


def test_assigned_users_must_exist(sandbox_demo_org, kapi_demo):
    customer_id = kapi_demo.post(kapi_demo.url("/customers"), json={"name": "Ann"}).json()["data"]["id"]
    agent_id = kapi_demo.get(kapi_demo.url("/users?email=agent2@example.com")).json()["data"][0]["id"]

    ok = kapi_demo.post(kapi_demo.url(f"/customers/{customer_id}/conversations"), json={"assignedUsers": [agent_id]})
    missing = kapi_demo.post(
        kapi_demo.url(f"/customers/{customer_id}/conversations"), json={"assignedUsers": ["5f0c8a1b2c3d4e5f6a7b8c9d"]},
    )

    assert ok.status_code == 201
    assert ok.json()["data"]["attributes"]["assignedUsers"] == [agent_id]
    assert_kustomer_error(missing, 400, "badparam", "assignedUsers")


def test_customer_conversations_are_paged_with_links_next(kapi, sandbox_org, customer_id):
    created = {
        kapi.post(kapi.url(f"/customers/{customer_id}/conversations"), json={"name": f"c{i}"}).json()["data"]["id"]
        for i in range(5)
    }

    seen, pages = [], []
    path = f"/v1/customers/{customer_id}/conversations?pageSize=2"
    while path:
        response = kapi.get(sandbox_org.base_url + path)  # links are relative paths
        body = assert_openapi_response(response, "GET", "/customers/{id}/conversations")
        pages.append(body)
        seen += [item["id"] for item in body["data"]]
        path = body["links"]["next"]

    assert set(seen) == created and len(seen) == 5
    assert [p["meta"] for p in pages] == [
        {"page": 1, "pageSize": 2, "total": 5}, {"page": 2, "pageSize": 2, "total": 5}, {"page": 3, "pageSize": 2, "total": 5},
    ]
    assert pages[0]["links"]["prev"] is None
    assert pages[1]["links"]["prev"].startswith(f"/v1/customers/{customer_id}/conversations?")
    assert pages[0]["links"]["first"] == pages[2]["links"]["first"]
    assert pages[2]["links"]["next"] is None


def test_page_size_must_be_a_positive_integer(kapi, customer_id):
    response = kapi.get(kapi.url(f"/customers/{customer_id}/conversations?pageSize=0"))

    assert_kustomer_error(response, 400, "badparam", "pageSize")


def test_message_is_recorded_on_the_conversation(kapi, conversation):
    response = kapi.post(
        kapi.url(f"/conversations/{conversation['id']}/messages"),
        json={"channel": "voice", "app": "ccaip", "direction": "in", "preview": "Inbound call, 42 s", "externalId": "m-1",
              "meta": {"callId": "s-1001"}},
    )

    body = assert_openapi_response(response, "POST", "/conversations/{id}/messages")
    message = body["data"]
    assert message["attributes"]["channel"] == "voice"
    assert message["attributes"]["meta"] == {"callId": "s-1001"}
    assert message["relationships"]["conversation"]["data"]["id"] == conversation["id"]
    fetched = kapi.get(kapi.url(f"/messages/{message['id']}"))
    assert assert_openapi_response(fetched, "GET", "/messages/{id}")["data"]["attributes"]["preview"] == "Inbound call, 42 s"
    listed = kapi.get(kapi.url(f"/conversations/{conversation['id']}/messages"))
    assert [m["id"] for m in assert_openapi_response(listed, "GET", "/conversations/{id}/messages")["data"]] == [message["id"]]
    conv = kapi.get(kapi.url(f"/conversations/{conversation['id']}")).json()["data"]["attributes"]
    assert conv["messageCount"] == 1 and conv["channels"] == ["voice"]


def test_message_requires_channel_and_app(kapi, conversation):
    response = kapi.post(kapi.url(f"/conversations/{conversation['id']}/messages"), json={"app": "ccaip", "preview": "x"})

    error = assert_kustomer_error(response, 400, "badparam", "channel")
    assert error["title"] == "Missing required property: channel"


def test_message_and_note_external_ids_are_unique(kapi, conversation):
    url = kapi.url(f"/conversations/{conversation['id']}")
    assert kapi.post(f"{url}/messages", json={"channel": "voice", "app": "ccaip", "externalId": "m-1"}).status_code == 201
    assert kapi.post(f"{url}/notes", json={"body": "first", "externalId": "n-1"}).status_code == 201

    assert_kustomer_error(kapi.post(f"{url}/messages", json={"channel": "voice", "app": "ccaip", "externalId": "m-1"}), 409, "duplicate", "externalId")
    assert_kustomer_error(kapi.post(f"{url}/notes", json={"body": "again", "externalId": "n-1"}), 409, "duplicate", "externalId")


def test_note_is_recorded_on_the_conversation(kapi, conversation):
    response = kapi.post(kapi.url(f"/conversations/{conversation['id']}/notes"), json={"body": "Caller: +14155550123"})

    note = assert_openapi_response(response, "POST", "/conversations/{id}/notes")["data"]
    assert note["type"] == "note"
    assert note["attributes"]["body"] == "Caller: +14155550123"
    listed = kapi.get(kapi.url(f"/conversations/{conversation['id']}/notes"))
    assert [n["id"] for n in assert_openapi_response(listed, "GET", "/conversations/{id}/notes")["data"]] == [note["id"]]


def test_note_body_is_required(kapi, conversation):
    response = kapi.post(kapi.url(f"/conversations/{conversation['id']}/notes"), json={"externalId": "n-2"})

    assert_kustomer_error(response, 400, "badparam", "body")
