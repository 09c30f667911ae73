"""One writer of Kustomer metadata (integrations.metadata): tenant set-up and custom
fields both read, merge and write under the tenant's metadata lock, so neither erases
what an admin or the other made, even if Kustomer's PUT replaces the klass's
properties (its docs leave that open; the sandbox can be told to)."""
from __future__ import annotations

import threading

import pytest
from django.db import connection

from conversations import rules
from core.crypto import encrypt_secret
from customfields.models import CustomField
from integrations.metadata import kustomer_metadata_merge
from integrations.models import KustomerConnection
from integrations.services import kustomer_client_for


def properties(sandbox_org, klass: str) -> dict:
    response = sandbox_org.session().get(f"{sandbox_org.base_url}/v1/metadata/{klass}", timeout=5)
    assert response.status_code == 200, response.text
    return response.json()["data"]["attributes"]["properties"]


def admin_makes(sandbox_org, klass: str, props: dict) -> None:
    response = sandbox_org.session().put(f"{sandbox_org.base_url}/v1/metadata/{klass}", json={"properties": props},
                                         timeout=5)
    assert response.status_code == 200, response.text


def connect(tenant, sandbox_org) -> KustomerConnection:
    return KustomerConnection.objects.create(
        tenant=tenant, base_url=sandbox_org.base_url, api_key_encrypted=encrypt_secret(sandbox_org.api_key),
        verify_state=KustomerConnection.VerifyState.OK,
    )


EVENT = {
    "id": "evt-first", "type": "call.answered", "occurred_at": "2026-11-23T10:00:00Z",
    "session": {"id": "s-first", "channel": "voice", "source": "ivr", "menu": "Billing", "queue": "Billing",
                "language": "en", "recording_enabled": False},
    "end_user": {"phone": "+14155550123", "name": "Ann Lee"}, "agent": {"email": "agent1@example.com"}, "data": {},
}


@pytest.mark.django_db
def test_metadata_writers_admin_attributes_survive_a_tenants_first_event(tenant, sandbox_org, api,
                                                                        django_capture_on_commit_callbacks):
    sandbox_org.org.metadata_put_replaces = True  # the harsher reading of Kustomer's PUT
    admin_makes(sandbox_org, "conversation", {"priorityLevelStr": {"displayName": "Priority level"}})
    admin_makes(sandbox_org, "customer", {"loyaltyTierStr": {"displayName": "Loyalty tier"}})
    connect(tenant, sandbox_org)

    with django_capture_on_commit_callbacks(execute=True):
        assert api.post("/api/v1/events", EVENT, format="json").status_code == 202
    assert api.get("/api/v1/events/evt-first").json()["state"] == "done"

    conversation = properties(sandbox_org, "conversation")
    assert "priorityLevelStr" in conversation
    assert set(rules.CONVERSATION_ATTRIBUTES) <= set(conversation)
    customer = properties(sandbox_org, "customer")
    assert "loyaltyTierStr" in customer and set(rules.CUSTOMER_ATTRIBUTES) <= set(customer)


@pytest.mark.django_db
def test_metadata_writers_a_custom_field_keeps_the_products_own_attributes(tenant, sandbox_org, api,
                                                                         django_capture_on_commit_callbacks):
    sandbox_org.org.metadata_put_replaces = True
    connect(tenant, sandbox_org)
    with django_capture_on_commit_callbacks(execute=True):
        api.post("/api/v1/events", EVENT, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post("/api/v1/custom-fields", {"key": "custom_user_id"}, format="json")  # customer klass
    assert created.status_code == 201, created.json()
    field = CustomField.objects.get(pk=created.json()["id"])
    assert field.state == CustomField.State.CREATED, field.error
    customer = properties(sandbox_org, "customer")
    assert field.attribute_name in customer and set(rules.CUSTOMER_ATTRIBUTES) <= set(customer)


@pytest.mark.django_db(transaction=True)
def test_metadata_writers_two_writers_at_once_never_lose_an_attribute(tenant, sandbox_org):
    """Writer A has read the klass and not yet written; writer B (another worker) waits
    for the lock instead of writing in between, and both attributes end up in Kustomer."""
    sandbox_org.org.metadata_put_replaces = True
    connect(tenant, sandbox_org)
    inside, go, b_done = threading.Event(), threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def client():
        return kustomer_client_for(connection=KustomerConnection.objects.get(tenant=tenant))

    def writer_a():
        try:
            def additions(existing):
                inside.set()
                assert go.wait(10)
                return {"fromAStr": {"displayName": "From A"}}
            kustomer_metadata_merge(tenant_id=tenant.pk, client=client(), resource="conversation", additions=additions)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    def writer_b():
        try:
            kustomer_metadata_merge(tenant_id=tenant.pk, client=client(), resource="conversation",
                                    additions=lambda existing: {"fromBStr": {"displayName": "From B"}})
            b_done.set()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    a = threading.Thread(target=writer_a)
    a.start()
    assert inside.wait(10)
    b = threading.Thread(target=writer_b)
    b.start()
    assert not b_done.wait(1.0), "writer B wrote while writer A held the klass between its read and its write"
    go.set()
    a.join(15)
    b.join(15)
    assert not errors, errors
    assert {"fromAStr", "fromBStr"} <= set(properties(sandbox_org, "conversation"))

