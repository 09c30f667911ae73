"""The event inbox (CONTRACT.md `POST /api/v1/events`, SPEC §5): validation with clear
400s naming the field, stored once per (tenant, id) before the 202, same body → 200,
same id with another body → 409; `GET /api/v1/events/{id}`; retry; click-to-call."""
from __future__ import annotations

import copy

import pytest

from conversations.models import Event
from tests.conftest import api_client_with_scopes

pytestmark = pytest.mark.django_db


def body(**over) -> dict:
    b = {
        "id": "evt-1",
        "type": "call.answered",
        "occurred_at": "2026-11-23T10:00:00Z",
        "session": {"id": "s-1", "channel": "voice", "source": "ivr", "menu": "Billing > Refunds", "queue": "Billing",
                    "language": "en", "recording_enabled": True},
        "end_user": {"phone": "(415) 555-0123", "identifier": None, "name": "Ann Lee", "email": None},
        "agent": {"email": "agent1@example.com"},
        "data": {},
    }
    b.update(over)
    return b


def post(api, b):
    return api.post("/api/v1/events", b, format="json")


def test_accepts_and_stores_before_answering(api, tenant):
    r = post(api, body())
    assert r.status_code == 202, r.content
    assert r.json() == {"id": "evt-1", "state": "accepted"}
    event = Event.objects.get(tenant=tenant, event_id="evt-1")
    assert event.state == "accepted" and event.session_id == "s-1"
    assert event.payload["end_user"]["phone"] == "+14155550123"  # E.164 with the tenant's region
    assert event.customer_key == "+14155550123"
    assert '"(415) 555-0123"' in event.raw_body and len(event.body_hash) == 64


def test_same_body_again_answers_200_with_state_and_changes_nothing(api, tenant):
    assert post(api, body()).status_code == 202
    reordered = dict(reversed(list(body().items())))  # same JSON, other key order
    r = post(api, reordered)
    assert r.status_code == 200
    assert r.json()["id"] == "evt-1" and r.json()["state"] == "accepted" and r.json()["attempts"] == 0
    assert Event.objects.filter(tenant=tenant).count() == 1


def test_same_id_other_body_is_409(api, tenant):
    post(api, body())
    other = body(data={"x": 1}) if False else body(session={**body()["session"], "menu": "Sales"})
    r = post(api, other)
    assert r.status_code == 409
    assert "different body" in r.json()["detail"]
    assert Event.objects.get(tenant=tenant).payload["session"]["menu"] == "Billing > Refunds"


def test_event_ids_are_per_tenant(api, other_tenant):
    post(api, body())
    other = api_client_with_scopes(other_tenant, "events:write")
    assert post(other, body(session={**body()["session"], "menu": "X"})).status_code == 202


@pytest.mark.parametrize("mutate,field", [
    (lambda b: b.pop("id"), "id"),
    (lambda b: b.update(type="call.exploded"), "type"),
    (lambda b: b.update(occurred_at="yesterday"), "occurred_at"),
    (lambda b: b["session"].update(channel="fax"), "session.channel"),
    (lambda b: b["session"].update(source="pigeon"), "session.source"),
    (lambda b: b["session"].pop("id"), "session.id"),
    (lambda b: b["session"].update(recording_enabled="maybe"), "session.recording_enabled"),
    (lambda b: b["end_user"].update(phone="12"), "end_user.phone"),
    (lambda b: b["end_user"].update(phone=None), "end_user.phone"),
    (lambda b: b["end_user"].update(email="not-an-email"), "end_user.email"),
    (lambda b: b["agent"].update(email="nope"), "agent.email"),
    (lambda b: b.update(data={"surprise": 1}), "data.surprise"),
    (lambda b: b.update(extra=1), "extra"),
    (lambda b: b.update(type="csat.submitted", data={"rating": 9}), "data.rating"),
    (lambda b: b.update(type="csat.submitted", data={}), "data.rating"),
    (lambda b: b.update(type="voicemail.received", data={"recording_url": "file:///etc/passwd"}), "data.recording_url"),
    (lambda b: b.update(type="session.ended", data={"duration_seconds": -1}), "data.duration_seconds"),
    (lambda b: b.update(type="session.ended", data={"transcript": [{"from": "c"}]}), "data.transcript.0.text"),
    (lambda b: b.update(type="session.transferred", data={}), "data.to_agent_email"),
    (lambda b: b.update(type="callback.requested", data={"reason": "bored", "previous_session_id": "s"}), "data.reason"),
    (lambda b: b.update(type="smart_action.completed", data={"action": "a", "files": [{"name": "n", "url": "ftp://x"}]}),
     "data.files.0.url"),
    (lambda b: b.update(type="voicemail.updated", data={"action": "deleted"}), "data.action"),
    (lambda b: b.update(type="call.outbound_started", data={"kustomer_customer_id": "xyz"}), "data.kustomer_customer_id"),
])
def test_invalid_field_is_named(api, tenant, mutate, field):
    b = copy.deepcopy(body())
    mutate(b)
    r = post(api, b)
    assert r.status_code == 400, r.content
    assert field in r.json()["errors"], r.json()
    assert field in r.json()["detail"] or len(r.json()["errors"]) >= 1
    assert not Event.objects.filter(tenant=tenant).exists()  # nothing half-written


def test_identifier_alone_is_a_customer_key(api, tenant):
    b = body(type="session.started", end_user={"phone": None, "identifier": "app-77"},
             session={**body()["session"], "source": "mobile_sdk"}, data={"custom_data": {"orderId": "A-17"}})
    assert post(api, b).status_code == 202
    assert Event.objects.get(tenant=tenant).customer_key == "app:app-77"


def test_tenant_default_region_reads_national_numbers(api, tenant):
    tenant.default_region = "KR"
    tenant.save()
    post(api, body(end_user={"phone": "010-1234-5678"}))
    assert Event.objects.get(tenant=tenant).payload["end_user"]["phone"] == "+821012345678"


def test_needs_events_write_scope(tenant):
    reader = api_client_with_scopes(tenant, "config:read")
    assert post(reader, body()).status_code == 403
    assert reader.get("/api/v1/events/evt-1").status_code == 403


def test_get_event_state_and_foreign_id_is_404(api, tenant, other_tenant):
    post(api, body())
    r = api.get("/api/v1/events/evt-1")
    assert r.status_code == 200
    data = r.json()
    assert {k: data[k] for k in ("id", "type", "state", "error", "attempts")} == {
        "id": "evt-1", "type": "call.answered", "state": "accepted", "error": "", "attempts": 0}
    assert data["kustomer"]["customer_id"] is None and data["kustomer"]["conversation_id"] is None
    other = api_client_with_scopes(other_tenant, "events:write")
    assert other.get("/api/v1/events/evt-1").status_code == 404  # R-A1


def test_retry_only_failed(api, tenant):
    post(api, body())
    assert api.post("/api/v1/events/evt-1/retry").status_code == 400
    Event.objects.filter(tenant=tenant).update(state="failed", error="boom")
    r = api.post("/api/v1/events/evt-1/retry")
    assert r.status_code == 202 and r.json()["state"] == "accepted" and r.json()["error"] == ""


def test_click_to_call_creates_outbound_event(api, tenant):
    from statusmapping.services import agent_create

    agent_create(tenant=tenant, email="agent1@example.com")  # click-to-call is for the tenant's agents
    r = api.post("/api/v1/click-to-call", {"agent_email": "agent1@example.com", "phone": "415 555 0199",
                                           "kustomer_customer_id": "a" * 24}, format="json")
    assert r.status_code == 201, r.content
    event = Event.objects.get(tenant=tenant, event_id=r.json()["event_id"])
    assert event.type == "call.outbound_started" and event.session_id == r.json()["session_id"]
    assert event.payload["end_user"]["phone"] == "+14155550199"
    assert event.payload["data"]["kustomer_customer_id"] == "a" * 24


def test_click_to_call_validation(api):
    r = api.post("/api/v1/click-to-call", {"agent_email": "x", "phone": "1"}, format="json")
    assert r.status_code == 400
    assert {"agent_email", "phone"} <= set(r.json()["errors"])


def test_events_page_lists_filters_and_retries(admin_client, tenant, api):
    post(api, body())
    post(api, body(id="evt-2"))
    Event.objects.filter(event_id="evt-2").update(state="failed", error="Kustomer said no")
    page = admin_client.get("/sync/events/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "evt-1" in html and "evt-2" in html and "Kustomer said no" in html
    filtered = admin_client.get("/sync/events/?state=failed").content.decode()
    assert "evt-2" in filtered and 'data-event-id="evt-1"' not in filtered
    failed = Event.objects.get(event_id="evt-2")
    r = admin_client.post(f"/sync/events/{failed.pk}/retry/", follow=True)
    assert "queued again" in r.content.decode()
    failed.refresh_from_db()
    assert failed.state == "accepted"


def test_events_page_hides_other_tenants(admin_client, other_tenant):
    other = api_client_with_scopes(other_tenant, "events:write")
    post(other, body(id="globex-evt"))
    assert "globex-evt" not in admin_client.get("/sync/events/").content.decode()
    event = Event.objects.get(event_id="globex-evt")
    assert admin_client.get(f"/sync/events/{event.pk}/").status_code == 404
    assert admin_client.post(f"/sync/events/{event.pk}/retry/").status_code == 404


def test_reused_session_id_of_another_customer_is_refused_and_nothing_is_stored(api, tenant):
    """A session id names one call, chat or voicemail of one customer: a second caller's
    event with the first caller's session id would be written onto the first caller's
    conversation. It is a 409 naming session.id, and nothing is stored."""
    assert post(api, body()).status_code == 202
    other_caller = body(id="evt-2", end_user={"phone": "+14155550999", "name": "Bo Chen"})
    response = post(api, other_caller)
    assert response.status_code == 409
    assert list(response.json()["errors"]) == ["session.id"]
    assert "already belongs to another customer" in response.json()["detail"]
    assert not Event.objects.filter(tenant=tenant, event_id="evt-2").exists()
    # The same customer's next event of the session, and the first event repeated, are fine.
    assert post(api, body(id="evt-3", type="session.ended", end_user={"phone": "+14155550123"},
                          data={"duration_seconds": 30})).status_code == 202
    assert post(api, body()).status_code == 200
