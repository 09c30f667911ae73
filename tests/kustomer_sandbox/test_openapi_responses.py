"""Every sandbox answer to a valid request fits the OpenAPI file's response schema."""
import json

import pytest

from kustomer_sandbox.validation import openapi_document, response_schema_errors

from .helpers import JSON_PATCH, assert_openapi_response

# Every operation of the file the sandbox serves: (method, file path).
SERVED = {
    ("POST", "/customers"), ("GET", "/customers/{id}"), ("PUT", "/customers/{id}"), ("PATCH", "/customers/{id}"),
    ("GET", "/customers/phone={phone}"), ("GET", "/customers/email={email}"), ("GET", "/customers/externalId={externalId}"),
    ("POST", "/customers/{id}/conversations"), ("GET", "/customers/{id}/conversations"),
    ("GET", "/conversations/{id}"), ("PUT", "/conversations/{id}"), ("PATCH", "/conversations/{id}"),
    ("GET", "/conversations/externalId={externalId}"),
    ("POST", "/conversations/{id}/messages"), ("GET", "/conversations/{id}/messages"), ("GET", "/messages/{id}"),
    ("PUT", "/messages/{id}"), ("PATCH", "/messages/{id}"),
    ("POST", "/conversations/{id}/notes"), ("GET", "/conversations/{id}/notes"),
    ("POST", "/attachments"), ("GET", "/attachments/{id}"),
    ("GET", "/metadata/{resource}"), ("PUT", "/metadata/{resource}"),
}


def test_every_served_operation_exists_in_the_openapi_file():
    paths = openapi_document()["paths"]

    assert {(m, p) for m, p in SERVED if m.lower() in paths.get(p, {})} == SERVED


def test_full_sync_flow_answers_match_the_file(kapi):
    """One realistic pass through every served operation, each answer checked."""
    checked = set()

    def check(response, method, template):
        checked.add((method, template))
        return assert_openapi_response(response, method, template)

    check(kapi.put(kapi.url("/metadata/conversation"), json={"properties": {"queueNameStr": {"displayName": "Queue"}}}),
          "PUT", "/metadata/{resource}")
    check(kapi.get(kapi.url("/metadata/conversation")), "GET", "/metadata/{resource}")
    customer = check(kapi.post(kapi.url("/customers"), json={
        "name": "Ann", "externalId": "u-1", "emails": [{"email": "ann@example.com"}], "phones": [{"phone": "+14155550123"}],
    }), "POST", "/customers")["data"]
    cid = customer["id"]
    check(kapi.get(kapi.url(f"/customers/{cid}")), "GET", "/customers/{id}")
    check(kapi.put(kapi.url(f"/customers/{cid}"), json={"name": "Ann Lee"}), "PUT", "/customers/{id}")
    check(kapi.patch(kapi.url(f"/customers/{cid}"), json={"company": "Acme"}), "PATCH", "/customers/{id}")
    check(kapi.get(kapi.url("/customers/phone=+14155550123")), "GET", "/customers/phone={phone}")
    check(kapi.get(kapi.url("/customers/email=ann@example.com")), "GET", "/customers/email={email}")
    check(kapi.get(kapi.url("/customers/externalId=u-1")), "GET", "/customers/externalId={externalId}")
    conversation = check(kapi.post(kapi.url(f"/customers/{cid}/conversations"), json={
        "name": "Call", "externalId": "s-1", "custom": {"queueNameStr": "Billing"}, "queue": {"external": "amazon-connect"},
    }), "POST", "/customers/{id}/conversations")["data"]
    vid = conversation["id"]
    check(kapi.get(kapi.url(f"/customers/{cid}/conversations")), "GET", "/customers/{id}/conversations")
    check(kapi.get(kapi.url(f"/conversations/{vid}")), "GET", "/conversations/{id}")
    check(kapi.put(kapi.url(f"/conversations/{vid}"), json={"status": "snoozed"}), "PUT", "/conversations/{id}")
    check(kapi.patch(kapi.url(f"/conversations/{vid}"), data=json.dumps({"status": "done"}), headers=JSON_PATCH),
          "PATCH", "/conversations/{id}")
    check(kapi.get(kapi.url("/conversations/externalId=s-1")), "GET", "/conversations/externalId={externalId}")
    attachment = check(kapi.post(kapi.url("/attachments"), json={"name": "r.wav", "contentType": "audio/wav", "contentLength": 3}),
                       "POST", "/attachments")["data"]
    check(kapi.get(kapi.url(f"/attachments/{attachment['id']}")), "GET", "/attachments/{id}")
    message = check(kapi.post(kapi.url(f"/conversations/{vid}/messages"), json={
        "channel": "voice", "app": "ccaip", "direction": "out", "preview": "Outbound call", "externalId": "m-1",
        "attachments": [attachment["id"]],
    }), "POST", "/conversations/{id}/messages")["data"]
    check(kapi.get(kapi.url(f"/conversations/{vid}/messages")), "GET", "/conversations/{id}/messages")
    check(kapi.get(kapi.url(f"/messages/{message['id']}")), "GET", "/messages/{id}")
    check(kapi.put(kapi.url(f"/messages/{message['id']}"), json={"preview": "Outbound call, 42 s"}), "PUT", "/messages/{id}")
    check(kapi.patch(kapi.url(f"/messages/{message['id']}"), json={"status": "sent"}), "PATCH", "/messages/{id}")
    check(kapi.post(kapi.url(f"/conversations/{vid}/notes"), json={"body": "Phone +14155550123"}), "POST", "/conversations/{id}/notes")
    check(kapi.get(kapi.url(f"/conversations/{vid}/notes")), "GET", "/conversations/{id}/notes")

    assert checked == SERVED


def test_the_response_check_catches_a_wrong_shape():
    """Guard against a check that passes everything."""
    wrong = {"data": {"type": "customer", "id": "x", "attributes": {"emails": "not-a-list"}}}

    errors = response_schema_errors("GET", "/customers/{id}", 200, wrong)

    assert any("relationships" in e for e in errors)
    assert any("emails" in e for e in errors)


def test_the_response_check_refuses_operations_without_a_schema():
    with pytest.raises(LookupError):
        response_schema_errors("GET", "/routing/statuses", 200, {})
