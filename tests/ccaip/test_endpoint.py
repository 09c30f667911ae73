"""The inbound endpoint (docs/api.md `POST /api/v1/ccai-platform/{endpoint_id}/calls|chats`):
basic auth (401 and nothing stored otherwise), each event object stored once by
event_id, the translation recorded in the product's inbox; the portal page."""
from __future__ import annotations

import base64
import random
from datetime import datetime, timezone

import pytest
from rest_framework.test import APIClient

from ccaip import services
from ccaip.models import Delivery, Session
from conversations.models import Event
from loadtest import ccaip_format as fmt

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 12, 1, 22, 0, tzinfo=timezone.utc)
ANN, BO = fmt.Agent("15", "Ann Agent"), fmt.Agent("22", "Bo Agent")
QUEUE = ["Billing", "Refunds"]


@pytest.fixture
def endpoint(tenant):
    endpoint, password = services.endpoint_credentials_set(tenant=tenant, username="ccaip-acme")
    services.endpoint_agent_emails_set(tenant=tenant, text="15 = ann@example.com\n22 = bo@example.com")
    endpoint.refresh_from_db()
    return endpoint, password


def client_for(username: str, password: str) -> APIClient:
    client = APIClient()
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    client.credentials(HTTP_AUTHORIZATION=f"Basic {token}")
    return client


def post(client, endpoint, events, channel="calls"):
    return client.post(f"/api/v1/ccai-platform/{endpoint.public_id}/{channel}", fmt.delivery(events), format="json")


def call(call_id="88412"):
    return fmt.answered_session(call_id=call_id, dn="(415) 555-0123", start=T0, agent=ANN, queue_path_names=QUEUE)


@pytest.mark.parametrize("auth", ["wrong-password", "wrong-user", "none", "other-endpoint"])
def test_wrong_credentials_answer_401_and_store_nothing(endpoint, other_tenant, auth):
    ep, password = endpoint
    other, other_password = services.endpoint_credentials_set(tenant=other_tenant, username="ccaip-globex")
    client = {"wrong-password": client_for("ccaip-acme", password + "x"),
              "wrong-user": client_for("ccaip-acmE", password),
              "none": APIClient(),
              "other-endpoint": client_for("ccaip-globex", other_password)}[auth]
    r = post(client, ep, call())
    assert r.status_code == 401, r.content
    assert r["WWW-Authenticate"].startswith("Basic")
    assert Delivery.objects.count() == 0 and Event.objects.count() == 0 and Session.objects.count() == 0


def test_full_call_in_one_delivery_records_the_product_events(endpoint, tenant):
    ep, password = endpoint
    r = post(client_for("ccaip-acme", password), ep, call())
    assert r.status_code == 200, r.content
    assert r.json() == {"accepted": 6, "duplicates": 0, "recorded": [
        "ccaip-call-88412-answered", "ccaip-call-88412-ended", "ccaip-call-88412-disposition"]}
    events = {e.event_id: e for e in Event.objects.filter(tenant=tenant)}
    answered = events["ccaip-call-88412-answered"]
    assert answered.type == "call.answered" and answered.session_id == "ccaip-call-88412"
    assert answered.customer_key == "+14155550123"
    assert answered.payload["agent"] == {"email": "ann@example.com"}
    assert answered.payload["session"]["menu"] == "Billing > Refunds"
    assert events["ccaip-call-88412-ended"].payload["data"] == {"duration_seconds": 119}
    assert events["ccaip-call-88412-disposition"].payload["data"] == {
        "code": "Resolved", "custom_code_id": "7", "note": "Refund issued"}
    assert Delivery.objects.filter(tenant=tenant).count() == 6


def test_repeats_and_shuffles_store_each_event_once_and_record_nothing_twice(endpoint, tenant):
    ep, password = endpoint
    client = client_for("ccaip-acme", password)
    events = fmt.transferred_session(call_id="c-7", dn="+14155550199", start=T0, first=ANN, second=BO,
                                     queue_path_names=QUEUE)
    deliveries = events + random.Random(3).sample(events, k=4)
    random.Random(5).shuffle(deliveries)
    repeats = 0
    for e in deliveries:
        r = post(client, ep, [e])
        assert r.status_code == 200, r.content
        repeats += r.json()["duplicates"]
    assert repeats == 4 and Delivery.objects.filter(tenant=tenant).count() == len(events)
    ids = set(Event.objects.filter(tenant=tenant).values_list("event_id", flat=True))
    assert ids == {"ccaip-call-c-7-answered", "ccaip-call-c-7-transfer-22-1", "ccaip-call-c-7-ended",
                   "ccaip-call-c-7-disposition"}
    assert Delivery.objects.get(event_id=deliveries[-1]["event_id"]).repeats >= 0


def test_late_end_waits_for_the_agent_and_settles_as_abandoned(endpoint, tenant, settings):
    settings.CCAIP_SETTLE_SECONDS = 3600
    ep, password = endpoint
    ended = call("late-1")[4]  # "ended": an agent on it, none seen connected
    r = post(client_for("ccaip-acme", password), ep, [ended])
    assert r.json()["recorded"] == []
    session = Session.objects.get(call_id="late-1")
    assert session.waiting == "agent_evidence" and session.settle_at is not None
    assert services.session_settle(session_pk=session.pk) == []  # not due yet
    assert services.session_settle(session_pk=session.pk, force=True) == ["ccaip-call-late-1-abandoned"]
    assert Event.objects.get(event_id="ccaip-call-late-1-abandoned").type == "call.abandoned"
    session.refresh_from_db()
    assert session.waiting == "" and session.settle_at is None


def test_chat_url_makes_chat_sessions(endpoint, tenant):
    ep, password = endpoint
    r = post(client_for("ccaip-acme", password), ep, call("chat-1")[:2], channel="chats")
    assert r.json()["recorded"] == ["ccaip-chat-chat-1-started"]
    event = Event.objects.get(event_id="ccaip-chat-chat-1-started")
    assert event.type == "session.started" and event.payload["session"]["channel"] == "chat"


@pytest.mark.parametrize("mangle, field", [
    (lambda e: e.update(event_id="not-a-uuid"), "events.0.event_id"),
    (lambda e: e.update(timestamp="yesterday"), "events.0.timestamp"),
    (lambda e: e["item"].pop("call_id"), "events.0.item.call_id"),
])
def test_malformed_delivery_is_refused_whole(endpoint, mangle, field):
    ep, password = endpoint
    events = call()[:2]
    mangle(events[0])
    r = post(client_for("ccaip-acme", password), ep, events)
    assert r.status_code == 400 and field in r.json()["errors"], r.content
    assert Delivery.objects.count() == 0


def test_a_new_password_replaces_the_old_one(endpoint, tenant):
    ep, old = endpoint
    _, new = services.endpoint_credentials_set(tenant=tenant, username="ccaip-acme")
    assert post(client_for("ccaip-acme", old), ep, call()[:1]).status_code == 401
    assert post(client_for("ccaip-acme", new), ep, call()[:1]).status_code == 200
    ep.refresh_from_db()
    assert new not in ep.password_hash and len(ep.password_hash) == 64


def test_page_shows_the_password_once_and_the_deliveries_with_their_translation(admin_client, tenant):
    page = admin_client.get("/settings/ccai-platform/")
    assert page.status_code == 200 and b"Create endpoint and password" in page.content
    r = admin_client.post("/settings/ccai-platform/credentials/", {"username": "ccaip-acme"})
    assert r.status_code == 302
    shown = admin_client.get("/settings/ccai-platform/").content.decode()
    ep = services.Endpoint.objects.get(tenant=tenant)
    password = shown.split('data-testid="password">')[1].split("<")[0]
    assert f"/api/v1/ccai-platform/{ep.public_id}/calls" in shown and f"/{ep.public_id}/chats" in shown
    assert password not in admin_client.get("/settings/ccai-platform/").content.decode()  # shown once
    r = admin_client.post("/settings/ccai-platform/", {"agent_emails": "15 = ann@example.com"})
    assert r.status_code == 302
    assert post(client_for("ccaip-acme", password), ep, call()).status_code == 200
    page = admin_client.get("/settings/ccai-platform/").content.decode()
    assert "call.answered" in page and "disposition.submitted" in page and "agent 15: connected" in page
    bad = admin_client.post("/settings/ccai-platform/", {"agent_emails": "15 ann"})
    assert bad.status_code == 200 and "line 1" in bad.content.decode()


def test_page_lists_only_the_tenants_own_deliveries(client, endpoint, other_tenant):
    from tests.tenants.factories import UserFactory

    ep, password = endpoint
    post(client_for("ccaip-acme", password), ep, call())
    client.force_login(UserFactory(username="globex-admin", tenant=other_tenant))
    page = client.get("/settings/ccai-platform/").content.decode()
    assert "No deliveries yet." in page and "88412" not in page


def test_openapi_schema_describes_the_endpoint(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    assert "/api/v1/ccai-platform/{endpoint_id}/calls" in schema
    assert "/api/v1/ccai-platform/{endpoint_id}/chats" in schema


def test_a_viewer_sees_the_page_but_cannot_set_credentials(client, tenant):
    from tenants.models import User
    from tests.tenants.factories import UserFactory

    client.force_login(UserFactory(username="acme-viewer", tenant=tenant, role=User.Role.VIEWER))
    assert client.get("/settings/ccai-platform/").status_code == 200
    assert client.post("/settings/ccai-platform/credentials/", {"username": "x"}).status_code == 403
    assert not services.Endpoint.objects.filter(tenant=tenant).exists()


def test_old_sessions_are_purged_after_the_retention_and_a_very_late_delivery_records_nothing_twice(endpoint, tenant):
    from datetime import timedelta

    from django.utils import timezone

    ep, password = endpoint
    client = client_for("ccaip-acme", password)
    events = call("old-1")
    post(client, ep, events[:4])
    Session.objects.filter(call_id="old-1").update(updated_at=timezone.now() - timedelta(days=29))
    assert services.sessions_purge() == 0  # never under 30 days
    Session.objects.filter(call_id="old-1").update(updated_at=timezone.now() - timedelta(days=91))
    assert services.sessions_purge() > 0
    assert not Delivery.objects.filter(session__call_id="old-1").exists()
    # The product still knows the answered call; a straggler changes nothing twice.
    before = Event.objects.filter(tenant=tenant).count()
    events[5]["item"]["queue_path_names"] = ["Sales"]  # a different body for the same transitions
    r = post(client, ep, [events[5]])
    assert r.status_code == 200, r.content
    assert Event.objects.filter(tenant=tenant).count() == before + 2  # only ended and the disposition are new
    assert Event.objects.filter(tenant=tenant, event_id="ccaip-call-old-1-answered").count() == 1
