"""Search (POST /v1/customers/search) over pages, the message externalid look-up, event
times on messages and notes, and a key without a role: against the sandbox."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from integrations.kustomer.client import KustomerClient
from integrations.kustomer.errors import KustomerAuthError
from integrations.kustomer.types import format_datetime

EVENT_TIME = datetime(2026, 11, 23, 10, 0, 5, 250000, tzinfo=timezone.utc)


def make_client(org, api_key=None) -> KustomerClient:
    return KustomerClient(base_url=org.base_url, api_key=api_key or org.api_key, org_key=org.org_id, timeout=5.0)


@pytest.fixture
def kc(sandbox_org):
    with make_client(sandbox_org) as c:
        yield c


def test_search_customer_conversations_pages_newest_update_first(sandbox_org, kc):
    customer = kc.create_customer(name="Many")
    made = [kc.create_conversation(customer_id=customer.id, name=f"c{i}", extra={"importedAt": "2026-11-01T00:00:00.000Z"})
            for i in range(7)]
    kc.update_conversation(conversation_id=made[0].id, status="snoozed")  # now the most recently updated
    other = kc.create_customer(name="Other")
    kc.create_conversation(customer_id=other.id, name="not theirs")

    found = list(kc.search_customer_conversations(customer_id=customer.id, page_size=3))
    snoozed = list(kc.search_customer_conversations(customer_id=customer.id, statuses=["snoozed"]))

    assert sorted(c.id for c in found) == sorted(c.id for c in made)
    assert found[0].id == made[0].id
    assert [c.updated_at for c in found] == sorted((c.updated_at for c in found), reverse=True)
    assert [c.id for c in snoozed] == [made[0].id]
    assert len(sandbox_org.requests(method="POST", path_contains="/v1/customers/search")) == 3 + 1


def test_message_by_external_id_is_found(kc):
    customer = kc.create_customer(name="Ann")
    conversation = kc.create_conversation(customer_id=customer.id)
    message = kc.create_message(conversation_id=conversation.id, channel="voice", app="ccaip", external_id="x-1")

    assert kc.find_conversation_message(conversation_id=conversation.id, external_id="x-1").id == message.id
    assert kc.find_conversation_message(conversation_id=conversation.id, external_id="x-2") is None


def test_messages_carry_sent_at_and_admin_keys_give_notes_their_time(sandbox_org, kc):
    customer = kc.create_customer(name="Ann")
    conversation = kc.create_conversation(customer_id=customer.id)
    message = kc.create_message(conversation_id=conversation.id, channel="voice", app="ccaip", sent_at=EVENT_TIME)
    note = kc.create_note(conversation_id=conversation.id, body="wrap-up", created_at=EVENT_TIME)
    with make_client(sandbox_org, sandbox_org.add_api_key(["org.permission.note.create"])) as plain:
        plain_note = plain.create_note(conversation_id=conversation.id, body="wrap-up", created_at=EVENT_TIME)

    assert message.raw["attributes"]["sentAt"] == "2026-11-23T10:00:05.250Z" == format_datetime(EVENT_TIME)
    assert note.raw["attributes"]["createdAt"] == "2026-11-23T10:00:05.250Z"  # the fixture's key holds org.admin
    assert plain_note.raw["attributes"]["createdAt"] != "2026-11-23T10:00:05.250Z"  # Kustomer stamps it


def test_a_key_without_the_role_is_refused_with_the_roles_named(sandbox_org):
    with make_client(sandbox_org, sandbox_org.add_api_key(["org.permission.customer.read"])) as reader:
        with pytest.raises(KustomerAuthError) as refused:
            reader.create_customer(name="Ann")

    assert refused.value.status == 403
    assert "org.permission.customer.create" in f"{refused.value.body} {refused.value.message}"
