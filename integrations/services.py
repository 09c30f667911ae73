"""Writes about the tenant's Kustomer connection, and the one way to get a client."""
from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from integrations import rules
from integrations.kustomer.client import KustomerClient
from integrations.kustomer.errors import KustomerAuthError, KustomerError
from integrations.kustomer.ratelimit import build_rate_limiter
from integrations.models import KustomerConnection
from integrations.signals import connection_verified
from core.crypto import decrypt_secret, encrypt_secret
from core.errors import ApplicationError
from core.queue import enqueue_on_commit
from tenants.models import Tenant

logger = logging.getLogger(__name__)

_rate_limiter = None


def _shared_rate_limiter():
    global _rate_limiter
    if _rate_limiter is None:
        _rate_limiter = build_rate_limiter(settings.KUSTOMER_RATE_LIMIT_URL)
    return _rate_limiter


def kustomer_client_for(*, connection: KustomerConnection) -> KustomerClient:
    """A client for the tenant's org, sharing the org's rate budget with every worker.
    The stored key goes only to the base URL it was entered for."""
    if not rules.key_may_go_to(base_url=connection.base_url, entered_for=connection.key_entered_for):
        raise KustomerAuthError(
            "The stored API key was entered for another Kustomer URL: enter the key again for this one.")
    return KustomerClient(
        base_url=connection.base_url,
        api_key=decrypt_secret(connection.api_key_encrypted),
        rate_limiter=_shared_rate_limiter(),
        org_key=connection.org_key,
        rate_limit_per_minute=connection.rate_limit_per_minute,
        timeout=settings.KUSTOMER_TIMEOUT_SECONDS,
        metrics_label=connection.tenant.slug,
    )


def kustomer_connection_save(
    *, tenant: Tenant, base_url: str, api_key: str = "", rate_limit_per_minute: int | None = None
) -> KustomerConnection:
    """Create or change the connection and queue its verification. An empty `api_key`
    keeps the stored one (it is never shown, so the form cannot echo it back), but only
    for the base URL it was entered for: a new URL needs the key again."""
    try:
        base_url = rules.normalize_base_url(base_url, extra_hosts=settings.KUSTOMER_EXTRA_API_HOSTS)
    except ValueError as exc:
        raise ApplicationError(str(exc), field="base_url") from None
    api_key = (api_key or "").strip()
    if rate_limit_per_minute is not None and not 1 <= rate_limit_per_minute <= 100_000:
        raise ApplicationError("Give the plan's requests per minute (1 to 100,000).", field="rate_limit_per_minute")

    from integrations.tasks import kustomer_connection_verify_task

    with transaction.atomic():
        connection = KustomerConnection.objects.select_for_update().filter(tenant=tenant).first()
        if connection is None:
            if not api_key:
                raise ApplicationError("Enter the Kustomer API key.", field="api_key")
            connection = KustomerConnection(tenant=tenant)
        if api_key:
            connection.api_key_encrypted = encrypt_secret(api_key)
            connection.api_key_set_at = timezone.now()
            connection.api_key_base_url = base_url
        elif not rules.key_may_go_to(base_url=base_url, entered_for=connection.key_entered_for):
            raise ApplicationError("Enter the API key again: the stored key is only sent to the Kustomer URL "
                                   "it was entered for.", field="api_key")
        connection.base_url = base_url
        if rate_limit_per_minute is not None:
            connection.rate_limit_per_minute = rate_limit_per_minute
        connection.verify_state = KustomerConnection.VerifyState.PENDING
        connection.save()
        enqueue_on_commit(kustomer_connection_verify_task, connection.pk)
    return connection


def kustomer_connection_verify(*, connection_id: int) -> KustomerConnection:
    """Check the key with GET /v1/users/current and record the outcome (R-A3).

    A permanent failure (bad key, wrong host) marks the connection failed with Kustomer's
    answer; a transient one is recorded and re-raised for the task to retry."""
    connection = KustomerConnection.objects.select_related("tenant").get(pk=connection_id)
    try:
        user = kustomer_client_for(connection=connection).get_current_user()
    except KustomerError as exc:
        if exc.retryable:
            kustomer_connection_record_error(connection=connection, error=str(exc))
            raise
        kustomer_connection_mark_failed(connection_id=connection.pk, error=str(exc))
        logger.info("kustomer connection %s failed verification: %s", connection.pk, exc)
    else:
        KustomerConnection.objects.filter(pk=connection.pk).update(
            verify_state=KustomerConnection.VerifyState.OK,
            verified_at=timezone.now(),
            kustomer_user_id=user.id,
            kustomer_user_name=user.display_name or user.name or user.email or "",
            kustomer_org_id=user.org_id or "",
            last_error="",
        )
        tenant_id = connection.tenant_id
        transaction.on_commit(lambda: connection_verified.send(sender=KustomerConnection, tenant_id=tenant_id))
    connection.refresh_from_db()
    return connection


def kustomer_connection_mark_failed(*, connection_id: int, error: str) -> None:
    KustomerConnection.objects.filter(pk=connection_id).update(
        verify_state=KustomerConnection.VerifyState.FAILED, last_error=error[:2000], last_error_at=timezone.now()
    )


def kustomer_connection_record_error(*, connection: KustomerConnection, error: str) -> None:
    """Keep Kustomer's latest error on the connection so the portal can show it."""
    KustomerConnection.objects.filter(pk=connection.pk).update(last_error=error[:2000], last_error_at=timezone.now())


def kustomer_connection_rotate_encryption() -> int:
    """Re-encrypt every stored Kustomer API key with the newest encryption key."""
    from core.crypto import rotate_secret

    count = 0
    for connection in KustomerConnection.objects.only("pk", "api_key_encrypted").iterator():
        KustomerConnection.objects.filter(pk=connection.pk).update(api_key_encrypted=rotate_secret(connection.api_key_encrypted))
        count += 1
    return count
