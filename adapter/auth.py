"""How the agent adapter authenticates, without any tenant API key in the browser.

1. A tenant admin issues a **sign-in link** for one agent (dashboard › Agents). The link
   carries a signed code (tenant id + agent email + the issuing admin, valid
   `SIGN_IN_MAX_AGE`, usable once) in its URL fragment, which browsers never send to a
   server, so the code appears in no access log and no Referer.
2. The agent opens it and confirms their email, the one their Kustomer user has (R-S5);
   the page posts the code and the email. That starts an **adapter session**, a row on
   the server (adapter.models.AdapterSession), which the page's Django session names.
3. The adapter page carries a short-lived signed **API token** naming that adapter session
   (`Authorization: Adapter <token>`), renewed by every heartbeat. The adapter API
   (`adapter/apis.py`) accepts only it, and only for the agent it names: an agent can
   post their own status, heartbeat and calls, nobody else's. A header token (not a
   cookie) also keeps the API free of CSRF and working inside Kustomer's iframe, where
   browsers may withhold third-party cookies.

Every token and page request checks the adapter session row, so ending it ends them all
at once: sign-out, an admin's "sign out everywhere", removing the agent, a password
change of the admin who issued the link, and the absolute lifetime
(`ADAPTER_SESSION_MAX_AGE_SECONDS`) however often the token was renewed.
"""
from __future__ import annotations

from core.principals import NonUserPrincipal

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext
from rest_framework import exceptions

from adapter.models import AdapterSession

from statusmapping.selectors import agent_get_by_email, normalize_email
from tenants.authentication import HeaderTokenAuthentication
from tenants.models import Tenant

SIGN_IN_SALT = "adapter.sign-in"
API_TOKEN_SALT = "adapter.api-token"
SIGN_IN_MAX_AGE = 15 * 60
API_TOKEN_MAX_AGE = 30 * 60
SESSION_KEY = "adapter_agent"


class SignInError(Exception):
    def __init__(self, message: str, field: str = "code") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass
class AdapterAgent(NonUserPrincipal):
    """The principal of an adapter API request (stands in for request.user): acts for
    one tenant and, through `agent_email`, for one agent only."""

    tenant: Tenant
    agent_email: str
    session_id: int | None = None  # the AdapterSession it belongs to
    tenant_id: int = field(init=False)

    def __post_init__(self) -> None:
        self.tenant_id = self.tenant.pk

    throttle_scope = "adapter"  # core/throttling.py

    @property
    def throttle_key(self) -> str:
        return f"adapter:{self.session_id}"

    def __str__(self) -> str:
        return f"adapter of {self.agent_email}"


# ------------------------------------------------------------------------------ sign-in
def _issuer_check(user) -> str:
    """Changes when the user's password changes (Django's session auth hash does)."""
    return hashlib.sha256(user.get_session_auth_hash().encode()).hexdigest()


def sign_in_code_make(*, tenant: Tenant, agent_email: str, issued_by=None) -> str:
    data = {"t": tenant.pk, "e": normalize_email(agent_email)}
    if issued_by is not None:
        data.update(u=issued_by.pk, h=_issuer_check(issued_by)[:16])
    return signing.dumps(data, salt=SIGN_IN_SALT, compress=True)


def sign_in_code_redeem(*, code: str, typed_email: str) -> AdapterSession:
    """Check a sign-in code and the email the agent typed; use the code up (once) and
    start the adapter session. Raises SignInError naming the field at fault."""
    try:
        data = signing.loads((code or "").strip(), salt=SIGN_IN_SALT, max_age=SIGN_IN_MAX_AGE)
    except signing.SignatureExpired:
        raise SignInError(gettext("This sign-in link has expired. Ask your admin for a new one.")) from None
    except signing.BadSignature:
        raise SignInError(gettext("This is not a valid sign-in link.")) from None
    email = normalize_email(typed_email)
    if not email:
        raise SignInError(gettext("Enter your email, the one your Kustomer user has."), field="email")
    if email != data.get("e"):
        raise SignInError(gettext("This sign-in link is for another agent: enter the email your "
                                  "Kustomer user has."),
                          field="email")
    tenant = Tenant.objects.filter(pk=data.get("t")).first()
    agent = agent_get_by_email(tenant=tenant, email=email) if tenant is not None else None
    if agent is None:
        raise SignInError(gettext("No agent with this email in your contact center."), field="email")
    issuer = None
    if data.get("u"):
        from tenants.models import User

        issuer = User.objects.filter(pk=data["u"], is_active=True).first()
        if issuer is None or _issuer_check(issuer)[:16] != data.get("h"):
            raise SignInError(gettext("This sign-in link was withdrawn. Ask your admin for a new one."))
    # Single use: the first redeemer claims the code atomically (cache.add).
    digest = hashlib.sha256(code.strip().encode()).hexdigest()
    if not cache.add(f"adapter:sign-in:{digest}", 1, timeout=SIGN_IN_MAX_AGE + 60):
        raise SignInError(gettext("This sign-in link was used already. Ask your admin for a new one."))
    return AdapterSession.objects.create(agent=agent, issued_by=issuer,
                                         issuer_check=_issuer_check(issuer) if issuer else "")


def adapter_session_start(*, tenant: Tenant, agent_email: str, issued_by=None) -> AdapterSession:
    """An adapter session without a sign-in link (the demo, tests)."""
    agent = agent_get_by_email(tenant=tenant, email=agent_email)
    if agent is None:
        raise SignInError(gettext("No agent with this email in your contact center."), field="email")
    return AdapterSession.objects.create(agent=agent, issued_by=issued_by,
                                         issuer_check=_issuer_check(issued_by) if issued_by else "")


def adapter_sessions_end(*, tenant: Tenant, agent_email: str | None = None, reason: str) -> int:
    """End the tenant's open adapter sessions (one agent's, or every agent's): every token
    and adapter page of them stops working at its next request."""
    rows = AdapterSession.objects.filter(agent__tenant=tenant, ended_at__isnull=True)
    if agent_email is not None:
        rows = rows.filter(agent__email=normalize_email(agent_email))
    return rows.update(ended_at=timezone.now(), end_reason=reason[:60])


def _live_session(session_id) -> tuple[AdapterSession | None, str]:
    """The open adapter session `session_id`, or None and why it is over."""
    row = (AdapterSession.objects.select_related("agent__tenant", "issued_by").filter(pk=session_id).first()
           if isinstance(session_id, int) else None)
    if row is None:
        return None, "This adapter sign-in no longer exists: sign in again."
    if row.ended_at is not None:
        return None, "This adapter sign-in has ended: sign in again."
    max_age = timedelta(seconds=float(settings.ADAPTER_SESSION_MAX_AGE_SECONDS))
    if row.started_at + max_age < timezone.now():
        return None, "This adapter sign-in has reached its time limit: sign in again."
    if row.issued_by_id is not None and (not row.issued_by.is_active
                                         or _issuer_check(row.issued_by) != row.issuer_check):
        return None, "The sign-in link of this adapter was withdrawn: sign in again."
    return row, ""


def _principal(row: AdapterSession) -> AdapterAgent:
    return AdapterAgent(tenant=row.agent.tenant, agent_email=row.agent.email, session_id=row.pk)


def session_sign_in(request, *, adapter_session: AdapterSession) -> None:
    # A new session key on sign-in (no fixation); a portal log-in in the same browser stays.
    request.session.cycle_key()
    request.session[SESSION_KEY] = {"session_id": adapter_session.pk}


def session_sign_out(request) -> None:
    data = request.session.pop(SESSION_KEY, None) or {}
    if isinstance(data.get("session_id"), int):
        AdapterSession.objects.filter(pk=data["session_id"], ended_at__isnull=True).update(
            ended_at=timezone.now(), end_reason="signed out")


def session_agent(request) -> AdapterAgent | None:
    data = request.session.get(SESSION_KEY) or {}
    row, _ = _live_session(data.get("session_id"))
    return _principal(row) if row is not None else None


# ------------------------------------------------------------------------------ API token
def api_token_make(agent: AdapterAgent) -> str:
    return signing.dumps({"s": agent.session_id}, salt=API_TOKEN_SALT)


def api_token_read(token: str) -> AdapterAgent:
    try:
        data = signing.loads(token, salt=API_TOKEN_SALT, max_age=API_TOKEN_MAX_AGE)
    except signing.SignatureExpired:
        raise exceptions.AuthenticationFailed("The adapter's sign-in has expired: reload the adapter.") from None
    except signing.BadSignature:
        raise exceptions.AuthenticationFailed("Invalid adapter token.") from None
    row, why = _live_session(data.get("s") if isinstance(data, dict) else None)
    if row is None:
        raise exceptions.AuthenticationFailed(why)
    return _principal(row)


class AdapterTokenAuthentication(HeaderTokenAuthentication):
    """`Authorization: Adapter <token>` (the adapter API only)."""

    keyword = "Adapter"
    realm = "adapter"
    malformed_message = "Send the token as 'Authorization: Adapter <token>'."
    undecodable_message = "Invalid adapter token."

    def authenticate_credential(self, credential: str):
        return api_token_read(credential), credential
