"""Each method sends Kustomer's request shape: method, path, bearer, JSON body."""
from __future__ import annotations

import json

import pytest
from responses import matchers

from integrations.kustomer.base_url import api_root
from integrations.kustomer.client import KustomerClient
from integrations.kustomer.types import (
    AttachmentUpload,
    Conversation,
    Customer,
    Message,
    Metadata,
    Note,
    OutboundWebhook,
    RoutingStatus,
    Team,
    TeamRoutingSettings,
    User,
    WorkSession,
)

from .conftest import API, API_KEY, BASE, doc, oid, rel, resource

BEARER = matchers.header_matcher({"Authorization": f"Bearer {API_KEY}", "Accept": "application/json"})


def body_of(call) -> dict:
    return json.loads(call.request.body)


@pytest.mark.parametrize(
    ("entered", "root"),
    [
        ("https://acme.api.kustomerapp.com", "https://acme.api.kustomerapp.com/v1"),
        ("https://acme.api.kustomerapp.com/", "https://acme.api.kustomerapp.com/v1"),
        ("https://acme.api.kustomerapp.com/v1", "https://acme.api.kustomerapp.com/v1"),
        ("https://api.kustomerapp.com/v1/", "https://api.kustomerapp.com/v1"),
        ("HTTPS://API.PROD2.KUSTOMERAPP.COM", "https://api.prod2.kustomerapp.com/v1"),
        ("api.kustomerapp.com", "https://api.kustomerapp.com/v1"),
        ("http://127.0.0.1:8765/orgs/acme", "http://127.0.0.1:8765/orgs/acme/v1"),
    ],
)
def test_base_url_is_normalised(entered, root):
    assert api_root(entered) == root


@pytest.mark.parametrize("bad", ["", "ftp://x.kustomerapp.com", "https://u:p@acme.api.kustomerapp.com", "https://"])
def test_bad_base_url_is_refused(bad):
    with pytest.raises(ValueError):
        api_root(bad)


def test_repr_and_org_key_never_show_the_key():
    c = KustomerClient(base_url="https://api.kustomerapp.com", api_key=API_KEY)
    assert API_KEY not in repr(c) and API_KEY not in c.org_key
    assert c.org_key.startswith("key:")
    assert KustomerClient(base_url=BASE, api_key=API_KEY).org_key == "host:acme.api.kustomerapp.com"
    assert KustomerClient(base_url=BASE, api_key=API_KEY, org_key="org-1").org_key == "org-1"


# ------------------------------------------------------------------------- customers
def test_create_customer(client, rsps):
    cid = oid(1)
    rsps.post(
        f"{API}/customers",
        status=201,
        json=doc(resource("customer", cid, {
            "name": "Ann", "externalId": "cc_acme_customer_x", "emails": [{"type": "other", "email": "ann@example.com"}],
            "phones": [{"type": "other", "phone": "+14155550100"}], "custom": {"userIdStr": "u1"},
            "createdAt": "2026-01-02T03:04:05.678Z",
        })),
        match=[BEARER, matchers.header_matcher({"Content-Type": "application/json"}), matchers.json_params_matcher({
            "name": "Ann",
            "externalId": "cc_acme_customer_x",
            "emails": [{"type": "other", "email": "ann@example.com"}],
            "phones": [{"type": "other", "phone": "+14155550100"}],
            "custom": {"userIdStr": "u1"},
        })],
    )
    c = client.create_customer(name="Ann", external_id="cc_acme_customer_x", emails=["ann@example.com"],
                               phones=["+14155550100"], custom={"userIdStr": "u1"})
    assert isinstance(c, Customer)
    assert c.id == cid and c.name == "Ann" and c.external_id == "cc_acme_customer_x"
    assert c.emails == ("ann@example.com",) and c.phones == ("+14155550100",)
    assert c.custom == {"userIdStr": "u1"}
    assert c.created_at is not None and c.created_at.tzinfo is not None
    assert c.raw["id"] == cid


def test_get_and_update_customer_merge(client, rsps):
    cid = oid(2)
    rsps.get(f"{API}/customers/{cid}", json=doc(resource("customer", cid, {"name": "Bo"})), match=[BEARER])
    rsps.put(f"{API}/customers/{cid}", json=doc(resource("customer", cid, {"name": "Bo", "custom": {"aNum": 1}})),
             match=[BEARER, matchers.json_params_matcher({"custom": {"aNum": 1}}), matchers.query_string_matcher("")])
    assert client.get_customer(customer_id=cid).name == "Bo"
    assert client.update_customer(customer_id=cid, custom={"aNum": 1}).custom == {"aNum": 1}


def test_lookups_put_the_value_in_the_path_and_return_none_on_404(client, rsps):
    cid = oid(3)
    rsps.get(f"{API}/customers/phone=%2B14155550100", json=doc(resource("customer", cid)), match=[BEARER])
    rsps.get(f"{API}/customers/email=ann%40example.com", status=404,
             json={"errors": [{"status": 404, "code": "notfound", "title": "Not Found"}]})
    rsps.get(f"{API}/customers/externalId=cc_acme_customer_abc", json=doc(resource("customer", cid)))
    assert client.get_customer_by_phone(phone="+1 415-555-0100").id == cid
    assert client.get_customer_by_email(email="ann@example.com") is None
    assert client.get_customer_by_external_id(external_id="cc_acme_customer_abc").id == cid
    assert rsps.calls[0].request.path_url == "/v1/customers/phone=%2B14155550100"


def test_phone_lookup_needs_e164(client):
    with pytest.raises(ValueError):
        client.get_customer_by_phone(phone="4155550100")


# ------------------------------------------------------------------------- conversations
def test_create_conversation_under_customer(client, rsps):
    cid, vid = oid(4), oid(5)
    rsps.post(
        f"{API}/customers/{cid}/conversations",
        status=201,
        json=doc(resource("conversation", vid, {"name": "Call", "status": "open", "direction": "in",
                                                 "externalId": "cc_x_conversation_y", "priority": 3,
                                                 "assignedUsers": [oid(9)], "assignedTeams": []},
                          {"customer": rel("customer", cid)})),
        match=[BEARER, matchers.json_params_matcher({
            "name": "Call", "status": "open", "direction": "in", "externalId": "cc_x_conversation_y",
            "assignedUsers": [oid(9)], "priority": 3, "tags": ["voice"], "custom": {"callIdStr": "c1"},
            "queue": {"external": "q1"},
        })],
    )
    conv = client.create_conversation(customer_id=cid, name="Call", status="open", direction="in",
                                      external_id="cc_x_conversation_y", assigned_users=[oid(9)], priority=3,
                                      tags=["voice"], custom={"callIdStr": "c1"}, queue={"external": "q1"})
    assert isinstance(conv, Conversation)
    assert conv.id == vid and conv.customer_id == cid and conv.is_open and conv.priority == 3
    assert conv.assigned_users == (oid(9),)


@pytest.mark.parametrize("kwargs", [{"status": "closed"}, {"direction": "sideways"}, {"priority": 6},
                                    {"assigned_users": [str(i) for i in range(11)]}])
def test_conversation_arguments_are_checked(client, kwargs):
    with pytest.raises(ValueError):
        client.create_conversation(customer_id=oid(1), **kwargs)


def test_get_update_and_lookup_conversation(client, rsps):
    vid = oid(6)
    rsps.put(f"{API}/conversations/{vid}", json=doc(resource("conversation", vid, {"status": "open"})),
             match=[BEARER, matchers.json_params_matcher({"status": "open", "assignedUsers": [oid(7)]})])
    rsps.get(f"{API}/conversations/externalId=cc_a_conversation_b", status=404, json={"errors": [{"status": 404, "code": "notfound"}]})
    assert client.update_conversation(conversation_id=vid, status="open", assigned_users=[oid(7)]).is_open
    assert client.get_conversation_by_external_id(external_id="cc_a_conversation_b") is None


# ------------------------------------------------------------------------- messages & notes
def test_create_message(client, rsps):
    vid, mid = oid(8), oid(9)
    rsps.post(
        f"{API}/conversations/{vid}/messages",
        status=201,
        json=doc(resource("message", mid, {"channel": "voice", "direction": "in", "preview": "Inbound call",
                                            "externalId": "m1"}, {"conversation": rel("conversation", vid)})),
        match=[BEARER, matchers.json_params_matcher({
            "channel": "voice", "app": "ccaip", "direction": "in", "preview": "Inbound call", "externalId": "m1",
            "meta": {"callId": 1}, "custom": {"queueNameStr": "Sales"}, "attachments": [oid(10)],
        })],
    )
    msg = client.create_message(conversation_id=vid, channel="voice", app="ccaip", direction="in",
                                preview="Inbound call", external_id="m1", meta={"callId": 1},
                                custom={"queueNameStr": "Sales"}, attachments=[oid(10)])
    assert isinstance(msg, Message)
    assert msg.id == mid and msg.conversation_id == vid and msg.channel == "voice"


def test_message_direction_is_checked(client):
    with pytest.raises(ValueError):
        client.create_message(conversation_id=oid(1), channel="voice", app="ccaip", direction="inbound")
    with pytest.raises(ValueError):
        client.create_message(conversation_id=oid(1), channel="voice", app="")


def test_attachment_items_forms(client, rsps):
    from integrations.kustomer.types import AttachmentUpload
    up = AttachmentUpload(id=oid(60), name="t.txt", content_type="text/plain", content_length=5,
                          upload_url="https://s3.example/", upload_fields={}, raw={})
    ref = {"_id": oid(60), "name": "t.txt", "contentType": "text/plain", "contentLength": 5}
    vid = oid(61)
    rsps.post(f"{API}/conversations/{vid}/messages", status=201, json=doc(resource("message", oid(62))),
              match=[matchers.json_params_matcher({"channel": "chat", "app": "ccaip", "attachments": [oid(63)]})])
    rsps.post(f"{API}/conversations/{vid}/messages", status=201, json=doc(resource("message", oid(62))),
              match=[matchers.json_params_matcher({"channel": "chat", "app": "ccaip", "attachments": [ref]})])
    rsps.post(f"{API}/conversations/{vid}/notes", status=201, json=doc(resource("note", oid(64))),
              match=[matchers.json_params_matcher({"body": "b", "attachments": [ref]})])
    client.create_message(conversation_id=vid, channel="chat", app="ccaip", attachments=[oid(63)])
    client.create_message(conversation_id=vid, channel="chat", app="ccaip", attachments=[up])
    client.create_note(conversation_id=vid, body="b", attachments=[up])
    with pytest.raises(ValueError):
        client.create_note(conversation_id=vid, body="b", attachments=[oid(63)])


def test_message_lookup_by_external_id(client, rsps):
    vid = oid(10)
    rsps.get(f"{API}/conversations/{vid}/messages", json={"data": [
        resource("message", oid(12), {"externalId": "m/2"}), resource("message", oid(11), {"externalId": "m/1"}),
    ], "links": {"next": None}})
    assert client.find_conversation_message(conversation_id=vid, external_id="m/1").id == oid(11)


def test_create_note(client, rsps):
    vid, nid = oid(12), oid(13)
    rsps.post(
        f"{API}/conversations/{vid}/notes",
        status=201,
        json=doc(resource("note", nid, {"body": "From +14155550100", "externalId": "n1"})),
        match=[BEARER, matchers.json_params_matcher({"body": "From +14155550100", "externalId": "n1"})],
    )
    note = client.create_note(conversation_id=vid, body="From +14155550100", external_id="n1")
    assert isinstance(note, Note) and note.id == nid and note.body == "From +14155550100"


# ------------------------------------------------------------------------- attachments
ATTACHMENT_201 = {
    "data": resource("attachment", "5a4d1a8a6d92880012ad2923",
                     {"name": "rec.mp3", "contentType": "audio/mpeg", "contentLength": 5, "uploaded": False,
                      "redacted": False}),
    "meta": {"upload": {"url": "https://attachment.signedurl.com/", "fields": {
        "key": "attachments/org/5a4d1a8a6d92880012ad2923-rec.mp3", "acl": "private", "Content-Type": "audio/mpeg",
        "X-Amz-Meta-Attachment-Id": "5a4d1a8a6d92880012ad2923", "bucket": "b", "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": "cred", "X-Amz-Date": "20180103T180146Z", "Policy": "pol", "X-Amz-Signature": "sig",
    }}},
}


def test_create_attachment_and_presigned_upload(client, rsps):
    rsps.post(f"{API}/attachments", status=201, json=ATTACHMENT_201, match=[BEARER, matchers.json_params_matcher(
        {"name": "rec.mp3", "contentType": "audio/mpeg", "contentLength": 5})])
    rsps.post("https://attachment.signedurl.com/", status=204)
    att_id = client.upload_file(name="rec.mp3", content_type="audio/mpeg", content=b"ID3\x00\x01").id
    assert att_id == "5a4d1a8a6d92880012ad2923"

    upload_req = rsps.calls[1].request
    assert "Authorization" not in upload_req.headers  # the key never goes to the storage host
    ctype = upload_req.headers["Content-Type"]
    assert ctype.startswith("multipart/form-data; boundary=")
    body = upload_req.body
    names = [part.split(b'"')[0].decode() for part in body.split(b'Content-Disposition: form-data; name="')[1:]]
    fields = ATTACHMENT_201["meta"]["upload"]["fields"]
    assert names == list(fields) + ["file"]  # every field in order, the file last
    assert b"ID3\x00\x01" in body
    assert b'filename="rec.mp3"' in body


def test_create_attachment_returns_upload(client, rsps):
    rsps.post(f"{API}/attachments", status=201, json=ATTACHMENT_201)
    up = client.create_attachment(name="rec.mp3", content_type="audio/mpeg", content_length=5)
    assert isinstance(up, AttachmentUpload)
    assert up.upload_url == "https://attachment.signedurl.com/"
    assert up.upload_fields["X-Amz-Meta-Attachment-Id"] == up.id
    assert up.content_length == 5


def test_failed_upload_is_typed(client, rsps):
    rsps.post(f"{API}/attachments", status=201, json=ATTACHMENT_201)
    rsps.post("https://attachment.signedurl.com/", status=403, body="<Error><Code>AccessDenied</Code></Error>")
    from integrations.kustomer.errors import KustomerAuthError
    with pytest.raises(KustomerAuthError) as info:
        client.upload_file(name="rec.mp3", content_type="audio/mpeg", content=b"12345").id
    assert "AccessDenied" in str(info.value)


# ------------------------------------------------------------------------- metadata
def test_metadata_get_and_put(client, rsps):
    props = {"queueNameStr": {"displayName": "Queue Name"}}
    rsps.get(f"{API}/metadata/message", json=doc(resource("metadata", oid(14), {"properties": {}})), match=[BEARER])
    rsps.put(f"{API}/metadata/message", json=doc(resource("metadata", oid(14), {"properties": props})),
             match=[BEARER, matchers.json_params_matcher({"properties": props})])
    assert client.get_metadata(resource="message").properties == {}
    m = client.put_metadata(resource="message", properties=props)
    assert isinstance(m, Metadata) and m.properties == props and m.resource == "message"
    with pytest.raises(ValueError):
        client.get_metadata(resource="company")


# ------------------------------------------------------------------------- users, teams
def test_users(client, rsps):
    uid, org = oid(15), oid(16)
    user = resource("user", uid, {"name": "Agent A", "email": "a@acme.test", "userType": "user"},
                    {"org": rel("org", org)})
    rsps.get(f"{API}/users/current", json=doc(user), match=[BEARER])
    rsps.get(f"{API}/users", json={"data": [user], "links": {"next": None}},
             match=[matchers.query_param_matcher({"email": "a@acme.test", "pageSize": "100"})])
    me = client.get_current_user()
    assert isinstance(me, User) and me.org_id == org and me.email == "a@acme.test"
    assert [u.id for u in client.list_users(email="a@acme.test")] == [uid]


def test_teams(client, rsps):
    tid, uid = oid(17), oid(18)
    team = resource("team", tid, {"name": "Sales", "members": [uid]})
    rsps.get(f"{API}/teams", json={"data": [team], "links": {"next": None}})
    teams = client.list_teams()
    assert [t.name for t in teams] == ["Sales"]
    assert isinstance(teams[0], Team) and teams[0].member_ids == (uid,)


# ------------------------------------------------------------------------- routing
def test_routing_statuses_queues_settings(client, rsps):
    rsps.get(f"{API}/routing/statuses", json={"data": [
        resource("routing_status", oid(20), {"name": "Available", "statusType": "available", "system": True}),
        resource("routing_status", oid(21), {"name": "Lunch", "statusType": "unavailable", "system": False}),
    ], "links": {"next": None}})
    rsps.get(f"{API}/routing/settings/{oid(23)}", json=doc(resource("routing_setting", oid(23), {"enabled": True})))
    statuses = client.list_routing_statuses()
    assert [(s.name, s.status_type, s.system) for s in statuses] == [("Available", "available", True),
                                                                   ("Lunch", "unavailable", False)]
    assert all(isinstance(s, RoutingStatus) for s in statuses)
    settings = client.get_team_routing_settings(team_id=oid(23))
    assert isinstance(settings, TeamRoutingSettings) and settings.enabled is True


def _ws(id_, user, status, status_type, signed_out=None, active=None):
    attrs = {"statusType": status_type, "routable": status_type == "available",
             "signedInAt": "2026-11-25T08:00:00Z", "signedOutAt": signed_out}
    if active is not None:
        attrs["active"] = active
    return resource("work_session", id_, attrs, {"user": rel("user", user), "status": rel("routing_status", status),
                                                 "team": rel("team", oid(99))})


def test_work_sessions(client, rsps):
    uid, sid = oid(30), oid(31)
    rsps.get(f"{API}/routing/users/{uid}/work-sessions", json={"data": [
        _ws(oid(40), uid, sid, "offline", "2026-11-24T18:00:00Z", active=False),
        _ws(oid(41), uid, sid, "available", None, active=True),
    ], "links": {"next": None}})
    rsps.get(f"{API}/routing/work-sessions", json={"data": [_ws(oid(41), uid, sid, "available")], "links": {"next": None}},
             match=[matchers.query_param_matcher({"active": "true", "pageSize": "100"})])
    rsps.put(f"{API}/routing/work-sessions/{oid(41)}", json=doc(_ws(oid(41), uid, oid(32), "unavailable", active=True)),
             match=[BEARER, matchers.json_params_matcher({"status": oid(32)})])
    ws = client.get_active_work_session(user_id=uid)
    assert isinstance(ws, WorkSession)
    assert ws.id == oid(41) and ws.user_id == uid and ws.status_id == sid and ws.routable and ws.active
    assert ws.signed_in_at.tzinfo is not None and ws.team_id == oid(99)
    assert [w.id for w in client.iter_active_work_sessions()] == [oid(41)]
    updated = client.update_work_session_status(work_session_id=oid(41), status_id=oid(32))
    assert updated.status_id == oid(32) and updated.status_type == "unavailable"


# ------------------------------------------------------------------------- outbound webhooks
@pytest.mark.parametrize("where", ["attributes", "meta"])
def test_outbound_webhooks(client, rsps, where):
    wid = oid(50)
    attrs = {"name": "cc", "url": "https://portal.example/hooks/kustomer/acme", "events": ["kustomer.conversation.update"],
             "enabled": True}
    created = {"data": resource("outbound_webhook", wid, dict(attrs, **({"token": "tok-123"} if where == "attributes" else {})))}
    if where == "meta":
        created["meta"] = {"token": "tok-123"}
    rsps.post(f"{API}/outbound-webhooks", status=201, json=created, match=[BEARER, matchers.json_params_matcher({
        "name": "cc", "url": "https://portal.example/hooks/kustomer/acme", "events": ["kustomer.conversation.update"],
        "headers": [{"name": "X-Tenant", "value": "acme"}]})])
    rsps.get(f"{API}/outbound-webhooks", json={"data": [resource("outbound_webhook", wid, attrs)], "links": {"next": None}})
    rsps.delete(f"{API}/outbound-webhooks/{wid}", status=204, match=[BEARER])
    hook = client.create_outbound_webhook(name="cc", url="https://portal.example/hooks/kustomer/acme",
                                          events=["kustomer.conversation.update"], headers={"X-Tenant": "acme"})
    assert isinstance(hook, OutboundWebhook) and hook.token == "tok-123" and hook.id == wid
    assert "tok-123" not in repr(hook)
    hooks = client.list_outbound_webhooks()
    assert [h.id for h in hooks] == [wid] and hooks[0].token is None
    assert client.delete_outbound_webhook(webhook_id=wid) is None


def test_path_values_are_escaped(client, rsps):
    rsps.get(f"{API}/customers/..%2Fusers", status=404, json={"errors": []})
    from integrations.kustomer.errors import KustomerNotFoundError
    with pytest.raises(KustomerNotFoundError):
        client.get_customer(customer_id="../users")
