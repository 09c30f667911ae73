"""Hand-written bad input against the public API and the Kustomer webhook: malformed
JSON, wrong types, unknown event types, impossible phone numbers, bodies over the size
limit (413), unicode everywhere, a tenant's key on another tenant's objects (404, R-A1)
and forged webhook signatures (400). Every error must come in the contract's shape
`{"detail", "errors"}` (CONTRACT.md) and name the field at fault; nothing may answer 500.
"""
from __future__ import annotations

import copy
import hashlib
import hmac
import json

import pytest
from django.conf import settings
from django.test import Client

from conversations.models import Event, WebhookDelivery, WebhookSubscription
from core.crypto import encrypt_secret
from tests.badinput.shapes import assert_error_shape
from tests.tenants.factories import make_api_key

pytestmark = pytest.mark.django_db

POST_ENDPOINTS = [
    ("POST", "/api/v1/events"),
    ("POST", "/api/v1/agent-status/events"),
    ("POST", "/api/v1/adapter/heartbeat"),
    ("POST", "/api/v1/click-to-call"),
    ("POST", "/api/v1/custom-fields"),
    ("POST", "/api/v1/agents"),
    ("POST", "/api/v1/cc-statuses"),
    ("PUT", "/api/v1/status-mapping"),
    ("PUT", "/api/v1/status-inheritance"),
]


def event(**over) -> dict:
    body = {
        "id": "evt-bad-1",
        "type": "call.answered",
        "occurred_at": "2026-11-23T10:00:00Z",
        "session": {"id": "s-1", "channel": "voice", "source": "ivr", "menu": "Billing", "queue": "Billing",
                    "language": "en", "recording_enabled": False},
        "end_user": {"phone": "+14155550123", "identifier": None, "name": "Ann Lee", "email": None},
        "agent": {"email": "agent1@example.com"},
        "data": {},
    }
    body.update(over)
    return body


@pytest.fixture
def http(api_key):
    """A plain Django client sending raw bytes with the tenant's key."""

    class Http:
        key = api_key[1]

        def __init__(self) -> None:
            self.client = Client()

        def send(self, method: str, path: str, raw: bytes | str, content_type: str = "application/json", **extra):
            return self.client.generic(method, path, data=raw, content_type=content_type,
                                       HTTP_AUTHORIZATION=f"Bearer {self.key}", **extra)

        def json(self, method: str, path: str, body, **extra):
            return self.send(method, path, json.dumps(body), **extra)

        def get(self, path: str):
            return self.client.get(path, HTTP_AUTHORIZATION=f"Bearer {self.key}")

    return Http()


def error(response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:500])
    data = assert_error_shape(response.status_code, response.get("Content-Type"), response.content)
    if field is not None:
        assert field in data["errors"], f"expected the error to name {field!r}: {data}"
    return data


# ----------------------------------------------------------------------------- malformed JSON
@pytest.mark.parametrize("method,path", POST_ENDPOINTS)
@pytest.mark.parametrize("raw", [b"{not json", b'{"id": "x",}', b"\xff\xfe\x00garbage", b'{"id": "x"'])
def test_malformed_json_is_400_in_the_contract_shape(http, method, path, raw):
    error(http.send(method, path, raw), 400)


@pytest.mark.parametrize("method,path", POST_ENDPOINTS)
@pytest.mark.parametrize("body", ["[]", '"a string"', "42", "null", "true", "[{\"id\": \"x\"}]"])
def test_json_that_is_not_an_object_is_400(http, method, path, body):
    error(http.send(method, path, body), 400)


@pytest.mark.parametrize("method,path", POST_ENDPOINTS)
def test_a_body_that_is_not_json_is_415(http, method, path):
    error(http.send(method, path, "id=1&type=call.answered", content_type="application/x-www-form-urlencoded"), 415)


# ----------------------------------------------------------------------------- wrong types
@pytest.mark.parametrize("change,field", [
    ({"occurred_at": "yesterday"}, "occurred_at"),
    ({"occurred_at": 1732356000}, "occurred_at"),
    ({"session": "s-1"}, "session"),
    ({"session": {**event()["session"], "channel": "fax"}}, "session.channel"),
    ({"session": {**event()["session"], "recording_enabled": "perhaps"}}, "session.recording_enabled"),
    ({"session": {**event()["session"], "id": ["s-1"]}}, "session.id"),
    ({"end_user": ["+14155550123"]}, "end_user"),
    ({"end_user": {"phone": True}}, "end_user.phone"),
    ({"end_user": {"phone": {"number": "+14155550123"}}}, "end_user.phone"),
    ({"agent": {"email": "not-an-email"}}, "agent.email"),
    ({"data": ["not", "an", "object"]}, "data"),
    ({"type": "csat.submitted", "data": {"rating": "five"}}, "data.rating"),
    ({"type": "csat.submitted", "data": {"rating": 11}}, "data.rating"),
    ({"type": "session.ended", "data": {"duration_seconds": -5}}, "data.duration_seconds"),
    ({"type": "session.ended", "data": {"duration_seconds": 10 ** 30}}, "data.duration_seconds"),
    ({"type": "session.ended", "data": {"transcript": "hello"}}, "data.transcript"),
    ({"type": "voicemail.received", "data": {"recording_url": "file:///etc/passwd"}}, "data.recording_url"),
    ({"type": "smart_action.completed", "data": {"action": "x", "files": [{"name": "a", "url": 7}]}},
     "data.files.0.url"),
    ({"type": "call.outbound_started", "data": {"kustomer_customer_id": "not-an-id"}}, "data.kustomer_customer_id"),
    ({"id": ""}, "id"),
    ({"id": "x" * 201}, "id"),
    ({"id": None}, "id"),
])
def test_wrong_types_in_an_event_are_400_naming_the_field(http, tenant, change, field):
    error(http.json("POST", "/api/v1/events", event(**change)), 400, field)
    assert not Event.objects.filter(tenant=tenant).exists()  # nothing half-written


@pytest.mark.parametrize("change,field", [
    ({"source": "carrier-pigeon"}, "source"),
    ({"occurred_at": "2026-13-45T99:00:00Z"}, "occurred_at"),
    ({"source": "kustomer", "kustomer_status_id": None}, "kustomer_status_id"),
    ({"kind": "teleport"}, "kind"),
    ({"agent_email": {"email": "a@b.c"}}, "agent_email"),
])
def test_wrong_types_in_a_status_event_are_400_naming_the_field(http, change, field):
    body = {"id": "st-1", "source": "contact_center", "agent_email": "agent1@example.com", "status": "Break",
            "kind": "manual", "occurred_at": "2026-11-23T10:00:00Z", **change}
    error(http.json("POST", "/api/v1/agent-status/events", body), 400, field)


# ----------------------------------------------------------------------------- unknown types
@pytest.mark.parametrize("type_", ["call.teleported", "", "CALL.ANSWERED", "call.answered ", None, 7])
def test_unknown_event_types_are_400_naming_type(http, type_):
    error(http.json("POST", "/api/v1/events", event(type=type_)), 400, "type")


@pytest.mark.parametrize("change,field", [
    ({"colour": "blue"}, "colour"),
    ({"session": {**event()["session"], "priorty": 1}}, "session.priorty"),
    ({"end_user": {**event()["end_user"], "phone_number": "+14155550123"}}, "end_user.phone_number"),
    ({"type": "csat.submitted", "data": {"rating": 4, "stars": 4}}, "data.stars"),
])
def test_unknown_fields_are_refused_by_name(http, change, field):
    error(http.json("POST", "/api/v1/events", event(**change)), 400, field)


# ----------------------------------------------------------------------------- phone numbers
IMPOSSIBLE_PHONES = ["12", "not a phone", "+1 555 000", "+999 1234 5678", "+44 20 7946 09999999999", "☎☎☎",
                     "+1 (000) 000-0000", "+1 212 555 01", "+" + "9" * 30, "0"]


@pytest.mark.parametrize("phone", IMPOSSIBLE_PHONES)
def test_impossible_phone_numbers_are_400_in_events(http, phone):
    body = event(end_user={"phone": phone, "identifier": None, "name": None, "email": None})
    error(http.json("POST", "/api/v1/events", body), 400, "end_user.phone")


@pytest.mark.parametrize("phone", IMPOSSIBLE_PHONES)
def test_impossible_phone_numbers_are_400_in_click_to_call(http, phone):
    body = {"agent_email": "agent1@example.com", "phone": phone, "kustomer_customer_id": None}
    error(http.json("POST", "/api/v1/click-to-call", body), 400, "phone")


def test_an_event_without_phone_or_identifier_is_400(http):
    body = event(end_user={"phone": None, "identifier": None, "name": "Nobody", "email": None})
    error(http.json("POST", "/api/v1/events", body), 400, "end_user.phone")


# ----------------------------------------------------------------------------- size limit
@pytest.mark.parametrize("path", ["/api/v1/events", "/api/v1/agent-status/events", "/api/v1/click-to-call",
                                  "/api/v1/custom-fields"])
def test_bodies_over_the_size_limit_are_413(http, path):
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    body = event(data={"custom_data": {"blob": "x" * (limit + 10)}}, type="custom_data.received")
    error(http.json("POST", path, body), 413)


def test_a_body_just_under_the_limit_is_not_413(http):
    """The limit is the documented one, not something smaller."""
    body = event(type="custom_data.received", data={"custom_data": {"blob": "x" * 1000}})
    assert http.json("POST", "/api/v1/events", body).status_code == 202


def test_a_webhook_body_over_the_size_limit_is_413(http, tenant):
    subscription = WebhookSubscription.objects.create(tenant=tenant, token_encrypted=encrypt_secret("tok"), active=True)
    raw = json.dumps({"id": "e1", "blob": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)})
    response = Client().generic("POST", f"/webhooks/kustomer/{subscription.public_id}", data=raw,
                                content_type="application/json")
    error(response, 413)


# ----------------------------------------------------------------------------- unicode
UNICODE_NAMES = ["김민준", "Zoë Ørsted-Łukasiewicz", "محمد", "👩🏽‍💻 Dev", "Ǆemal \u200dzwj", "\u202eevil rtl",
                 "𝔘𝔫𝔦𝔠𝔬𝔡𝔢"]


@pytest.mark.parametrize("name", UNICODE_NAMES)
def test_unicode_everywhere_is_accepted_and_read_back(http, tenant, name):
    event_id = f"évt-{hashlib.sha1(name.encode()).hexdigest()[:8]}-日本-😀"
    body = event(
        id=event_id, type="session.started",
        session={**event()["session"], "channel": "chat", "source": "mobile_sdk", "menu": f"{name} › 환불",
                 "queue": "Поддержка", "language": "ko"},
        end_user={"phone": None, "identifier": f"app-{name}", "name": name, "email": None},
        data={"custom_data": {"주문번호": "A-17", "note": name, "emoji🎉": ["✓", 1, None]}},
    )
    response = http.json("POST", "/api/v1/events", body)
    assert response.status_code == 202, response.content
    assert response.json()["id"] == event_id
    from urllib.parse import quote

    read = http.get(f"/api/v1/events/{quote(event_id)}")
    assert read.status_code == 200, read.content
    assert read.json()["id"] == event_id
    stored = Event.objects.get(tenant=tenant, event_id=event_id)
    assert stored.payload["end_user"]["name"] == name
    assert stored.payload["data"]["custom_data"]["주문번호"] == "A-17"


@pytest.mark.parametrize("value", ["nul\u0000inside", "lone \ud800 surrogate"])
def test_characters_no_database_can_store_are_400_not_500(http, tenant, value):
    """NUL (PostgreSQL text and jsonb refuse it) and lone surrogates (not encodable as
    UTF-8) anywhere in an event are refused with a 400, never a 500."""
    for body in (
        event(end_user={"phone": "+14155550123", "identifier": None, "name": value, "email": None}),
        event(type="custom_data.received", data={"custom_data": {"note": value}}),
        event(type="custom_data.received", data={"custom_data": {value: "key"}}),
        event(type="smart_action.completed", data={"action": "verify", "result": {"detail": value}}),
    ):
        body["id"] = f"evt-chars-{hashlib.sha1(json.dumps(body).encode()).hexdigest()[:10]}"
        raw = json.dumps(body)  # \u0000 and \ud800 travel as JSON escapes, as a client sends them
        error(http.send("POST", "/api/v1/events", raw), 400)


def test_unicode_agent_email_in_status_event_is_not_a_500(http):
    body = {"id": "st-ü-1", "source": "contact_center", "agent_email": "agënt@例え.jp", "status": "Break",
            "kind": "manual", "occurred_at": "2026-11-23T10:00:00Z"}
    response = http.json("POST", "/api/v1/agent-status/events", body)
    assert response.status_code == 200, response.content
    assert response.json()["decision"] == "unknown_agent"


# ----------------------------------------------------------------------------- other tenants (R-A1)
@pytest.fixture
def foreign(other_tenant, tenant):
    """Objects of another tenant, made through its own key. Both tenants are connected
    to Kustomer, so every endpoint gets as far as looking the object up."""
    from customfields.models import CustomField
    from integrations.models import KustomerConnection
    from statusmapping.models import Agent

    for t in (tenant, other_tenant):
        KustomerConnection.objects.create(tenant=t, base_url="http://127.0.0.1:9", api_key_encrypted=encrypt_secret("k"),
                                          verify_state=KustomerConnection.VerifyState.OK)

    _, key = make_api_key(other_tenant)
    client = Client()
    response = client.post("/api/v1/events", json.dumps(event(id="evt-foreign")), content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 202, response.content
    agent = Agent.objects.create(tenant=other_tenant, email="spy@globex.example.com", name="Spy")
    field = CustomField.objects.create(tenant=other_tenant, kind="catalogue", catalogue_key="queue_name",
                                       klass="message", attribute_name="queueNameStr", display_name="Queue Name",
                                       value_type="Str")
    Event.objects.filter(event_id="evt-foreign").update(state="failed", error="boom")
    return {"event": "evt-foreign", "agent": agent.email, "field": field.pk}


@pytest.mark.parametrize("method,path", [
    ("GET", "/api/v1/events/{event}"),
    ("POST", "/api/v1/events/{event}/retry"),
    ("GET", "/api/v1/agents/{agent}"),
    ("GET", "/api/v1/agents/{agent}/status-history"),
    ("GET", "/api/v1/custom-fields/{field}"),
    ("DELETE", "/api/v1/custom-fields/{field}"),
    ("POST", "/api/v1/custom-fields/{field}/retry"),
])
def test_another_tenants_objects_answer_404(http, foreign, method, path):
    response = http.send(method, path.format(**foreign), "")
    data = error(response, 404)
    assert "globex" not in json.dumps(data).lower() and "spy" not in json.dumps(data).lower()


def test_another_tenants_objects_are_untouched(http, foreign, other_tenant):
    from customfields.models import CustomField

    http.send("DELETE", f"/api/v1/custom-fields/{foreign['field']}", "")
    http.send("POST", f"/api/v1/events/{foreign['event']}/retry", "")
    assert CustomField.objects.get(pk=foreign["field"]).deleted_at is None
    assert Event.objects.get(tenant=other_tenant, event_id="evt-foreign").state == "failed"


def test_the_same_event_id_in_another_tenant_is_a_different_event(http, foreign, tenant):
    """Ids are unique per tenant: reusing another tenant's id neither 409s nor leaks."""
    response = http.json("POST", "/api/v1/events", event(id=foreign["event"], session={**event()["session"],
                                                                                        "id": "s-mine"}))
    assert response.status_code == 202, response.content
    assert Event.objects.filter(event_id=foreign["event"]).count() == 2


def test_another_tenants_agent_is_unknown_to_status_events(http, foreign):
    body = {"id": "st-spy", "source": "contact_center", "agent_email": foreign["agent"], "status": "Break",
            "kind": "manual", "occurred_at": "2026-11-23T10:00:00Z"}
    response = http.json("POST", "/api/v1/agent-status/events", body)
    assert response.status_code == 200 and response.json()["decision"] == "unknown_agent", response.content


def test_a_heartbeat_for_another_tenants_agent_is_404(http, foreign):
    error(http.json("POST", "/api/v1/adapter/heartbeat", {"agent_email": foreign["agent"], "instance_id": "t"}), 404)


# ----------------------------------------------------------------------------- authentication
@pytest.mark.parametrize("header", [None, "Bearer", "Bearer ", "Bearer nope", "Basic dXNlcjpwdw==",
                                    "Bearer " + "x" * 5000,
                                    # UTF-8 bytes as WSGI hands them over (decoded as latin-1)
                                    "Bearer ключ".encode().decode("latin-1")])
def test_missing_or_bad_keys_are_401_in_the_contract_shape(header, tenant):
    extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    response = Client().post("/api/v1/events", json.dumps(event()), content_type="application/json", **extra)
    error(response, 401)


# ----------------------------------------------------------------------------- webhook signatures
@pytest.fixture
def subscription(tenant):
    return WebhookSubscription.objects.create(tenant=tenant, kustomer_webhook_id="a" * 24,
                                              token_encrypted=encrypt_secret("the-real-token"), active=True)


def _delivery(event_id: str = "6b0000000000000000000001") -> bytes:
    return json.dumps({"id": event_id, "name": "kustomer.conversation.update", "org": "o",
                       "data": {"type": "conversation", "id": "c" * 24, "attributes": {"status": "done"}},
                       "createdAt": "2026-11-23T10:00:00.000Z"}).encode()


def _post_webhook(subscription, raw: bytes, signature: str | None):
    headers = {"HTTP_X_KUSTOMER_WEBHOOK_EVENT": "kustomer.conversation.update"}
    if signature is not None:
        headers["HTTP_X_KUSTOMER_WEBHOOK_SIGNATURE"] = signature
    return Client().generic("POST", f"/webhooks/kustomer/{subscription.public_id}", data=raw,
                            content_type="application/json", **headers)


def _sign(raw: bytes, token: str = "the-real-token") -> str:
    return hmac.new(token.encode(), raw, hashlib.sha256).hexdigest()


@pytest.mark.parametrize("forge", [
    "missing", "empty", "other token", "other body", "truncated", "not hex", "sha1", "unicode",
])
def test_forged_webhook_signatures_are_400_and_store_nothing(subscription, forge):
    raw = _delivery()
    signature = {
        "missing": None,
        "empty": "",
        "other token": _sign(raw, "a-guessed-token"),
        "other body": _sign(_delivery("6b0000000000000000000002")),
        "truncated": _sign(raw)[:32],
        "not hex": "z" * 64,
        "sha1": hmac.new(b"the-real-token", raw, hashlib.sha1).hexdigest(),
        # non-ASCII bytes as WSGI hands them over (decoded as latin-1)
        "unicode": ("é" * 32).encode().decode("latin-1"),
    }[forge]
    error(_post_webhook(subscription, raw, signature), 400)
    assert not WebhookDelivery.objects.exists()


def test_a_correctly_signed_webhook_is_stored_once(subscription):
    """The counterpart of the forgeries: the same request, signed right, is taken (once)."""
    raw = _delivery()
    assert _post_webhook(subscription, raw, _sign(raw)).status_code == 200
    assert _post_webhook(subscription, raw, _sign(raw)).status_code == 200
    assert WebhookDelivery.objects.count() == 1


def test_a_signed_webhook_with_a_body_that_is_not_json_is_400(subscription):
    raw = b"\x00\x01 not json"
    error(_post_webhook(subscription, raw, _sign(raw)), 400)


def test_a_webhook_to_an_unknown_subscription_is_404(subscription):
    raw = _delivery()
    response = Client().generic("POST", "/webhooks/kustomer/00000000-0000-0000-0000-000000000000", data=raw,
                                content_type="application/json", HTTP_X_KUSTOMER_WEBHOOK_SIGNATURE=_sign(raw))
    error(response, 404)


# ----------------------------------------------------------------------------- unmatched URLs
@pytest.mark.parametrize("path", ["/api/v1/custom-fields/not-a-number", "/api/v1/no-such-endpoint",
                                  "/api/v1/support/tenants/not a slug/status-inheritance-availability",
                                  "/webhooks/kustomer/not-a-uuid"])
def test_unmatched_api_urls_answer_404_in_the_contract_shape(http, path):
    """A client that builds a wrong URL still gets a JSON error it can read."""
    error(http.send("POST", path, "{}"), 404)


def test_a_body_that_claims_json_but_is_empty_is_400(http):
    error(http.send("POST", "/api/v1/events", b""), 400)


def test_deeply_nested_json_is_400_not_500(http):
    nested = "[" * 5000 + "]" * 5000
    response = http.send("POST", "/api/v1/events", '{"id": "deep", "data": ' + nested + "}")
    assert response.status_code == 400, response.content[:300]
    assert_error_shape(400, response.get("Content-Type"), response.content)


def test_an_enormous_number_is_400_not_500(http):
    raw = json.dumps(event(type="csat.submitted"))[:-1].replace('"data": {}', '"data": {"rating": 1' + "0" * 5000 + "}")
    response = http.send("POST", "/api/v1/events", raw + "}")
    assert response.status_code == 400, response.content[:300]


def test_duplicate_keys_in_json_do_not_500(http):
    raw = '{"id": "evt-dup", "id": "evt-dup-2", "type": "call.answered"}'
    response = http.send("POST", "/api/v1/events", raw)
    assert response.status_code == 400
    assert_error_shape(400, response.get("Content-Type"), response.content)


def test_repeat_of_a_refused_event_is_still_refused_and_stores_nothing(http, tenant):
    body = event(end_user={"phone": "12", "identifier": None, "name": None, "email": None})
    for _ in range(2):
        error(http.json("POST", "/api/v1/events", copy.deepcopy(body)), 400, "end_user.phone")
    assert not Event.objects.filter(tenant=tenant).exists()
