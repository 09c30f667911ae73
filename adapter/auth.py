"""How the agent adapter authenticates, without any tenant API key in the browser.

1. A tenant admin issues a **sign-in link** for one agent (dashboard › Agents). The link
   carries a signed code (tenant id + agent email, valid `SIGN_IN_MAX_AGE`, usable once).
2. The agent opens it and confirms their email, the one their Kustomer user has (R-S5).
   The adapter session (Django session keys, separate from a portal log-in) then holds
   that tenant and agent.
3. The adapter page carries a short-lived signed **API token** bound to that one agent
   (`Authorization: Adapter <token>`), renewed by every heartbeat. The adapter API
   (`adapter/apis.py`) accepts only it, and only for the agent it names: an agent can
   post their own status, heartbeat and calls, nobody else's. A header token (not a
   cookie) also keeps the API free of CSRF and working inside Kustomer's iframe, where
   browsers may withhold third-party cookies.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from django.core import signing
from django.core.cache import cache
from rest_framework import exceptions

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
class AdapterAgent:
    """The principal of an adapter API request (stands in for request.user): acts for
    one tenant and, through `agent_email`, for one agent only."""

    tenant: Tenant
    agent_email: str
    is_authenticated: bool = True
    is_anonymous: bool = False
    is_support: bool = False
    is_staff: bool = False
    is_superuser: bool = False
    is_active: bool = True
    tenant_id: int = field(init=False)

    def __post_init__(self) -> None:
        self.tenant_id = self.tenant.pk

    @property
    def pk(self) -> None:
        return None

    throttle_scope = "adapter"  # core/throttling.py

    @property
    def throttle_key(self) -> str:
        return f"adapter:{self.tenant_id}:{self.agent_email}"

    def __str__(self) -> str:
        return f"adapter of {self.agent_email}"


# ------------------------------------------------------------------------------ sign-in
def sign_in_code_make(*, tenant: Tenant, agent_email: str) -> str:
    return signing.dumps({"t": tenant.pk, "e": normalize_email(agent_email)}, salt=SIGN_IN_SALT, compress=True)


def sign_in_code_redeem(*, code: str, typed_email: str) -> tuple[Tenant, str]:
    """Check a sign-in code and the email the agent typed; use the code up (once).
    Raises SignInError naming the field at fault."""
    try:
        data = signing.loads((code or "").strip(), salt=SIGN_IN_SALT, max_age=SIGN_IN_MAX_AGE)
    except signing.SignatureExpired:
        raise SignInError("This sign-in link has expired. Ask your admin for a new one.") from None
    except signing.BadSignature:
        raise SignInError("This is not a valid sign-in link.") from None
    email = normalize_email(typed_email)
    if not email:
        raise SignInError("Enter your email, the one your Kustomer user has.", field="email")
    if email != data.get("e"):
        raise SignInError("This sign-in link is for another agent: enter the email your Kustomer user has.",
                          field="email")
    tenant = Tenant.objects.filter(pk=data.get("t")).first()
    if tenant is None or agent_get_by_email(tenant=tenant, email=email) is None:
        raise SignInError("No agent with this email in your contact center.", field="email")
    # Single use: the first redeemer claims the code atomically (cache.add).
    digest = hashlib.sha256(code.strip().encode()).hexdigest()
    if not cache.add(f"adapter:sign-in:{digest}", 1, timeout=SIGN_IN_MAX_AGE + 60):
        raise SignInError("This sign-in link was used already. Ask your admin for a new one.")
    return tenant, email


def session_sign_in(request, *, tenant: Tenant, agent_email: str) -> None:
    # A new session key on sign-in (no fixation); a portal log-in in the same browser stays.
    request.session.cycle_key()
    request.session[SESSION_KEY] = {"tenant_id": tenant.pk, "email": agent_email}


def session_sign_out(request) -> None:
    request.session.pop(SESSION_KEY, None)


def session_agent(request) -> AdapterAgent | None:
    data = request.session.get(SESSION_KEY) or {}
    tenant = Tenant.objects.filter(pk=data.get("tenant_id")).first() if data.get("tenant_id") else None
    if tenant is None or agent_get_by_email(tenant=tenant, email=data.get("email", "")) is None:
        return None
    return AdapterAgent(tenant=tenant, agent_email=data["email"])


# ------------------------------------------------------------------------------ API token
def api_token_make(agent: AdapterAgent) -> str:
    return signing.dumps({"t": agent.tenant.pk, "e": agent.agent_email}, salt=API_TOKEN_SALT)


def api_token_read(token: str) -> AdapterAgent:
    try:
        data = signing.loads(token, salt=API_TOKEN_SALT, max_age=API_TOKEN_MAX_AGE)
    except signing.SignatureExpired:
        raise exceptions.AuthenticationFailed("The adapter's sign-in has expired: reload the adapter.") from None
    except signing.BadSignature:
        raise exceptions.AuthenticationFailed("Invalid adapter token.") from None
    tenant = Tenant.objects.filter(pk=data.get("t")).first()
    if tenant is None or agent_get_by_email(tenant=tenant, email=data.get("e", "")) is None:
        raise exceptions.AuthenticationFailed("This agent no longer exists.")
    return AdapterAgent(tenant=tenant, agent_email=data["e"])


class AdapterTokenAuthentication(HeaderTokenAuthentication):
    """`Authorization: Adapter <token>` (the adapter API only)."""

    keyword = "Adapter"
    realm = "adapter"
    malformed_message = "Send the token as 'Authorization: Adapter <token>'."
    undecodable_message = "Invalid adapter token."

    def authenticate_credential(self, credential: str):
        return api_token_read(credential), credential
