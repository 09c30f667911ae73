"""R-S14 for the conversation sync: moving the tenant to another Kustomer org.

Inside the swap's transaction (integrations' `org_moved`) the old org's mirrors are set
apart: their keys get the move's prefix, so no lookup of the new org ever finds a
customer, conversation or session of the old one (they stay readable, not mixed in).
The product's attributes are defined again in the new org and the webhook subscription
starts afresh (a new URL id, so late deliveries of the old org are not taken). A task
then subscribes in the new org and removes the old org's subscription with the old key
where that key still works."""
from __future__ import annotations

import logging
import uuid

from django.db.models import F, Value
from django.db.models.functions import Concat, Substr

from conversations.models import CustomerLink, SessionLink, SyncedConversation, TenantSyncSetup, WebhookSubscription
from integrations.kustomer.errors import KustomerError
from integrations.verification import error_in_words, org_move_note
from tenants.models import Tenant

logger = logging.getLogger(__name__)


def _set_apart(queryset, field: str, prefix: str, length: int) -> int:
    return (queryset.exclude(**{field: ""}).exclude(**{f"{field}__startswith": "~"})
            .update(**{field: Substr(Concat(Value(prefix), F(field)), 1, length)}))


def org_move_mirrors_apart(*, tenant: Tenant, move_id: int) -> None:
    from core.queue import enqueue_on_commit
    from conversations.tasks import org_move_webhook_task

    prefix = f"~m{move_id}~"
    customers = _set_apart(CustomerLink.objects.filter(tenant=tenant), "customer_key", prefix, 240)
    conversations = SyncedConversation.objects.filter(tenant=tenant)
    moved_conversations = _set_apart(conversations, "kustomer_conversation_id", prefix, 64)
    _set_apart(conversations, "external_id", prefix, 100)
    _set_apart(SessionLink.objects.filter(tenant=tenant), "session_id", prefix, 200)
    TenantSyncSetup.objects.filter(tenant=tenant).update(metadata_version=0)
    subscription = WebhookSubscription.objects.filter(tenant=tenant).first()
    old_webhook_id = subscription.kustomer_webhook_id if subscription else ""
    if subscription is not None:
        WebhookSubscription.objects.filter(pk=subscription.pk).update(
            public_id=uuid.uuid4(), kustomer_webhook_id="", url="", token_encrypted="", active=False,
            last_error="", last_attempt_at=None)
    org_move_note(move_id=move_id, old_webhook_id=old_webhook_id,
                  mirrors=f"{customers} customers and {moved_conversations} conversations kept apart "
                          "(never used for the new org)")
    enqueue_on_commit(org_move_webhook_task, tenant.pk, move_id)


def org_move_webhook(*, tenant_id: int, move_id: int) -> str:
    """Subscribe in the new org (the move's connection), then remove the old org's
    subscription with the old key, which is forgotten afterwards either way."""
    from conversations.services.tenant_setup import webhook_subscription_ensure
    from integrations.models import OrgMove
    from integrations.services import kustomer_client_for_move

    tenant = Tenant.objects.get(pk=tenant_id)
    move = OrgMove.objects.get(pk=move_id)
    subscription = webhook_subscription_ensure(tenant=tenant)
    new = "subscribed in the new org" if subscription.kustomer_webhook_id else \
        f"not subscribed in the new org yet ({subscription.last_error})"
    old_id = move.summary.get("old_webhook_id", "")
    if not old_id:
        old = "the old org had none"
    elif not move.from_api_key_encrypted:
        old = "the old org's subscription was left (its key is gone): remove it in the old org"
    else:
        client = kustomer_client_for_move(move=move)
        try:
            with client:
                client.delete_outbound_webhook(webhook_id=old_id)
            old = "the old org's subscription removed"
        except KustomerError as exc:
            if exc.retryable:
                raise
            old = ("the old org's subscription could not be removed "
                   f"({error_in_words(exc, base_url=move.from_base_url, timeout=client.timeout)}): remove it there")
    OrgMove.objects.filter(pk=move_id).update(from_api_key_encrypted="")
    summary = f"{new}; {old}"
    org_move_note(move_id=move_id, webhook=summary)
    return summary
