"""Placement finds the right conversation however many the customer has (more than one
page of Kustomer's list): every open or snoozed one comes from Kustomer's search, the
most recent by update time until certain. End to end: API, worker, sandbox."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.conversations.e2e_helpers import apply, event

pytestmark = pytest.mark.e2e
OLDER_CONVERSATIONS = 120  # the customer's newer conversations push ours off page 1


def _control(e2e, conversation_id: str, action: str) -> None:
    response = e2e.sandbox.session().post(
        f"{e2e.sandbox.base_url}/__sandbox/orgs/{e2e.sandbox.org_id}/conversations/{conversation_id}/{action}", json={})
    assert response.status_code == 200, response.text


def _bury_under_newer_conversations(e2e, customer_id: str) -> None:
    """Agents and other integrations gave the customer many newer (done) conversations;
    no webhook tells the product (the mirror is not trusted, Kustomer is asked)."""
    from conversations.models import WebhookSubscription

    with e2e.sandbox.server.state.lock:
        e2e.sandbox.org.webhooks.clear()
    WebhookSubscription.objects.filter(tenant=e2e.tenant).update(last_delivery_at=None)
    api = e2e.sandbox.session()
    url = f"{e2e.sandbox.base_url}/v1/customers/{customer_id}/conversations"
    for i in range(OLDER_CONVERSATIONS):
        made = api.post(url, json={"name": f"older {i}", "status": "done", "importedAt": "2026-11-01T00:00:00.000Z"})
        assert made.status_code == 201, made.text
    listed = api.get(url, params={"pageSize": 100}).json()
    assert listed["links"]["next"] and len(listed["data"]) == 100


def _a_minute_passes(e2e) -> None:
    from conversations.models import SyncedConversation

    SyncedConversation.objects.filter(tenant=e2e.tenant).update(
        status_synced_at=timezone.now() - timedelta(minutes=2))


def test_a_conversation_closed_in_kustomer_off_the_first_page_is_not_joined(e2e):
    first = apply(e2e, event("call.answered", "many-1", agent=None))
    conv_id, customer_id = first["kustomer"]["conversation_id"], first["kustomer"]["customer_id"]
    _control(e2e, conv_id, "close")
    _bury_under_newer_conversations(e2e, customer_id)
    _a_minute_passes(e2e)

    second = apply(e2e, event("call.answered", "many-2", agent=None))

    assert second["kustomer"]["conversation_id"] != conv_id  # R-U1: open means open in Kustomer now
    assert e2e.sandbox.requests(method="POST", path_contains="/v1/customers/search")


def test_a_conversation_reopened_in_kustomer_off_the_first_page_is_joined(e2e):
    from conversations.models import SyncedConversation

    first = apply(e2e, event("call.answered", "many-3", agent=None))
    conv_id, customer_id = first["kustomer"]["conversation_id"], first["kustomer"]["customer_id"]
    SyncedConversation.objects.filter(kustomer_conversation_id=conv_id).update(status="done")  # as last seen
    _bury_under_newer_conversations(e2e, customer_id)
    _control(e2e, conv_id, "reopen")
    _a_minute_passes(e2e)

    second = apply(e2e, event("call.answered", "many-4", agent=None))

    assert second["kustomer"]["conversation_id"] == conv_id  # R-U1 joins the open one
    assert len([c for c in e2e.sandbox.conversations()
                if c["relationships"]["customer"]["data"]["id"] == customer_id]) == OLDER_CONVERSATIONS + 1


def test_outbound_joins_the_most_recent_conversation_found_by_update_time(e2e):
    """R-U2 with more than a page: the most recently created conversation (open) is
    found by reading the search by update time only until it is certain."""
    first = apply(e2e, event("call.answered", "many-5", agent=None))
    customer_id = first["kustomer"]["customer_id"]
    _control(e2e, first["kustomer"]["conversation_id"], "close")
    _bury_under_newer_conversations(e2e, customer_id)
    api = e2e.sandbox.session()
    newest = api.post(f"{e2e.sandbox.base_url}/v1/customers/{customer_id}/conversations",
                      json={"name": "agent opened", "importedAt": "2026-11-01T00:00:00.000Z"}).json()["data"]
    _a_minute_passes(e2e)

    outbound = apply(e2e, event("call.outbound_started", "many-6", source="outbound", menu=None, agent=None))

    assert outbound["kustomer"]["conversation_id"] == newest["id"]
    searches = e2e.sandbox.requests(method="POST", path_contains="/v1/customers/search")
    assert 2 <= len(searches) <= 3  # open/snoozed, then by update time: a page or two, not all
