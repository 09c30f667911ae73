"""Reads of the conversation sync."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext

from conversations import rules
from conversations.models import CallLoggingPolicies, Event, WebhookDelivery
from core.errors import NotFoundError
from core.text import duration_text
from tenants.models import Tenant


def event_get(*, tenant: Tenant, event_id: str) -> Event:
    """The tenant's event by its contact-center id; 404 for another tenant's (R-A1)."""
    event = Event.objects.filter(tenant=tenant, event_id=event_id).first()
    if event is None:
        raise NotFoundError(gettext("No such event."))
    return event


def event_get_by_pk(*, tenant: Tenant, pk: int) -> Event:
    event = Event.objects.filter(tenant=tenant, pk=pk).first()
    if event is None:
        raise NotFoundError(gettext("No such event."))
    return event


def events_recent(*, tenant: Tenant, state: str | None = None, limit: int = 100) -> QuerySet[Event]:
    qs = Event.objects.filter(tenant=tenant).order_by("-received_at", "-pk")
    if state:
        qs = qs.filter(state=state)
    return qs[:limit]


# Sort keys of the events list → columns ("-" in front: newest / largest first).
EVENT_SORTS = {
    "received": "received_at", "occurred": "occurred_at", "event": "event_id", "type": "type",
    "state": "state", "attempts": "attempts",
}
EVENT_SORTS = {**EVENT_SORTS, **{f"-{key}": f"-{column}" for key, column in EVENT_SORTS.items()}}


@dataclass(frozen=True)
class EventFilters:
    q: str = ""  # event id, session id, phone (any format), Kustomer customer or conversation id
    state: str = ""
    type: str = ""
    since: datetime | None = None  # received at or after
    until: datetime | None = None  # received at or before
    sort: str = "-received"
    region: str = "US"  # reads a phone number typed without its country code


def events_search(*, tenant: Tenant, filters: EventFilters) -> QuerySet[Event]:
    """The tenant's events matching the filters, sorted (ties: newest received first)."""
    qs = Event.objects.filter(tenant=tenant)
    if filters.state:
        qs = qs.filter(state=filters.state)
    if filters.type:
        qs = qs.filter(type=filters.type)
    if filters.since:
        qs = qs.filter(received_at__gte=filters.since)
    if filters.until:
        qs = qs.filter(received_at__lte=filters.until)
    q = filters.q.strip()
    if q:
        match = (Q(event_id=q) | Q(session_id=q) | Q(kustomer_customer_id=q) | Q(kustomer_conversation_id=q)
                 | Q(customer_key=f"app:{q}"))
        phone = rules.phone_search_key(q, filters.region)
        if phone:
            match |= Q(customer_key=phone)
        qs = qs.filter(match)
    column = EVENT_SORTS.get(filters.sort, "-received_at")
    ties = ["-received_at", "-pk"] if column.lstrip("-") != "received_at" else ["-pk" if column.startswith("-") else "pk"]
    return qs.order_by(column, *ties)


def event_kustomer_ids(event: Event) -> dict:
    ids = dict(event.kustomer_ids or {})
    return {
        "customer_id": event.kustomer_customer_id or ids.get("customer_id") or None,
        "conversation_id": event.kustomer_conversation_id or ids.get("conversation_id") or None,
        "message_ids": ids.get("message_ids", []),
        "note_ids": ids.get("note_ids", []),
        "attachment_ids": ids.get("attachment_ids", []),
        "assigned_user_id": ids.get("assigned_user_id"),
    }


def webhook_deliveries_recent(*, tenant: Tenant, limit: int = 100) -> list[WebhookDelivery]:
    """The tenant's failed Kustomer webhook deliveries (all of them, newest first), then
    the most recent others."""
    qs = WebhookDelivery.objects.filter(subscription__tenant=tenant).defer("raw_body")
    failed = list(qs.filter(state=WebhookDelivery.State.FAILED).order_by("-received_at", "-pk")[:limit])
    others = list(qs.exclude(state=WebhookDelivery.State.FAILED).order_by("-received_at", "-pk")[:limit])
    return failed + others


def event_waiting_reason(event: Event, *, now: datetime | None = None) -> str:
    """Why an unfinished event is not done yet, in a sentence for the dashboard and the
    event's page ("" for a finished one): its retry and the error it waits after, the
    earlier event of the same customer it waits behind (SPEC §5: one at a time, in
    order), being applied now, or not picked up by a worker yet."""
    from django.utils import timezone

    if event.is_finished:
        return ""
    now = now or timezone.now()
    head = (Event.objects.filter(tenant_id=event.tenant_id, customer_key=event.customer_key,
                                 state__in=[Event.State.ACCEPTED, Event.State.PROCESSING])
            .order_by("occurred_at", "received_at", "pk").first())
    if head is not None and head.pk != event.pk:
        return gettext("behind event %(event_id)s of the same customer (events of one customer are applied in order), "
                       "which is %(reason)s") % {"event_id": head.event_id, "reason": event_waiting_reason(head, now=now)}
    error = gettext(" after: %(error)s") % {"error": event.error} if event.error else ""
    if event.next_attempt_at and event.next_attempt_at > now:
        return gettext("waiting for its retry at %(time)s (in %(wait)s)%(error)s") % {
            "time": f"{timezone.localtime(event.next_attempt_at):%H:%M:%S}", "wait": duration_text(event.next_attempt_at - now),
            "error": error}
    if event.next_attempt_at:
        return gettext("its retry was due %(ago)s ago; queued for a worker%(error)s") % {
            "ago": duration_text(now - event.next_attempt_at), "error": error}
    if event.state == Event.State.PROCESSING:
        return gettext("being applied now (attempt %(attempt)s)%(error)s") % {"attempt": event.attempts, "error": error}
    return gettext("queued, not taken by a worker yet (%(age)s since received)") % {
        "age": duration_text(now - event.received_at)}


def call_logging_policies_read(*, tenant: Tenant) -> rules.Policies:
    """The tenant's call logging policies as the rules read them (SPEC §6); defaults
    when the tenant never saved any."""
    return call_logging_policies_of(CallLoggingPolicies.objects.filter(tenant=tenant).first())


def call_logging_policies_of(row: CallLoggingPolicies | None) -> rules.Policies:
    """The policies as the rules read them, from the tenant's row (None: never saved)."""
    if row is None:
        return rules.DEFAULT_POLICIES
    return rules.Policies(
        logging={k: v for k, v in (row.logging or {}).items() if k in rules.SESSION_KINDS and v in rules.LOG_CHOICES},
        create_unknown_customers=row.create_unknown_customers,
        connected_numbers=tuple(row.connected_numbers or ()),
        default_owner_email=row.default_owner_email or None,
        default_owner_team_id=row.default_owner_team_id or None,
        default_owner_team_name=row.default_owner_team_name or "",
        name_templates={k: v for k, v in (row.name_templates or {}).items() if k in rules.SESSION_KINDS and v},
        preview_templates={k: v for k, v in (row.preview_templates or {}).items() if k in rules.SESSION_KINDS and v},
        number_format=row.number_format or "international",
        short_abandon_seconds=row.short_abandon_seconds,
        reopen_days=row.reopen_days,
        delay_call_until_connected=row.delay_call_until_connected,
        delay_chat_until_messages=row.delay_chat_until_messages,
    )


def call_logging_policies_output(policies: rules.Policies) -> dict:
    """The policies as the API and the page show them (every kind spelled out)."""
    return {
        "logging": {kind: policies.log_as(kind) for kind in rules.SESSION_KINDS},
        "create_unknown_customers": policies.create_unknown_customers,
        "connected_numbers": list(policies.connected_numbers),
        "default_owner_email": policies.default_owner_email or "",
        "default_owner_team_id": policies.default_owner_team_id or "",
        "default_owner_team_name": policies.default_owner_team_name if policies.default_owner_team_id else "",
        "name_templates": {kind: policies.name_templates.get(kind, "") for kind in rules.SESSION_KINDS},
        "preview_templates": {kind: policies.preview_templates.get(kind, "") for kind in rules.SESSION_KINDS},
        "number_format": policies.number_format,
        "short_abandon_seconds": policies.short_abandon_seconds,
        "reopen_days": policies.reopen_days,
        "delay_call_until_connected": policies.delay_call_until_connected,
        "delay_chat_until_messages": policies.delay_chat_until_messages,
    }


# --------------------------------------------------------------------- R-O3 held sessions
@dataclass(frozen=True)
class HeldSession:
    """A past session as the portal holds it: where its records are in Kustomer and its
    facts for custom field values (customfields' SessionFacts)."""

    pk: int  # the SessionLink's
    session_id: str
    started_at: datetime
    customer_pk: int  # the CustomerLink's
    kustomer_customer_id: str
    kustomer_conversation_id: str
    message_ids: tuple[str, ...]
    facts: object


def _held_links(tenant: Tenant, since: datetime, until: datetime):
    from conversations.models import SessionLink

    return SessionLink.objects.filter(tenant=tenant, started_at__gte=since, started_at__lte=until).exclude(
        conversation__kustomer_conversation_id="")


def _held(links) -> list[HeldSession]:
    from conversations.services.values import held_session_facts

    links = list(links.select_related("conversation", "conversation__customer"))
    by_session: dict[str, list[Event]] = {}
    if links:
        events = Event.objects.filter(tenant_id=links[0].tenant_id, session_id__in=[link.session_id for link in links],
                                      state=Event.State.DONE).order_by("occurred_at", "received_at", "pk")
        for event in events:
            by_session.setdefault(event.session_id, []).append(event)
    held = []
    for link in links:
        events = by_session.get(link.session_id, [])
        message_ids = tuple(dict.fromkeys(m for e in events for m in (e.kustomer_ids or {}).get("message_ids") or []))
        held.append(HeldSession(
            pk=link.pk, session_id=link.session_id, started_at=link.started_at, customer_pk=link.conversation.customer_id,
            kustomer_customer_id=link.conversation.customer.kustomer_customer_id or link.conversation.kustomer_customer_id,
            kustomer_conversation_id=link.conversation.kustomer_conversation_id, message_ids=message_ids,
            facts=held_session_facts(link=link, events=events)))
    return held


def sessions_held(*, tenant: Tenant, since: datetime, until: datetime, after_pk: int = 0,
                  limit: int = 50) -> list[HeldSession]:
    """R-O3: the sessions that started in [since, until] and have a Kustomer
    conversation, in the order they were linked (pk), after `after_pk`."""
    return _held(_held_links(tenant, since, until).filter(pk__gt=after_pk).order_by("pk")[:limit])


def sessions_held_count(*, tenant: Tenant, since: datetime, until: datetime) -> int:
    return _held_links(tenant, since, until).count()


def customers_held(*, tenant: Tenant, since: datetime, until: datetime, after_pk: int = 0,
                   limit: int = 50) -> list[HeldSession]:
    """R-O3: for each customer (CustomerLink pk after `after_pk`, in order) with a session
    in [since, until], its newest such session."""
    links = _held_links(tenant, since, until)
    # One query: each customer's newest link (the subquery), customers in pk order.
    newest = Subquery(links.filter(conversation__customer_id=OuterRef("conversation__customer_id"))
                      .order_by("-started_at", "-pk").values("pk")[:1])
    return _held(links.filter(conversation__customer_id__gt=after_pk).annotate(newest_pk=newest)
                 .filter(pk=F("newest_pk")).order_by("conversation__customer_id")[:limit])


def customers_held_count(*, tenant: Tenant, since: datetime, until: datetime) -> int:
    return _held_links(tenant, since, until).values("conversation__customer_id").distinct().count()
