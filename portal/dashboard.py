"""Read-only selectors of the tenant home dashboard: connection health, sync health,
agents and their status changes, events per minute. Nothing here writes."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count
from django.db.models.functions import TruncMinute
from django.utils import timezone

from conversations.models import Event
from conversations.selectors import event_waiting_reason
from core.text import duration_text  # noqa: F401 - the dashboard's durations (and its tests')
from integrations.models import KustomerConnection
from integrations.selectors import kustomer_connection_get
from statusmapping import selectors as status_selectors
from statusmapping.models import StatusChange
from tenants.models import Tenant

logger = logging.getLogger(__name__)

CHART_MINUTES = 30
UNFINISHED = (Event.State.ACCEPTED, Event.State.PROCESSING)


# ------------------------------------------------------------------------------ connection
@dataclass(frozen=True)
class RateBudget:
    limit_per_minute: int
    used: int | None  # requests taken in the current 60 s window, when the limiter says
    paused_seconds: float  # > 0 while a Kustomer 429 pauses the org

    @property
    def used_percent(self) -> int | None:
        if self.used is None or not self.limit_per_minute:
            return None
        return min(100, round(100 * self.used / self.limit_per_minute))


def connection_get(*, tenant: Tenant) -> KustomerConnection | None:
    return kustomer_connection_get(tenant=tenant)


def rate_budget_get(*, connection: KustomerConnection) -> RateBudget:
    """The org's shared request budget as the rate limiter sees it. The limiter is the
    one every worker shares; reading it sends nothing to Kustomer."""
    used: int | None = None
    paused = 0.0
    try:
        from integrations.services import kustomer_client_for

        client = kustomer_client_for(connection=connection)  # builds no connection, only reads config
        limiter, org_key = client.rate_limiter, client.org_key
        if limiter is not None:
            paused = limiter.paused_for(org_key)
            # Not every limiter version reports its window's use; show it when it does.
            reader = getattr(limiter, "used_in_window", None)
            if callable(reader):
                used = int(reader(org_key))
    except Exception as exc:  # the dashboard must render even when the store is down
        logger.warning("dashboard could not read the Kustomer rate budget: %s", exc)
    return RateBudget(limit_per_minute=connection.rate_limit_per_minute, used=used, paused_seconds=paused)


# ------------------------------------------------------------------------------ sync
@dataclass(frozen=True)
class SyncHealth:
    last_hour_by_state: dict[str, int]
    last_hour_total: int
    oldest_unfinished_age: timedelta | None
    oldest_unfinished_event_id: str | None
    failed_total: int
    # Why the oldest waits (conversations.selectors.event_waiting_reason), and its page.
    oldest_unfinished_reason: str = ""
    oldest_unfinished_pk: int | None = None

    @property
    def oldest_unfinished_age_text(self) -> str:
        if self.oldest_unfinished_age is None:
            return ""
        return duration_text(self.oldest_unfinished_age)


def sync_health_get(*, tenant: Tenant, now: datetime | None = None) -> SyncHealth:
    now = now or timezone.now()
    counts = {
        row["state"]: row["n"]
        for row in Event.objects.filter(tenant=tenant, received_at__gte=now - timedelta(hours=1))
        .order_by().values("state").annotate(n=Count("pk"))
    }
    by_state = {state: counts.get(state, 0) for state in Event.State.values}
    oldest = (Event.objects.filter(tenant=tenant, state__in=UNFINISHED)
              .order_by("received_at", "pk").first())
    return SyncHealth(
        last_hour_by_state=by_state,
        last_hour_total=sum(by_state.values()),
        oldest_unfinished_age=(now - oldest.received_at) if oldest else None,
        oldest_unfinished_event_id=oldest.event_id if oldest else None,
        oldest_unfinished_reason=event_waiting_reason(oldest, now=now) if oldest else "",
        oldest_unfinished_pk=oldest.pk if oldest else None,
        failed_total=Event.objects.filter(tenant=tenant, state=Event.State.FAILED).count(),
    )


def failed_events(*, tenant: Tenant, limit: int = 8) -> list[Event]:
    return list(Event.objects.filter(tenant=tenant, state=Event.State.FAILED).order_by("-received_at", "-pk")[:limit])


@dataclass(frozen=True)
class MinuteBar:
    minute: datetime
    total: int
    failed: int


def events_per_minute(*, tenant: Tenant, minutes: int = CHART_MINUTES, now: datetime | None = None) -> list[MinuteBar]:
    """Events received in each of the last `minutes` minutes (oldest first, gaps as 0)."""
    now = now or timezone.now()
    end = now.replace(second=0, microsecond=0)
    start = end - timedelta(minutes=minutes - 1)
    rows = (
        Event.objects.filter(tenant=tenant, received_at__gte=start)
        .order_by().annotate(minute=TruncMinute("received_at"))
        .values("minute", "state").annotate(n=Count("pk"))
    )
    totals: dict[datetime, list[int]] = {}
    for row in rows:
        key = row["minute"].replace(second=0, microsecond=0)
        slot = totals.setdefault(key, [0, 0])
        slot[0] += row["n"]
        if row["state"] == Event.State.FAILED:
            slot[1] += row["n"]
    bars = []
    for i in range(minutes):
        minute = start + timedelta(minutes=i)
        total, failed = totals.get(minute, [0, 0])
        bars.append(MinuteBar(minute=minute, total=total, failed=failed))
    return bars


def chart_svg_geometry(bars: list[MinuteBar], *, width: int = 600, height: int = 120) -> dict:
    """Bar positions for the inline SVG chart (server-side, no JavaScript)."""
    top = max([b.total for b in bars] + [1])
    plot_h = height - 18
    step = width / max(1, len(bars))
    rects = []
    for i, bar in enumerate(bars):
        h = round(plot_h * bar.total / top, 1)
        fh = round(plot_h * bar.failed / top, 1)
        rects.append({
            "x": round(i * step + 1, 1), "w": round(max(1.0, step - 2), 1),
            "y": round(plot_h - h, 1), "h": h, "fy": round(plot_h - fh, 1), "fh": fh,
            "total": bar.total, "failed": bar.failed, "label": timezone.localtime(bar.minute).strftime("%H:%M"),
        })
    return {"width": width, "height": height, "plot_h": plot_h, "top": top, "rects": rects,
            "mid": width // 2, "mid_y": plot_h // 2,
            "first": rects[0]["label"] if rects else "", "last": rects[-1]["label"] if rects else ""}


# ------------------------------------------------------------------------------ agents
def agents_with_statuses(*, tenant: Tenant) -> list:
    return status_selectors.agent_list_with_statuses(tenant=tenant)


def status_change_feed(*, tenant: Tenant, limit: int = 12) -> list[StatusChange]:
    return list(StatusChange.objects.filter(tenant=tenant).order_by("-received_at", "-id")[:limit])


def new_unmapped_statuses(*, tenant: Tenant) -> list:
    """R-O5: Kustomer statuses added since an earlier refresh and not mapped yet."""
    return list(status_selectors.kustomer_statuses_new_unmapped(tenant=tenant))


def needs_customer_count(*, tenant: Tenant) -> int:
    """R-O1: events waiting for an admin to choose their Kustomer customer."""
    return Event.objects.filter(tenant=tenant, state=Event.State.NEEDS_CUSTOMER).count()
