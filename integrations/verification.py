"""Verifying a Kustomer connection (R-A3), in words a person understands, within a
deadline, and without giving up the working connection for one that does not work.

A new URL or key of a connection that verified before waits as the pending one; it
replaces the working one only once it verifies. When it verifies with another org id,
the tenant moves to that org (R-S14): `org_moved` is sent inside the transaction that
swaps the connection, so the apps above clear the old org's ids in the same commit.
"""
from __future__ import annotations

import logging
import re
import socket
import ssl
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from integrations.kustomer.roles import key_roles, missing_roles
from integrations.kustomer.errors import (
    KustomerAuthError,
    KustomerConnectionError,
    KustomerError,
    KustomerNotFoundError,
    KustomerRateLimitedError,
    KustomerServerError,
    KustomerTimeoutError,
    KustomerTransientError,
)
from integrations.models import KustomerConnection, OrgMove
from integrations.signals import connection_verified, org_moved

logger = logging.getLogger(__name__)

State = KustomerConnection.VerifyState
# What the product needs besides a valid key, checked at verification: (what, call).
# A 403 on one of them names the role the key lacks.
_PROBES = (
    (gettext_noop("Reading users (agents are linked by email)"), lambda c, me: c.list_users(email=me.email or "nobody@invalid")),
    (gettext_noop("Reading routing statuses"), lambda c, me: c.list_routing_statuses()),
    (gettext_noop("Managing outbound webhooks"), lambda c, me: c.list_outbound_webhooks()),
)
_ROLES = re.compile(r"roles?\W+((?:org\.[a-z_.]+(?:,\s*)?)+)", re.IGNORECASE)


def deadline_seconds() -> float:
    return float(settings.KUSTOMER_VERIFY_DEADLINE_SECONDS)


def _causes(exc: BaseException):
    seen, todo = set(), [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        todo += [e.__cause__, e.__context__, getattr(e, "reason", None)]
        todo += [a for a in getattr(e, "args", ()) if isinstance(a, BaseException)]


def error_in_words(exc: KustomerError, *, base_url: str, timeout: float, what: str = "") -> str:
    """Kustomer's or the network's failure as a person would say it."""
    host = urlsplit(base_url).netloc or base_url
    if isinstance(exc, KustomerTimeoutError):
        return gettext("Timed out: %(host)s gave no answer within %(seconds)s s.") % {"host": host, "seconds": f"{timeout:g}"}
    if isinstance(exc, KustomerConnectionError):
        causes = list(_causes(exc))
        text = " ".join(str(c) for c in causes)
        if any(isinstance(c, socket.gaierror) for c in causes) or re.search(
                r"Name or service not known|nodename nor servname|getaddrinfo|Temporary failure in name resolution|"
                r"NameResolution", text):
            return gettext("Name not found: no server is called %(host)s (check the URL).") % {
                "host": urlsplit(base_url).hostname}
        if any(isinstance(c, ConnectionRefusedError) for c in causes) or "Connection refused" in text:
            return gettext("Connection refused: nothing answers at %(host)s (check the URL and port).") % {"host": host}
        if any(isinstance(c, ssl.SSLError) for c in causes) or "SSL" in text:
            return gettext("Secure connection to %(host)s failed (TLS certificate).") % {"host": host}
        return gettext("Could not reach %(host)s (%(reason)s).") % {"host": host, "reason": exc.message}
    if isinstance(exc, KustomerAuthError) and exc.status == 403:
        roles = _ROLES.search(f"{exc.body} {exc.message}")
        what = gettext(what) if what else gettext("this request")
        if roles:
            return gettext("Key lacks a role (403): %(what)s was refused: it needs one of the roles %(roles)s.") % {
                "what": what, "roles": roles.group(1).strip().rstrip(",")}
        return gettext("Key lacks a role (403): %(what)s was refused.") % {"what": what}
    if isinstance(exc, KustomerAuthError):
        if exc.status is None:
            return exc.message
        return gettext("Key refused (401): Kustomer does not accept this API key (check it is complete and not revoked).")
    if isinstance(exc, KustomerNotFoundError):
        return gettext("No Kustomer API at %(url)s (404): check the URL.") % {"url": base_url}
    if isinstance(exc, KustomerRateLimitedError):
        return gettext("Kustomer's rate limit is reached (429); it asked to wait %(seconds)s s.") % {
            "seconds": f"{exc.retry_after:g}"}
    if isinstance(exc, KustomerServerError):
        return gettext("Kustomer had a problem (%(status)s); trying again.") % {"status": exc.status}
    return str(exc)


def _check(client, *, base_url: str, timeout: float):
    """(Kustomer's current user, None) or (None, (words, retryable))."""
    try:
        me = client.get_current_user()
    except KustomerError as exc:
        return None, (error_in_words(exc, base_url=base_url, timeout=timeout), isinstance(exc, KustomerTransientError))
    for what, probe in _PROBES:
        try:
            probe(client, me)
        except KustomerError as exc:
            return None, (error_in_words(exc, base_url=base_url, timeout=timeout, what=what), isinstance(exc, KustomerTransientError))
    # The writes cannot be probed; the key's roles (as Kustomer shows them) must cover them.
    roles = key_roles(me.raw)
    if roles is not None and (missing := missing_roles(roles)):
        return None, (roles_missing_in_words(missing), False)
    return me, None


def roles_missing_in_words(missing) -> str:
    """The roles a key lacks, as the admin picks them in Kustomer's Add API Key dialog."""
    parts = [f"{need.role} ({need.what})" for need in missing]
    return gettext("Key lacks a role: create a key that also has %(roles)s. Kustomer's roles cannot be added to an "
                   "existing key.") % {"roles": ", ".join(parts)}


class VerificationRetry(Exception):
    """A transient failure with time left before the deadline: try again in `countdown`."""

    def __init__(self, words: str, countdown: float) -> None:
        super().__init__(words)
        self.countdown = countdown


def connection_verify(*, connection_id: int, pending: bool = False) -> KustomerConnection:
    """Check the working connection (or the pending one) and record the outcome.

    Every attempt's timeout ends at the deadline; a transient failure raises
    VerificationRetry while time is left, else the check ends Failed with its words."""
    from integrations.services import kustomer_client_for

    connection = KustomerConnection.objects.select_related("tenant").get(pk=connection_id)
    started = connection.pending_started_at if pending else connection.verify_started_at
    if (connection.pending_state if pending else connection.verify_state) != State.PENDING:
        return connection  # superseded or already decided
    started = started or timezone.now()
    left = (started + timedelta(seconds=deadline_seconds()) - timezone.now()).total_seconds()
    base_url = connection.pending_base_url if pending else connection.base_url
    timeout = max(0.5, min(settings.KUSTOMER_TIMEOUT_SECONDS, left))
    try:
        client = kustomer_client_for(connection=connection, pending=pending, timeout=timeout)
    except KustomerError as exc:
        me, failure = None, (error_in_words(exc, base_url=base_url, timeout=timeout), False)
    else:
        with client:
            me, failure = _check(client, base_url=base_url, timeout=timeout)
    if failure is not None:
        words, retryable = failure
        left = (started + timedelta(seconds=deadline_seconds()) - timezone.now()).total_seconds()
        if retryable and left > 1:
            _record_error(connection_id=connection.pk, pending=pending, words=words, final=False)
            raise VerificationRetry(words, countdown=min(2.0, left / 2))
        _record_error(connection_id=connection.pk, pending=pending, words=words, final=True)
        logger.info("kustomer connection %s%s failed verification: %s", connection.pk,
                    " (pending)" if pending else "", words)
    elif pending:
        _promote(connection=connection, me=me)
    else:
        _verified(connection=connection, me=me)
    connection.refresh_from_db()
    return connection


def _user_fields(me) -> dict:
    return {"kustomer_user_id": me.id, "kustomer_user_name": me.display_name or me.name or me.email or "",
            "kustomer_org_id": me.org_id or ""}


def _verified(*, connection: KustomerConnection, me) -> None:
    with transaction.atomic():
        current = KustomerConnection.objects.select_for_update().get(pk=connection.pk)
        old_org = current.kustomer_org_id
        KustomerConnection.objects.filter(pk=connection.pk).update(
            verify_state=State.OK, verified_at=timezone.now(), last_error="", **_user_fields(me))
        if old_org and me.org_id and me.org_id != old_org:
            # The same URL and key now answer for another org (rows edited by hand).
            _moved(connection=current, old_org=old_org, new_org=me.org_id, old_base_url=current.base_url,
                   old_key="")
        tenant_id = connection.tenant_id
        transaction.on_commit(lambda: connection_verified.send(sender=KustomerConnection, tenant_id=tenant_id))


def _promote(*, connection: KustomerConnection, me) -> None:
    """The pending URL and key verified: they become the working connection. The
    pending values read at the start must still be the pending ones (a newer save
    waits for its own check)."""
    with transaction.atomic():
        current = KustomerConnection.objects.select_for_update().get(pk=connection.pk)
        if (current.pending_state != State.PENDING or current.pending_base_url != connection.pending_base_url
                or current.pending_api_key_encrypted != connection.pending_api_key_encrypted):
            return
        old_org, old_base_url, old_key = current.kustomer_org_id, current.base_url, current.api_key_encrypted
        now = timezone.now()
        if current.pending_api_key_encrypted != current.api_key_encrypted:
            current.api_key_set_at = now
        current.api_key_encrypted = current.pending_api_key_encrypted
        current.base_url = current.api_key_base_url = current.pending_base_url
        if current.pending_rate_limit_per_minute:
            current.rate_limit_per_minute = current.pending_rate_limit_per_minute
        for name, value in _user_fields(me).items():
            setattr(current, name, value)
        current.verify_state, current.verified_at, current.last_error = State.OK, now, ""
        current.pending_base_url = current.pending_api_key_encrypted = current.pending_error = ""
        current.pending_state, current.pending_rate_limit_per_minute = "", None
        current.save()
        if old_org and me.org_id and me.org_id != old_org:
            _moved(connection=current, old_org=old_org, new_org=me.org_id, old_base_url=old_base_url, old_key=old_key)
        tenant_id = current.tenant_id
        transaction.on_commit(lambda: connection_verified.send(sender=KustomerConnection, tenant_id=tenant_id))


def _moved(*, connection: KustomerConnection, old_org: str, new_org: str, old_base_url: str, old_key: str) -> None:
    move = OrgMove.objects.create(
        tenant=connection.tenant, from_org_id=old_org, to_org_id=new_org, from_base_url=old_base_url,
        to_base_url=connection.base_url, from_api_key_encrypted=old_key, summary={})
    logger.info("tenant %s moves from Kustomer org %s to %s", connection.tenant_id, old_org, new_org)
    _app_moved(connection=connection, move=move)
    from tenants.services import audit_record

    audit_record(tenant=connection.tenant, actor=None, action="Kustomer org changed", target=new_org,
                 detail=f"moved from org {old_org} ({old_base_url}) to org {new_org} ({connection.base_url})")
    org_moved.send(sender=KustomerConnection, tenant=connection.tenant, move=move)


def _app_moved(*, connection: KustomerConnection, move: OrgMove) -> None:
    """The tenant's Kustomer app (R-X4) as the old org held it means nothing in the new
    one: forget it, and register (and install, if it was asked for) in the new org."""
    from integrations.app_services import kustomer_app_request
    from integrations.models import KustomerApp

    app = KustomerApp.objects.select_for_update().filter(tenant=connection.tenant).first()
    if app is None:
        return
    install = app.install_requested or bool(app.installed_version)
    KustomerApp.objects.filter(pk=app.pk).update(
        app_name="", registered_versions=[], registered_fingerprint="", installed_version="",
        install_requested=False, last_error="", checked_at=None)
    kustomer_app_request(tenant=connection.tenant, install=install)
    move.summary = {**move.summary, "kustomer_app": "registered again in the new org" + (
        " and installed" if install else "")}
    move.save(update_fields=["summary"])


def _record_error(*, connection_id: int, pending: bool, words: str, final: bool) -> None:
    now = timezone.now()
    if pending:
        fields = {"pending_error": words[:2000]}
        if final:
            fields["pending_state"] = State.FAILED
    else:
        fields = {"last_error": words[:2000], "last_error_at": now}
        if final:
            fields["verify_state"] = State.FAILED
    KustomerConnection.objects.filter(pk=connection_id).update(**fields)


def connection_expire_stale(*, connection: KustomerConnection) -> KustomerConnection:
    """A check still Verifying well past its deadline (no worker took it, or it died)
    ends Failed, so the page never shows Verifying for ever."""
    limit = timezone.now() - timedelta(seconds=deadline_seconds() + settings.KUSTOMER_VERIFY_GRACE_SECONDS)
    words = (f"Timed out: the check did not finish within {deadline_seconds():g} s "
             "(Kustomer did not answer, or no worker picked the check up).")
    changed = False
    if connection.verify_state == State.PENDING and (connection.verify_started_at or connection.updated_at) < limit:
        changed |= bool(KustomerConnection.objects.filter(pk=connection.pk, verify_state=State.PENDING).update(
            verify_state=State.FAILED, last_error=words, last_error_at=timezone.now()))
    if connection.pending_state == State.PENDING and (connection.pending_started_at or connection.updated_at) < limit:
        changed |= bool(KustomerConnection.objects.filter(pk=connection.pk, pending_state=State.PENDING).update(
            pending_state=State.FAILED, pending_error=words))
    if changed:
        connection.refresh_from_db()
    return connection


def org_move_note(*, move_id: int, **parts) -> None:
    """One part of a move (agents, webhook, statuses, mirrors) records what it did."""
    with transaction.atomic():
        move = OrgMove.objects.select_for_update().get(pk=move_id)
        move.summary = {**move.summary, **parts}
        move.save(update_fields=["summary"])
