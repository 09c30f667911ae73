"""A tenant's one-time Kustomer set-up before its first event, and its webhook
subscription."""
from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from conversations import rules
from conversations.models import (
    TenantSyncSetup,
    WebhookSubscription,
)
from conversations.services.context import WEBHOOK_EVENTS, EventContext, tenant_row
from core.crypto import encrypt_secret
from integrations.kustomer.client import KustomerClient
from integrations.kustomer.errors import (
    KustomerError,
    KustomerRateLimitedError,
)
from integrations.kustomer.metadata import missing_properties
from integrations.metadata import kustomer_metadata_merge
from integrations.models import KustomerConnection
from integrations.services import kustomer_client_for
from tenants.models import Tenant

logger = logging.getLogger(__name__)


def tenant_prepare(ctx: EventContext) -> None:
    """Once per tenant: define the product's conversation/customer attributes in
    Kustomer's metadata, and subscribe to conversation webhooks. The attributes go
    through the one metadata writer (read, merge, PUT under the tenant's metadata lock,
    shared with custom fields), so attributes an admin made are never dropped."""
    # Both rows come with the event's read (executor, TENANT_ROWS) when it joined them.
    setup = tenant_row(ctx.tenant, "sync_setup")
    if setup is None:
        setup, _ = TenantSyncSetup.objects.get_or_create(tenant=ctx.tenant)
    if setup.metadata_version < rules.METADATA_VERSION:
        for resource, wanted in (("conversation", rules.CONVERSATION_ATTRIBUTES),
                                 ("customer", rules.CUSTOMER_ATTRIBUTES)):
            kustomer_metadata_merge(tenant_id=ctx.tenant.pk, client=ctx.client, resource=resource,
                                    additions=lambda existing, wanted=wanted: missing_properties(existing, wanted))
        TenantSyncSetup.objects.filter(pk=setup.pk).update(
            metadata_version=rules.METADATA_VERSION, metadata_defined_at=timezone.now())
    subscription = tenant_row(ctx.tenant, "kustomer_webhook")
    retry_after = timezone.now() - timedelta(seconds=settings.SYNC_WEBHOOK_RETRY_SECONDS)
    if subscription is None or (not subscription.kustomer_webhook_id and (
            subscription.last_attempt_at is None or subscription.last_attempt_at < retry_after)):
        try:
            webhook_subscription_ensure(tenant=ctx.tenant, client=ctx.client)
        except KustomerRateLimitedError:
            raise
        except KustomerError as exc:
            # The mirror then stays untrusted and every join decision asks Kustomer.
            logger.warning("tenant %s: webhook subscription failed: %s", ctx.tenant.slug, exc)
        finally:
            # The row read with the event is stale now: placement reads it afresh.
            ctx.tenant._state.fields_cache.pop("kustomer_webhook", None)


def webhook_subscription_ensure(*, tenant: Tenant, client: KustomerClient | None = None,
                                public_url: str | None = None) -> WebhookSubscription:
    """Subscribe the tenant to Kustomer's conversation webhooks (once). The token
    Kustomer returns is the HMAC key of deliveries: stored encrypted, never shown.

    The tenant's subscription row is locked while Kustomer is asked, so two workers
    never create two subscriptions (the second would replace the first's token)."""
    WebhookSubscription.objects.get_or_create(tenant=tenant)
    own_client = client is None
    if own_client:
        client = kustomer_client_for(connection=KustomerConnection.objects.get(tenant=tenant))
    failure: KustomerError | None = None
    try:
        with transaction.atomic():
            subscription = WebhookSubscription.objects.select_for_update().get(tenant=tenant)
            if subscription.kustomer_webhook_id:
                return subscription
            subscription.last_attempt_at = timezone.now()
            base = (public_url or settings.PORTAL_PUBLIC_URL).rstrip("/")
            url = f"{base}/webhooks/kustomer/{subscription.public_id}"
            try:
                webhook = client.create_outbound_webhook(name=f"Contact center sync ({tenant.slug})", url=url,
                                                         events=list(WEBHOOK_EVENTS))
            except KustomerError as exc:
                failure = exc
                subscription.last_error = str(exc)[:2000]
            else:
                subscription.kustomer_webhook_id = webhook.id
                subscription.url = url
                if webhook.token:
                    subscription.token_encrypted = encrypt_secret(webhook.token)
                    subscription.active, subscription.last_error = True, ""
                else:
                    subscription.active, subscription.last_error = False, "Kustomer returned no webhook token"
            subscription.save()
    finally:
        if own_client:
            client.close()
    if failure is not None:
        raise failure
    return subscription
