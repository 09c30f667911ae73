"""R-O2 sessions without an end: a session that started and has no end event
`close_out_after_hours` after its last event gets a product-made `session.closed_out`
event, recorded by the inbox under a deterministic id (so it is made once) and applied
through the normal path: a note on the session's conversation. Events of the session
that arrive later still apply."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta

from django.db.models import Count, Max, Q
from django.utils import timezone
from django.utils.translation import gettext

from conversations import rules
from conversations.models import Event, SyncSettings
from conversations.services.inbox import event_record
from core.errors import ApplicationError
from tenants.models import Tenant

DEFAULT_CLOSE_OUT_AFTER_HOURS = 4
CLOSE_OUT_BATCH = 500


def close_out_event_id(session_id: str) -> str:
    """The close-out's deterministic event id (any session id gives a URL-safe one)."""
    return "closeout-" + hashlib.sha256(session_id.encode()).hexdigest()[:32]


def sync_settings_get(*, tenant: Tenant) -> SyncSettings:
    found = SyncSettings.objects.filter(tenant=tenant).first()
    return found if found is not None else SyncSettings(tenant=tenant)


def sync_settings_update(*, tenant: Tenant, close_out_after_hours: int | None = None,
                         ambiguous_pick_latest: bool | None = None) -> SyncSettings:
    if close_out_after_hours is not None and not 0 <= close_out_after_hours <= 720:
        raise ApplicationError(gettext("Give 0 (never) to 720 hours."), field="close_out_after_hours")
    settings, _ = SyncSettings.objects.get_or_create(tenant=tenant)
    if close_out_after_hours is not None:
        settings.close_out_after_hours = close_out_after_hours
    if ambiguous_pick_latest is not None:
        settings.ambiguous_pick_latest = ambiguous_pick_latest
    settings.save()
    return settings


def _open_sessions(*, tenant: Tenant, cutoff: datetime) -> list[dict]:
    return list(
        Event.objects.filter(tenant=tenant).values("session_id")
        .annotate(last=Max("occurred_at"), starts=Count("pk", filter=Q(type__in=rules.SESSION_STARTS)),
                  ends=Count("pk", filter=Q(type__in=rules.SESSION_ENDS)))
        .filter(starts__gt=0, ends=0, last__lt=cutoff).order_by("last")[:CLOSE_OUT_BATCH]
    )


def sessions_close_out(*, now: datetime | None = None) -> int:
    """Close out every tenant's sessions without an end (the periodic task). Returns how
    many close-out events it recorded."""
    now = now or timezone.now()
    hours_by_tenant = dict(SyncSettings.objects.values_list("tenant_id", "close_out_after_hours"))
    made = 0
    for tenant in Tenant.objects.all():
        hours = hours_by_tenant.get(tenant.pk, DEFAULT_CLOSE_OUT_AFTER_HOURS)
        if hours <= 0:
            continue
        for session in _open_sessions(tenant=tenant, cutoff=now - timedelta(hours=hours)):
            made += session_close_out(tenant=tenant, session_id=session["session_id"], last=session["last"],
                                      hours=hours)
    return made


def session_close_out(*, tenant: Tenant, session_id: str, last: datetime, hours: int) -> int:
    latest = (Event.objects.filter(tenant=tenant, session_id=session_id).exclude(type=rules.SESSION_CLOSED_OUT)
              .order_by("-occurred_at", "-pk").first())
    if latest is None:
        return 0
    payload = latest.payload
    body = {
        "id": close_out_event_id(session_id),
        "type": rules.SESSION_CLOSED_OUT,
        # When the portal concluded no end would come (R-P7: the note's time on the timeline).
        "occurred_at": (last + timedelta(hours=hours)).isoformat(),
        "session": payload.get("session") or {"id": session_id},
        "end_user": payload.get("end_user") or {},
        "agent": payload.get("agent") or {"email": None},
        "data": {"after_hours": hours, "last_event_at": last.isoformat()},
    }
    try:
        _, created = event_record(tenant=tenant, payload=body, raw_body=json.dumps(body), received=body)
    except ApplicationError:
        return 0  # already closed out (with other hours or after a later event): once is enough
    return 1 if created else 0
