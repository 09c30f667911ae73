"""Reads for the adapter: what the agent is handling now (R-X3), where its conversation
opens in Kustomer, which host pages may frame the adapter, and the agent's state."""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from conversations import rules as conversation_rules
from conversations.models import Event, SessionLink
from integrations.selectors import kustomer_connection_get
from integrations.selectors import kustomer_web_links_for
from statusmapping import selectors as status_selectors
from tenants.models import Tenant

# Event types that end what the agent is handling.
_ENDING_TYPES = {conversation_rules.SESSION_ENDED, conversation_rules.CALL_ABANDONED}


def host_origin_patterns() -> list[str]:
    return list(settings.ADAPTER_HOST_ORIGINS)


def _origin(url: str) -> str | None:
    try:
        parts = urlsplit(url or "")
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def host_origin_allowed(parent_url: str) -> str | None:
    """The origin of `parent_url` (Kustomer's `parentUrl` parameter) when it may host the
    adapter, else None. `*` in a pattern stands for one host label or a port."""
    origin = _origin(parent_url)
    if origin is None:
        return None
    scheme, _, rest = origin.partition("://")
    host, _, port = rest.partition(":")
    for pattern in host_origin_patterns():
        p_scheme, _, p_rest = pattern.partition("://")
        p_host, _, p_port = p_rest.partition(":")
        if p_scheme != scheme:
            continue
        if p_port and p_port != "*" and p_port != port:
            continue
        if not p_port and port:
            continue
        if p_host.startswith("*."):
            if host.endswith(p_host[1:]) and "." not in host[: -len(p_host) + 1]:
                return origin
        elif fnmatch.fnmatchcase(host, p_host):
            return origin
    return None


def kustomer_conversation_url(*, tenant: Tenant, customer_id: str | None, conversation_id: str | None) -> str | None:
    """Where a conversation opens in the agent desktop: Kustomer's app host for a real
    org, the sandbox's view of the org otherwise."""
    links = kustomer_web_links_for(tenant=tenant)
    return links.conversation(conversation_id, customer_id=customer_id) if links else None


def sandbox_desktop_url(*, tenant: Tenant) -> str | None:
    """For a tenant connected to the Kustomer sandbox: its agent desktop, which shows the
    adapter once the tenant's Kustomer app is installed (None for a real Kustomer org)."""
    connection = kustomer_connection_get(tenant=tenant)
    if connection is None or not connection.kustomer_org_id:
        return None
    host = (urlsplit(connection.base_url).hostname or "").lower()
    if host.endswith(".kustomerapp.com"):
        return None
    return f"{connection.base_url.rstrip('/')}/__sandbox/desktop/{connection.kustomer_org_id}"


@dataclass(frozen=True)
class CurrentSession:
    session_id: str
    channel: str  # voice | chat
    direction: str  # inbound | outbound
    phone: str | None
    name: str | None
    state: str  # the latest event's state: accepted | processing | done | failed
    last_event_type: str
    started_at: str
    customer_id: str | None
    conversation_id: str | None
    conversation_url: str | None
    error: str


def agent_current_session(*, tenant: Tenant, agent_email: str) -> CurrentSession | None:
    """The call or chat the agent is handling: the newest session with an event naming
    the agent and no ending event yet (R-X3)."""
    email = status_selectors.normalize_email(agent_email)
    recent = list(
        Event.objects.filter(tenant=tenant, payload__agent__email__iexact=email)
        .order_by("-occurred_at", "-pk")[:20]
    )
    for event in recent:
        session_events = list(
            Event.objects.filter(tenant=tenant, session_id=event.session_id).order_by("occurred_at", "pk")
        )
        if any(e.type in _ENDING_TYPES for e in session_events):
            continue
        latest = session_events[-1]
        customer_id = next((e.kustomer_customer_id for e in reversed(session_events) if e.kustomer_customer_id), None)
        conversation_id = next(
            (e.kustomer_conversation_id for e in reversed(session_events) if e.kustomer_conversation_id), None
        )
        if conversation_id is None:
            link = (SessionLink.objects.filter(tenant=tenant, session_id=event.session_id)
                    .select_related("conversation").first())
            if link and link.conversation.kustomer_conversation_id:
                conversation_id = link.conversation.kustomer_conversation_id
                customer_id = customer_id or link.conversation.kustomer_customer_id
        payload = session_events[0].payload or {}
        session, end_user = payload.get("session") or {}, payload.get("end_user") or {}
        failed = next((e for e in reversed(session_events) if e.state == Event.State.FAILED), None)
        return CurrentSession(
            session_id=event.session_id,
            channel=session.get("channel") or "voice",
            direction="outbound" if session.get("source") == "outbound" else "inbound",
            phone=end_user.get("phone"),
            name=end_user.get("name"),
            state=latest.state,
            last_event_type=latest.type,
            started_at=session_events[0].occurred_at.isoformat(),
            customer_id=customer_id,
            conversation_id=conversation_id,
            conversation_url=kustomer_conversation_url(
                tenant=tenant, customer_id=customer_id, conversation_id=conversation_id
            ),
            error=failed.error if failed else "",
        )
    return None


def agent_adapter_state(*, tenant: Tenant, agent_email: str) -> dict:
    """Everything the adapter shows about its agent, in one read."""
    agent = status_selectors.agent_get(tenant=tenant, email=agent_email)
    names = status_selectors.kustomer_status_names(tenant=tenant)
    live = status_selectors.agent_live_instance_ids(agent=agent)
    settings_row = status_selectors.inheritance_settings_get(tenant=tenant)
    current = agent_current_session(tenant=tenant, agent_email=agent.email)
    return {
        "agent_email": agent.email,
        "agent_name": agent.name,
        "cc_status": agent.cc_status.name if agent.cc_status_id else None,
        "cc_status_at": agent.cc_status_at,
        "kustomer_status": names.get(agent.kustomer_status_id) if agent.kustomer_status_id else None,
        "held_status": agent.held_cc_status.name if agent.held_cc_status_id else None,
        "cc_statuses": [s.name for s in status_selectors.cc_status_list(tenant=tenant)],
        "live_instances": len(live),
        "several_instances": len(live) > 1,
        "inheritance_active": settings_row.active,
        "current": current.__dict__ if current else None,
    }
