"""Sync › Events and GET /api/v1/events: search (event id, session id, phone in any
format, Kustomer ids), filters (state, type, time range), sort and pages; the detail
page shows the body as JSON, the plan with results and the attempts."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from conversations.models import Event, EventAction
from integrations.models import KustomerConnection
from core.crypto import encrypt_secret

pytestmark = pytest.mark.django_db

BASE = timezone.now().replace(microsecond=0) - timedelta(days=1)


def make_events(tenant, n: int = 120) -> list[Event]:
    """n events, one a minute from BASE: every 3rd failed, every 5th a chat, each with
    its own session and phone; Kustomer ids on the done ones."""
    rows = []
    for i in range(n):
        state = Event.State.FAILED if i % 3 == 0 else Event.State.DONE
        rows.append(Event(
            tenant=tenant, event_id=f"evt-{i:04d}", type="session.started" if i % 5 == 0 else "call.answered",
            occurred_at=BASE + timedelta(minutes=i), received_at=BASE + timedelta(minutes=i),
            session_id=f"s-{i:04d}", customer_key=f"+1415555{i:04d}", raw_body=json.dumps({"id": f"evt-{i:04d}"}),
            body_hash=str(i), payload={}, state=state, attempts=1 + i % 4,
            kustomer_customer_id=f"{i:024x}" if state == Event.State.DONE else "",
            kustomer_conversation_id=f"{i + 5000:024x}" if state == Event.State.DONE else "",
        ))
    return Event.objects.bulk_create(rows)


def ids(answer) -> list[str]:
    return [e["id"] for e in answer.json()["results"]]


def test_api_pages_newest_first(tenant, api):
    make_events(tenant, 120)
    first = api.get("/api/v1/events")
    assert first.status_code == 200, first.content
    body = first.json()
    assert body["count"] == 120 and body["pages"] == 3 and body["page"] == 1 and body["page_size"] == 50
    assert body["results"][0]["id"] == "evt-0119" and len(body["results"]) == 50
    assert body["previous"] is None
    second = api.get(body["next"])
    assert ids(second)[0] == "evt-0069"
    last = api.get("/api/v1/events", {"page": 3})
    assert ids(last)[-1] == "evt-0000" and last.json()["next"] is None
    assert api.get("/api/v1/events", {"page": 4}).status_code == 404
    assert len(ids(api.get("/api/v1/events", {"page_size": 7}))) == 7


def test_api_search_by_every_kind_of_id(tenant, api):
    make_events(tenant, 30)
    assert ids(api.get("/api/v1/events", {"q": "evt-0007"})) == ["evt-0007"]
    assert ids(api.get("/api/v1/events", {"q": "s-0011"})) == ["evt-0011"]
    # The phone as a person types it, without the country code (tenant region US).
    assert ids(api.get("/api/v1/events", {"q": "(415) 555-0013"})) == ["evt-0013"]
    assert ids(api.get("/api/v1/events", {"q": "+1 415-555-0013"})) == ["evt-0013"]
    assert ids(api.get("/api/v1/events", {"q": f"{14:024x}"})) == ["evt-0014"]
    assert ids(api.get("/api/v1/events", {"q": f"{14 + 5000:024x}"})) == ["evt-0014"]
    assert ids(api.get("/api/v1/events", {"q": "nothing-like-it"})) == []


def test_api_filters_and_sort(tenant, api):
    make_events(tenant, 30)
    failed = api.get("/api/v1/events", {"state": "failed", "page_size": 100}).json()
    assert failed["count"] == 10 and all(e["state"] == "failed" for e in failed["results"])
    chats = api.get("/api/v1/events", {"type": "session.started", "state": "failed"}).json()
    assert [e["id"] for e in chats["results"]] == ["evt-0015", "evt-0000"]
    window = api.get("/api/v1/events", {"since": (BASE + timedelta(minutes=10)).isoformat(),
                                        "until": (BASE + timedelta(minutes=12)).isoformat()})
    assert ids(window) == ["evt-0012", "evt-0011", "evt-0010"]
    oldest = api.get("/api/v1/events", {"sort": "received", "page_size": 2})
    assert ids(oldest) == ["evt-0000", "evt-0001"]
    most_tried = api.get("/api/v1/events", {"sort": "-attempts", "page_size": 1}).json()["results"][0]
    assert most_tried["attempts"] == 4


def test_api_refuses_bad_filters_by_name(tenant, api):
    answer = api.get("/api/v1/events", {"state": "sleeping", "since": "yesterday", "sort": "colour"})
    assert answer.status_code == 400
    assert set(answer.json()["errors"]) == {"state", "since", "sort"}
    # An offset PostgreSQL cannot hold, a year before any event (found by schemathesis).
    odd = api.get("/api/v1/events", {"since": "0214-10-07T16:33:48+20:27"})
    assert odd.status_code == 200 and odd.json()["count"] == 0
    before_time = api.get("/api/v1/events", {"until": "0001-01-01T00:00:00+01:00"})
    assert before_time.status_code == 400 and set(before_time.json()["errors"]) == {"until"}
    backwards = api.get("/api/v1/events", {"since": BASE.isoformat(), "until": (BASE - timedelta(hours=1)).isoformat()})
    assert backwards.status_code == 400 and "until" in backwards.json()["errors"]


def test_api_lists_only_the_tenants_own_events(tenant, other_tenant, api):
    make_events(other_tenant, 5)
    assert api.get("/api/v1/events").json()["count"] == 0


def test_page_paginates_searches_and_links_kustomer(admin_client, tenant):
    make_events(tenant, 120)
    KustomerConnection.objects.create(tenant=tenant, base_url="https://acme.api.kustomerapp.com",
                                      api_key_encrypted=encrypt_secret("k" * 20))
    first = admin_client.get("/sync/events/").content.decode()
    second = admin_client.get("/sync/events/?page=2").content.decode()
    assert 'data-event-id="evt-0119"' in first and 'data-event-id="evt-0119"' not in second
    assert 'data-event-id="evt-0069"' in second
    assert "Events 51–100 of 120" in second
    found = admin_client.get("/sync/events/", {"q": "415.555.0014"}).content.decode()
    assert found.count("data-event-id=") == 1 and 'data-event-id="evt-0014"' in found
    customer, conversation = f"{14:024x}", f"{14 + 5000:024x}"
    assert f'href="https://acme.kustomerapp.com/app/customers/{customer}"' in found
    assert f'href="https://acme.kustomerapp.com/app/customers/{customer}/event/{conversation}"' in found
    filtered = admin_client.get("/sync/events/", {"state": "failed", "type": "session.started"}).content.decode()
    assert filtered.count("data-event-id=") == 8  # 0, 15, ..., 105
    # Paging keeps the filters.
    many = admin_client.get("/sync/events/", {"state": "done"}).content.decode()
    assert "state=done&amp;page=2" in many


def test_detail_shows_body_plan_results_and_attempts(admin_client, tenant):
    event = make_events(tenant, 1)[0]
    Event.objects.filter(pk=event.pk).update(
        raw_body='{"id":"evt-0000","session":{"id":"s-0000"}}', state=Event.State.ACCEPTED, attempts=2,
        next_attempt_at=timezone.now() + timedelta(seconds=30),
        attempt_log=[{"attempt": 1, "outcome": "retry", "error": "Kustomer 503", "started_at": BASE.isoformat(),
                      "ended_at": BASE.isoformat(), "next_attempt_at": (BASE + timedelta(seconds=2)).isoformat()}])
    EventAction.objects.create(event=event, index=0, kind="use_customer", rule="R-C1", state="done",
                               result={"customer_id": "c" * 24}, attempts=1, done_at=timezone.now())
    page = admin_client.get(f"/sync/events/{event.pk}/").content.decode()
    assert '{\n  &quot;id&quot;: &quot;evt-0000&quot;,\n  &quot;session&quot;: {' in page
    assert "use_customer" in page and "&quot;customer_id&quot;: &quot;" + "c" * 24 in page
    assert "R-C1" not in page  # rule codes stay out of the pages
    assert "Kustomer 503" in page and "will retry" in page
    assert 'data-testid="next-attempt">' + (timezone.now() + timedelta(seconds=30)).strftime("%Y-%m-%d") in page


def test_the_schema_describes_the_list_and_its_filters(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    get = schema["paths"]["/api/v1/events"]["get"]
    assert {p["name"] for p in get["parameters"]} >= {"q", "state", "type", "since", "until", "sort", "page", "page_size"}
    ok = get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(schema["components"]["schemas"][ok]["properties"]) == {
        "count", "page", "pages", "page_size", "next", "previous", "results"}
