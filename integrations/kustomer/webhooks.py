"""Kustomer's outbound webhooks, as they arrive: the signature check and the delivery's
JSON read into dataclasses. Callers never see Kustomer's JSON:API.

A delivery is ``{"id", "name", "createdAt", "data": <JSON:API resource>}``, signed with
``X-Kustomer-Webhook-Signature``: the hex HMAC-SHA256 of the raw body keyed by the token
Kustomer returned when the webhook was created.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.dates import parse_datetime
from core.parsers import JSONBodyError, json_body_loads

__all__ = ["SIGNATURE_HEADER", "EVENT_HEADER", "DeliveryUnreadable", "WebhookEnvelope", "ConversationChange",
           "signature_valid", "delivery_envelope", "conversation_change"]

SIGNATURE_HEADER = "X-Kustomer-Webhook-Signature"
EVENT_HEADER = "X-Kustomer-Webhook-Event"
CONVERSATION_EVENT_PREFIX = "kustomer.conversation."
_ID_MAX = 100


class DeliveryUnreadable(ValueError):
    """The body is not a delivery (not JSON, or no event id); ``field`` names what."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True, slots=True)
class WebhookEnvelope:
    """What every delivery carries: Kustomer's event id (unique per event) and name."""

    event_id: str
    name: str


@dataclass(frozen=True, slots=True)
class ConversationChange:
    """A ``kustomer.conversation.create``/``update`` delivery's conversation."""

    conversation_id: str
    customer_id: str | None
    status: str | None
    external_id: str
    created_at: datetime | None
    updated_at: datetime | None  # the conversation's, else the event's time


def signature_valid(*, token: str, raw_body: bytes, signature: str | None) -> bool:
    """Whether ``signature`` is the body's HMAC under ``token`` (constant-time)."""
    if not signature or not token:
        return False
    expected = hmac.new(token.encode(), raw_body, hashlib.sha256).hexdigest()
    # Bytes: compare_digest raises TypeError on a str with non-ASCII characters (a forged header).
    return hmac.compare_digest(expected.encode(), signature.strip().lower().encode("utf-8", "surrogateescape"))


def delivery_envelope(raw_body: bytes, *, event_name: str = "") -> WebhookEnvelope:
    """The delivery's id and name (``event_name``, the header, when the body has none).
    Raises DeliveryUnreadable."""
    try:
        body = json_body_loads(raw_body)
    except JSONBodyError as exc:
        raise DeliveryUnreadable(str(exc), field="body") from None
    if not isinstance(body, dict) or not body.get("id"):
        raise DeliveryUnreadable("The delivery has no event id.", field="id")
    return WebhookEnvelope(event_id=str(body["id"])[:_ID_MAX], name=str(body.get("name") or event_name)[:_ID_MAX])


def conversation_change(raw_body: str) -> ConversationChange | None:
    """The conversation a stored delivery tells of; None for any other delivery. An
    impossible date (30 February) raises ValueError: the delivery fails visibly."""
    body = json.loads(raw_body)
    data = _mapping(body.get("data"))
    if not str(body.get("name", "")).startswith(CONVERSATION_EVENT_PREFIX) or not data.get("id"):
        return None
    attributes = _mapping(data.get("attributes"))
    customer_ref = _mapping(_mapping(_mapping(data.get("relationships")).get("customer")).get("data"))
    updated = attributes.get("updatedAt") or attributes.get("modifiedAt") or body.get("createdAt")
    status = attributes.get("status")
    customer_id = customer_ref.get("id")
    return ConversationChange(
        conversation_id=str(data["id"]),
        customer_id=str(customer_id) if customer_id else None,
        status=status if isinstance(status, str) else None,
        external_id=str(attributes.get("externalId") or ""),
        created_at=parse_datetime(attributes.get("createdAt")),
        updated_at=parse_datetime(updated, strict=True),
    )


def _mapping(value: Any) -> dict:
    return value if isinstance(value, dict) else {}
