"""The work-session watcher: follows Kustomer status changes of agents and feeds them
to the engine (the Kustomer side of inheritance)."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from integrations.kustomer.errors import KustomerError
from integrations.kustomer.types import WorkSession
from integrations.models import KustomerConnection
from integrations.services import kustomer_connection_record_error
from statusmapping import mapping_rules, rules
from statusmapping.models import (
    Agent,
    Feed,
    Kind,
    KustomerStatus,
    Source,
    StatusInheritanceSettings,
)
from statusmapping.services.engine import agent_status_change_record
from statusmapping.services.kustomer_sync import (
    kustomer_client_for_tenant,
)
from tenants.models import Tenant


def status_watch_due_tenants(*, now: datetime | None = None) -> list[int]:
    """Tenants whose watcher should run now (inheritance on, interval passed)."""
    now = now or timezone.now()
    due = []
    for settings in StatusInheritanceSettings.objects.filter(available=True, enabled=True).select_related(
        "tenant__kustomer_connection"
    ):
        connection = getattr(settings.tenant, "kustomer_connection", None)
        if connection is None:
            continue
        if settings.watched_at is None or settings.watched_at <= now - timedelta(seconds=_watch_interval(settings, connection)):
            due.append(settings.tenant_id)
    return due


def _watch_interval(settings: StatusInheritanceSettings, connection: KustomerConnection) -> float:
    pages = settings.watch_pages or 1
    return mapping_rules.watch_interval_seconds(
        configured=settings.watch_interval_seconds, pages_last_run=pages,
        rate_limit_per_minute=connection.rate_limit_per_minute,
    )


WATCH_PAGE_SIZE = 100


def status_watch_tenant(*, tenant_id: int, now: datetime | None = None) -> int:
    """Read the org's active work sessions (one paged list call) and feed every agent's
    status change it sees through `agent_status_change_record`, so a missed adapter
    event or a closed tab does not leave an agent wrong. Returns the changes fed.

    Claimed with a conditional update, so two runs for one interval never both call."""
    now = now or timezone.now()
    settings = StatusInheritanceSettings.objects.filter(tenant_id=tenant_id).select_related("tenant").first()
    if settings is None or not settings.active:
        return 0
    tenant = settings.tenant
    connection, client = kustomer_client_for_tenant(tenant)
    if client is None:
        return 0
    try:
        interval = _watch_interval(settings, connection)
        # Claim this interval (a little slack so a beat tick that lands early still runs).
        claimed = StatusInheritanceSettings.objects.filter(pk=settings.pk).filter(
            Q(watched_at__isnull=True) | Q(watched_at__lte=now - timedelta(seconds=interval * 0.8))
        ).update(watched_at=now)
        if not claimed:
            return 0
        sessions = list(client.iter_active_work_sessions(page_size=WATCH_PAGE_SIZE))
    except KustomerError as exc:
        kustomer_connection_record_error(connection=connection, error=str(exc))
        StatusInheritanceSettings.objects.filter(pk=settings.pk).update(watch_error=str(exc)[:2000])
        raise
    finally:
        client.close()
    pages = max(1, -(-len(sessions) // WATCH_PAGE_SIZE))
    if settings.watch_error or settings.watch_pages != pages:
        StatusInheritanceSettings.objects.filter(pk=settings.pk).update(watch_error="", watch_pages=pages)
    return _watch_feed(tenant=tenant, sessions=sessions, now=now)


def _watch_feed(*, tenant: Tenant, sessions: Iterable[WorkSession], now: datetime) -> int:
    by_user: dict[str, WorkSession] = {}
    for ws in sessions:
        if ws.user_id and ws.status_id:
            by_user[ws.user_id] = ws
    agents = list(Agent.objects.filter(tenant=tenant).exclude(kustomer_user_id=""))
    offline = (KustomerStatus.objects.filter(tenant=tenant, status_type=KustomerStatus.StatusType.OFFLINE,
                                             removed_at__isnull=True).order_by("-system", "name").first())
    offline_ids = set(KustomerStatus.objects.filter(tenant=tenant, status_type=KustomerStatus.StatusType.OFFLINE)
                      .values_list("kustomer_id", flat=True))
    fed = 0
    for agent in agents:
        ws = by_user.get(agent.kustomer_user_id)
        if ws is not None:
            if ws.id != agent.kustomer_work_session_id:
                Agent.objects.filter(pk=agent.pk).update(kustomer_work_session_id=ws.id)
            if ws.status_id in (agent.kustomer_status_id, agent.push_kustomer_status_id):
                continue  # nothing new, or our own push coming back (R-S9)
            changed_at = ws.status_updated_at or now
            event_id = f"watch:{ws.id}:{ws.status_id}:{changed_at.isoformat()}"
            status_id = ws.status_id
            kind = Kind.MANUAL
        else:
            # No active session: the agent went offline in Kustomer (or closed it all).
            if not agent.kustomer_status_id or agent.kustomer_status_id in offline_ids or offline is None:
                continue
            changed_at = now
            # Unique per known status (its time), so the next time they go offline is news.
            since = agent.kustomer_status_at.isoformat() if agent.kustomer_status_at else ""
            event_id = f"watch:offline:{agent.pk}:{agent.kustomer_status_id}:{since}"
            status_id = offline.kustomer_id
            kind = Kind.SIGN_OUT  # R-O6: the tenant may give signed-out agents a status of its choice
        agent_status_change_record(
            tenant=tenant, event_id=event_id, source=Source.KUSTOMER, agent_email=agent.email,
            occurred_at=changed_at, kustomer_status_id=status_id, feed=Feed.WATCHER, kind=kind,
        )
        fed += 1
    return fed
