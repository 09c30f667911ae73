"""Reads of agents, statuses, the status map and history."""
from __future__ import annotations

from statusmapping.models import Agent
from tenants.models import Tenant


def normalize_email(email: str) -> str:
    """Agents are matched by email (R-S5); emails are stored and compared lower-cased."""
    return (email or "").strip().lower()


def agent_get_by_email(*, tenant: Tenant, email: str) -> Agent | None:
    """The tenant's agent with this email (any case), or None (R-A1: only `tenant`'s)."""
    email = normalize_email(email)
    if not email:
        return None
    return Agent.objects.filter(tenant=tenant, email=email).select_related("cc_status").first()
