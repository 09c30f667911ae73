"""End to end: the status mirror fed by Kustomer's signed webhooks, and the custom
field values (R-F1, R-F3, R-U8, R-D3) carried by the records we write."""
from __future__ import annotations

from datetime import timedelta

import pytest

from conversations import services
from conversations.models import SyncedConversation, WebhookDelivery
from tests.conversations.e2e_helpers import BASE, apply, event

pytestmark = pytest.mark.e2e


def test_webhook_subscription_mirrors_an_agent_closing_the_conversation(e2e):
    """Subscribed per tenant with the portal's public URL; Kustomer's signed delivery
    of the agent's close reaches us, is stored once and moves the mirror to done; the
    next call then opens a new conversation."""
    subscription = services.webhook_subscription_ensure(tenant=e2e.tenant, public_url=e2e.url)
    assert subscription.active and subscription.kustomer_webhook_id
    [hook] = e2e.sandbox.dump()["webhooks"]
    assert hook["attributes"]["url"].endswith(f"/webhooks/kustomer/{subscription.public_id}")
    first = apply(e2e, event("call.answered", "s-m1", agent=None))
    conv_id = first["kustomer"]["conversation_id"]
    e2e.sandbox.session().post(
        f"{e2e.sandbox.base_url}/__sandbox/orgs/{e2e.sandbox.org_id}/conversations/{conv_id}/close", json={})
    e2e.wait_for(lambda: SyncedConversation.objects.get(kustomer_conversation_id=conv_id).status == "done",
                 timeout=20, what="the mirror to see the close")
    assert WebhookDelivery.objects.filter(subscription=subscription, state="processed").exists()
    ids = list(WebhookDelivery.objects.values_list("kustomer_event_id", flat=True))
    assert len(ids) == len(set(ids))
    second = apply(e2e, event("call.answered", "s-m2", agent=None))
    assert second["kustomer"]["conversation_id"] != conv_id


def test_record_and_account_field_values_only_for_fields_older_than_the_session(e2e):
    """R-F1/R-F3/R-U8/R-D3: the message carries the Record fields created before the
    session started (catalogue Queue name and the SDK field orderId), not one created
    after; the new customer carries the Account field (Custom user ID)."""
    from integrations.kustomer.client import KustomerClient
    from tests.customfields.factories import CustomFieldFactory, SdkFieldFactory

    before, after = BASE - timedelta(days=1), BASE + timedelta(hours=1)
    CustomFieldFactory(tenant=e2e.tenant, catalogue_key="queue_name", created_at=before)
    CustomFieldFactory(tenant=e2e.tenant, catalogue_key="custom_user_id", created_at=before)
    SdkFieldFactory(tenant=e2e.tenant, sdk_key="orderId", created_at=before)
    CustomFieldFactory(tenant=e2e.tenant, catalogue_key="session_id", created_at=after)  # too new (R-F3)
    with KustomerClient(base_url=e2e.sandbox.base_url, api_key=e2e.sandbox.api_key) as client:
        client.put_metadata(resource="message", properties={
            "queueNameStr": {"displayName": "Queue name"}, "orderIdStr": {"displayName": "Order ID"},
            "sessionIdStr": {"displayName": "Session ID"}})
        client.put_metadata(resource="customer", properties={"customUserIdStr": {"displayName": "Custom user ID"}})
    done = apply(e2e, event("session.started", "sdk-f1", phone=None, identifier="app-user-42", channel="chat",
                            source="mobile_sdk", agent=None, data={"custom_data": {"orderId": "A-17"}}))
    [message] = e2e.sandbox.messages(done["kustomer"]["conversation_id"])
    custom = message["attributes"]["custom"]
    assert custom == {"queueNameStr": "Billing", "orderIdStr": "A-17"}
    [cust] = e2e.sandbox.customers()
    assert cust["attributes"]["custom"]["customUserIdStr"] == "app-user-42"
    apply(e2e, event("custom_data.received", "sdk-f1", phone=None, identifier="app-user-42", channel="chat",
                     source="mobile_sdk", agent=None, data={"custom_data": {"orderId": "B-99"}}))
    values = [m["attributes"]["custom"].get("orderIdStr") for m in e2e.sandbox.messages(done["kustomer"]["conversation_id"])]
    assert sorted(values) == ["A-17", "B-99"]  # R-U8
