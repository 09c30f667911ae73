"""Writes about the tenant's Kustomer connection, and the one way to get a client."""
from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import get_language, gettext

from integrations import rules
from integrations.kustomer.base_url import normalize_base_url
from integrations.kustomer.client import KustomerClient
from integrations.kustomer.errors import KustomerAuthError
from integrations.kustomer.ratelimit import build_rate_limiter
from integrations.kustomer.sessions import thread_session
from integrations.models import KustomerConnection
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


def kustomer_client_for(*, connection: KustomerConnection, pending: bool = False,
                        timeout: float | None = None, budget_wait: float | None = None) -> KustomerClient:
    """A client for the tenant's org, sharing the org's rate budget with every worker.
    The stored key goes only to the base URL it was entered for. `pending`: the new URL
    and key waiting for their verification instead of the working ones. `budget_wait`:
    the longest a request waits for the org's budget (or a 429 pause) before raising
    KustomerRateLimitedError (the event executor's is short: it re-queues instead)."""
    if pending:
        # A pending key was entered for the pending URL (kustomer_connection_save).
        return _client(base_url=connection.pending_base_url, api_key_encrypted=connection.pending_api_key_encrypted,
                       org_key=None, rate_limit_per_minute=connection.pending_rate_limit_per_minute
                       or connection.rate_limit_per_minute, timeout=timeout,
                       metrics_label=connection.tenant.slug)
    if not rules.key_may_go_to(base_url=connection.base_url, entered_for=connection.key_entered_for):
        raise KustomerAuthError(
            "The stored API key was entered for another Kustomer URL: enter the key again for this one.")
    return _client(base_url=connection.base_url, api_key_encrypted=connection.api_key_encrypted,
                   org_key=connection.org_key, rate_limit_per_minute=connection.rate_limit_per_minute, timeout=timeout,
                   metrics_label=connection.tenant.slug, budget_wait=budget_wait)


def kustomer_client_for_move(*, move) -> KustomerClient:
    """R-S14: a client of the org a tenant moved away from, with the key it had there
    (sent only to that org's URL), to remove what the product left subscribed there."""
    return _client(base_url=move.from_base_url, api_key_encrypted=move.from_api_key_encrypted,
                   org_key=f"org:{move.from_org_id}", rate_limit_per_minute=settings.KUSTOMER_DEFAULT_RATE_LIMIT_PER_MINUTE,
                   timeout=None, metrics_label=move.tenant.slug)


def _client(*, base_url: str, api_key_encrypted: str, org_key: str | None, rate_limit_per_minute: int,
            timeout: float | None, metrics_label: str, budget_wait: float | None = None) -> KustomerClient:
    # A check with a deadline (a given timeout) also waits no longer for a budget slot.
    rate_limit_wait = 30.0 if timeout is None else min(30.0, timeout)
    if budget_wait is not None:
        rate_limit_wait = min(rate_limit_wait, budget_wait)
    timeout = timeout or settings.KUSTOMER_TIMEOUT_SECONDS
    return KustomerClient(
        base_url=base_url,
        api_key=decrypt_secret(api_key_encrypted),
        rate_limiter=_shared_rate_limiter(),
        org_key=org_key,
        rate_limit_per_minute=rate_limit_per_minute,
        timeout=timeout,
        rate_limit_wait=rate_limit_wait,
        metrics_label=metrics_label,
        session=thread_session(),  # keep-alive across this thread's events
    )


def kustomer_connection_save(
    *, tenant: Tenant, base_url: str, api_key: str = "", rate_limit_per_minute: int | None = None
) -> KustomerConnection:
    """Create or change the connection and queue its verification. An empty `api_key`
    keeps the stored one (it is never shown, so the form cannot echo it back), but only
    for the base URL it was entered for: a new URL needs the key again.

    A working (verified) connection keeps working: a new URL or key waits as the
    pending one until it verifies, and replaces the working one only then. A new
    request-budget alone applies at once."""
    try:
        base_url = normalize_base_url(base_url, extra_hosts=settings.KUSTOMER_EXTRA_API_HOSTS)
    except ValueError as exc:
        raise ApplicationError(str(exc), field="base_url") from None
    api_key = (api_key or "").strip()
    if rate_limit_per_minute is not None and not 1 <= rate_limit_per_minute <= 100_000:
        raise ApplicationError(gettext("Give the plan's requests per minute (1 to 100,000)."), field="rate_limit_per_minute")

    from integrations.tasks import kustomer_connection_verify_task

    now = timezone.now()
    with transaction.atomic():
        connection = KustomerConnection.objects.select_for_update().filter(tenant=tenant).first()
        if connection is None:
            if not api_key:
                raise ApplicationError(gettext("Enter the Kustomer API key."), field="api_key")
            connection = KustomerConnection(tenant=tenant)
        if not api_key and not rules.key_may_go_to(base_url=base_url, entered_for=connection.key_entered_for):
            raise ApplicationError(gettext("Enter the API key again: the stored key is only "
                                           "sent to the Kustomer URL it was entered for."), field="api_key")
        if connection.pk and connection.is_working:
            if base_url == connection.base_url and not api_key:
                # Same org, same key: only the budget (if anything) changes.
                if rate_limit_per_minute is not None:
                    connection.rate_limit_per_minute = rate_limit_per_minute
                connection.pending_state = ""
                connection.save()
                return connection
            connection.pending_base_url = base_url
            connection.pending_api_key_encrypted = (encrypt_secret(api_key) if api_key
                                                    else connection.api_key_encrypted)
            connection.pending_rate_limit_per_minute = rate_limit_per_minute
            connection.pending_state = KustomerConnection.VerifyState.PENDING
            connection.pending_started_at = now
            connection.pending_error = ""
            connection.save()
            enqueue_on_commit(kustomer_connection_verify_task, connection.pk, True, get_language())
            return connection
        if api_key:
            connection.api_key_encrypted = encrypt_secret(api_key)
            connection.api_key_set_at = now
            connection.api_key_base_url = base_url
        connection.base_url = base_url
        if rate_limit_per_minute is not None:
            connection.rate_limit_per_minute = rate_limit_per_minute
        connection.verify_state = KustomerConnection.VerifyState.PENDING
        connection.verify_started_at = now
        connection.pending_state = ""
        connection.save()
        enqueue_on_commit(kustomer_connection_verify_task, connection.pk, False, get_language())
    return connection


def kustomer_connection_verify(*, connection_id: int, pending: bool = False) -> KustomerConnection:
    """Check the connection (or its pending URL/key) with Kustomer and record the
    outcome in words (integrations.verification)."""
    from integrations.verification import connection_verify

    return connection_verify(connection_id=connection_id, pending=pending)


def kustomer_connection_verify_again(*, connection: KustomerConnection) -> None:
    """The admin's "Verify again": the working connection is checked in place."""
    from integrations.tasks import kustomer_connection_verify_task

    KustomerConnection.objects.filter(pk=connection.pk).update(
        verify_state=KustomerConnection.VerifyState.PENDING, verify_started_at=timezone.now())
    enqueue_on_commit(kustomer_connection_verify_task, connection.pk, False, get_language())


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
