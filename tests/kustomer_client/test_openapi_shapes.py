"""Request bodies the client sends validate against Kustomer's own OpenAPI file (SPEC §5)."""
from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path

import openapi_schema_validator
import pytest

from .conftest import API, doc, oid, resource  # noqa: E402

from kustomer_sandbox.validation import openapi_path  # noqa: E402

# Kustomer's own file, as the sandbox ships it (a missing file is a failure, not a skip).
SPEC_PATH = openapi_path()


@lru_cache(maxsize=1)
def spec() -> dict:
    return json.loads(SPEC_PATH.read_text())


def _resolve(node, root, seen=()):
    if isinstance(node, dict):
        if "$ref" in node:
            ref = node["$ref"]
            if ref in seen:
                return {}
            target = root
            for part in ref.lstrip("#/").split("/"):
                target = target[part]
            return _resolve(target, root, seen + (ref,))
        return {k: _resolve(v, root, seen) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, root, seen) for v in node]
    return node


def request_schema(path: str, method: str, *, custom_keys: tuple[str, ...] = ()) -> dict:
    root = spec()
    body = _resolve(root["paths"][path][method]["requestBody"], root)
    schema = copy.deepcopy(body["content"]["application/json"]["schema"])
    # the real API builds `custom` per org from its metadata: allow the keys the test defines
    if custom_keys and "custom" in schema.get("properties", {}):
        schema["properties"]["custom"] = {"type": "object", "properties": {k: {} for k in custom_keys},
                                          "additionalProperties": False}
    return schema


def validate(body: dict, path: str, method: str, **kwargs) -> None:
    schema = request_schema(path, method, **kwargs)
    openapi_schema_validator.validate(body, schema, cls=openapi_schema_validator.OAS30Validator)


def sent(rsps, index=-1) -> dict:
    return json.loads(rsps.calls[index].request.body)


def test_validator_can_fail():
    with pytest.raises(Exception):
        validate({"name": "x", "contentType": "y"}, "/attachments", "post")  # no contentLength


def test_customer_bodies(client, rsps):
    cid = oid(1)
    rsps.post(f"{API}/customers", status=201, json=doc(resource("customer", cid)))
    rsps.put(f"{API}/customers/{cid}", json=doc(resource("customer", cid)))
    client.create_customer(name="Ann", external_id="cc_acme_customer_x", emails=["ann@example.com"],
                           phones=["+14155550100"], custom={"userIdStr": "u1"})
    validate(sent(rsps, 0), "/customers", "post", custom_keys=("userIdStr",))
    client.update_customer(customer_id=cid, name="Ann B", custom={"userIdStr": "u2"}, phones=["+14155550101"])
    validate(sent(rsps, 1), "/customers/{id}", "put", custom_keys=("userIdStr",))


def test_conversation_bodies(client, rsps):
    cid, vid = oid(2), oid(3)
    rsps.post(f"{API}/customers/{cid}/conversations", status=201, json=doc(resource("conversation", vid)))
    rsps.put(f"{API}/conversations/{vid}", json=doc(resource("conversation", vid)))
    client.create_conversation(customer_id=cid, name="Call", status="open", direction="in",
                               external_id="cc_acme_conversation_y", assigned_users=[oid(9)],
                               assigned_teams=[oid(10)], priority=2, tags=[oid(11)],
                               custom={"callIdStr": "c"}, queue={"external": "amazon-connect"})
    validate(sent(rsps, 0), "/customers/{id}/conversations", "post", custom_keys=("callIdStr",))
    client.update_conversation(conversation_id=vid, status="done", assigned_users=[oid(12)])
    validate(sent(rsps, 1), "/conversations/{id}", "put")


def test_message_and_note_bodies(client, rsps):
    from integrations.kustomer.types import AttachmentUpload

    vid = oid(4)
    up = AttachmentUpload(id=oid(5), name="t.txt", content_type="text/plain", content_length=5,
                          upload_url="https://s3.example/", upload_fields={}, raw={})
    rsps.post(f"{API}/conversations/{vid}/messages", status=201, json=doc(resource("message", oid(6))))
    rsps.post(f"{API}/conversations/{vid}/messages", status=201, json=doc(resource("message", oid(6))))
    rsps.post(f"{API}/conversations/{vid}/notes", status=201, json=doc(resource("note", oid(7))))
    client.create_message(conversation_id=vid, channel="voice", app="ccaip", direction="in",
                          preview="Inbound call", external_id="cc_acme_message_z", meta={"callId": "1"},
                          custom={"queueNameStr": "Sales"}, attachments=[oid(8)])
    validate(sent(rsps, 0), "/conversations/{id}/messages", "post", custom_keys=("queueNameStr",))
    client.create_message(conversation_id=vid, channel="chat", app="ccaip", attachments=[up])
    validate(sent(rsps, 1), "/conversations/{id}/messages", "post")
    client.create_note(conversation_id=vid, body="From +14155550100", external_id="cc_acme_note_n",
                       attachments=[up])
    validate(sent(rsps, 2), "/conversations/{id}/notes", "post")


def test_attachment_and_metadata_bodies(client, rsps):
    rsps.post(f"{API}/attachments", status=201, json={
        "data": resource("attachment", oid(8), {"name": "a", "contentType": "text/plain", "contentLength": 1}),
        "meta": {"upload": {"url": "https://s3.example/", "fields": {}}}})
    rsps.put(f"{API}/metadata/message", json=doc(resource("metadata", oid(9), {"properties": {}})))
    client.create_attachment(name="a.txt", content_type="text/plain", content_length=1)
    validate(sent(rsps, 0), "/attachments", "post")
    client.put_metadata(resource="message", properties={"queueNameStr": {"displayName": "Queue Name"}})
    body = sent(rsps, 1)
    schema = request_schema("/metadata/{resource}", "put")
    schema["properties"]["properties"] = {"type": "object"}  # built per org (README)
    openapi_schema_validator.validate(body, schema, cls=openapi_schema_validator.OAS30Validator)
