"""Reads of the CCAI Platform endpoint."""
from __future__ import annotations

from typing import Any

from ccaip.models import Delivery, Endpoint
from conversations import selectors as conversation_selectors
from core.errors import NotFoundError
from tenants.models import Tenant


def endpoint_for_tenant(*, tenant: Tenant) -> Endpoint | None:
    return Endpoint.objects.filter(tenant=tenant).first()


def _summary(body: dict[str, Any]) -> dict[str, Any]:
    from ccaip import rules

    item = rules.session_fields(body)
    parts = [f"{p.kind or '?'}{' ' + p.agent_id if p.agent_id else ''}: {p.status}" for p in rules.participants(item)]
    return {"state": item.get("state") or "", "participants": parts}


def deliveries_recent(*, tenant: Tenant, limit: int = 50) -> list[dict[str, Any]]:
    """The tenant's latest deliveries with what each became: the product events it
    recorded (with their sync state), notes, and whether its session waits."""
    rows = []
    for delivery in Delivery.objects.filter(tenant=tenant).select_related("session").order_by(
            "-received_at", "-pk")[:limit]:
        translation = delivery.translation or {}
        events = []
        for event_id in translation.get("recorded") or []:
            try:
                event = conversation_selectors.event_get(tenant=tenant, event_id=event_id)
            except NotFoundError:
                events.append({"id": event_id, "type": "", "state": "missing", "pk": None})
                continue
            events.append({"id": event_id, "type": event.type, "state": event.state, "pk": event.pk})
        rows.append({"delivery": delivery, "session": delivery.session, "events": events,
                     "notes": translation.get("notes") or [], "waiting": translation.get("waiting") or "",
                     "with": translation.get("with") or "",
                     **_summary(delivery.body)})
    return rows
