"""Reads of the conversation sync."""
from __future__ import annotations

from django.db.models import QuerySet

from conversations.models import Event
from core.errors import NotFoundError
from tenants.models import Tenant


def event_get(*, tenant: Tenant, event_id: str) -> Event:
    """The tenant's event by its contact-center id; 404 for another tenant's (R-A1)."""
    event = Event.objects.filter(tenant=tenant, event_id=event_id).first()
    if event is None:
        raise NotFoundError("No such event.")
    return event


def event_get_by_pk(*, tenant: Tenant, pk: int) -> Event:
    event = Event.objects.filter(tenant=tenant, pk=pk).first()
    if event is None:
        raise NotFoundError("No such event.")
    return event


def events_recent(*, tenant: Tenant, state: str | None = None, limit: int = 100) -> QuerySet[Event]:
    qs = Event.objects.filter(tenant=tenant).order_by("-received_at", "-pk")
    if state:
        qs = qs.filter(state=state)
    return qs[:limit]


def event_kustomer_ids(event: Event) -> dict:
    ids = dict(event.kustomer_ids or {})
    return {
        "customer_id": event.kustomer_customer_id or ids.get("customer_id") or None,
        "conversation_id": event.kustomer_conversation_id or ids.get("conversation_id") or None,
        "message_ids": ids.get("message_ids", []),
        "note_ids": ids.get("note_ids", []),
        "attachment_ids": ids.get("attachment_ids", []),
        "assigned_user_id": ids.get("assigned_user_id"),
    }
