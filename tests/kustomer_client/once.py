"""Find-or-create as the executor composes it (conversations/services/actions.py): the
client's look-up and create, joined by ``integrations.kustomer.client.find_or_create``."""
from __future__ import annotations

from integrations.kustomer.client import find_or_create


def customer_once(kc, *, external_id: str, **fields):
    return find_or_create(lambda: kc.get_customer_by_external_id(external_id=external_id),
                          lambda: kc.create_customer(external_id=external_id, **fields))


def conversation_once(kc, *, customer_id: str, external_id: str, **fields):
    return find_or_create(lambda: kc.get_conversation_by_external_id(external_id=external_id),
                          lambda: kc.create_conversation(customer_id=customer_id, external_id=external_id, **fields))


def message_once(kc, *, conversation_id: str, external_id: str, **fields):
    return find_or_create(
        lambda: kc.find_conversation_message(conversation_id=conversation_id, external_id=external_id),
        lambda: kc.create_message(conversation_id=conversation_id, external_id=external_id, **fields))


def note_once(kc, *, conversation_id: str, external_id: str, **fields):
    return find_or_create(
        lambda: kc.find_conversation_note(conversation_id=conversation_id, external_id=external_id),
        lambda: kc.create_note(conversation_id=conversation_id, external_id=external_id, **fields))
