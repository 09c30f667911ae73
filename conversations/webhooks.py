"""Kustomer's outbound webhook deliveries (CONTRACT.md: `POST /webhooks/kustomer/{id}`).

The id in the path only routes; the delivery is authenticated by
X-Kustomer-Webhook-Signature (HMAC-SHA256 of the raw body keyed by the subscription's
token, compared in constant time). A verified delivery is stored once per Kustomer
event id and processed in a task, so the answer goes out fast.
"""
from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from conversations import services
from conversations.models import WebhookSubscription
from core.errors import ApplicationError
from integrations.kustomer.webhooks import EVENT_HEADER, SIGNATURE_HEADER

MAX_BODY = 512 * 1024


@csrf_exempt
@require_POST
def kustomer_webhook(request: HttpRequest, public_id) -> JsonResponse:
    subscription = WebhookSubscription.objects.filter(public_id=public_id).first()
    if subscription is None:
        return JsonResponse({"detail": "No such webhook.", "errors": {}}, status=404)
    raw = request.body
    if len(raw) > MAX_BODY:
        return JsonResponse({"detail": "Request body too large.", "errors": {}}, status=413)
    signature = request.headers.get(SIGNATURE_HEADER)
    if not services.webhook_signature_valid(subscription=subscription, raw_body=raw, signature=signature):
        return JsonResponse({"detail": "Bad or missing signature.",
                             "errors": {SIGNATURE_HEADER: ["Bad or missing signature."]}}, status=400)
    try:
        delivery, created = services.webhook_delivery_record(
            subscription=subscription, raw_body=raw, event_name=request.headers.get(EVENT_HEADER, ""),
        )
    except ApplicationError as exc:
        return JsonResponse({"detail": exc.message, "errors": exc.errors}, status=exc.status_code)
    return JsonResponse({"id": delivery.kustomer_event_id, "duplicate": not created}, status=200)
