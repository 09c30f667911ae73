"""Where an event goes (SPEC §4): the situation the conversation rules decide on, from
the local mirror when it is trusted and from Kustomer otherwise."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from conversations import rules
from conversations.models import (
    SessionLink,
    SyncedConversation,
)
from conversations.services.context import EventContext, EventFailed, tenant_row


def _mirror_trusted(ctx: EventContext, conversations: list[SyncedConversation]) -> bool:
    """The local status mirror is trusted when Kustomer's webhooks demonstrably reach
    us and every conversation's status was confirmed within the last few seconds;
    otherwise Kustomer is asked directly before a join decision."""
    subscription = tenant_row(ctx.tenant, "kustomer_webhook")  # read with the event (TENANT_ROWS)
    if subscription is None or not subscription.active or subscription.last_delivery_at is None:
        return False
    fresh_after = timezone.now() - timedelta(seconds=settings.SYNC_MIRROR_FRESH_SECONDS)
    return all(c.status_synced_at and c.status_synced_at >= fresh_after for c in conversations)


LIST_PAGE = 100  # one page of a customer's conversations
STILL_SETTLING_SECONDS = 60  # a status learnt this recently is kept even if search lacks it


def _customer_conversations(ctx: EventContext) -> tuple[dict[str, Any], bool]:
    """The customer's Kustomer conversations placement needs, by id, and whether every
    open or snoozed one is among them.

    One page of the customer's list holds them all when it is not full (Kustomer does
    not promise its order). A customer with more: Kustomer's search gives every open or
    snoozed one, then the conversations by update time, newest first, until the most
    recently created one is certain (rules.newest_creation_certain)."""
    client = ctx.client
    found = {c.id: c for c in client.list_customer_conversations(
        customer_id=ctx.customer_id, page_size=LIST_PAGE, max_pages=1)}
    if len(found) < LIST_PAGE:
        return found, True
    for conv in client.search_customer_conversations(customer_id=ctx.customer_id, statuses=("open", "snoozed")):
        found[conv.id] = conv
    newest_created = None
    for conv in client.search_customer_conversations(customer_id=ctx.customer_id):
        if rules.newest_creation_certain(newest_created, conv.updated_at):
            break
        found[conv.id] = conv
        if conv.created_at and (newest_created is None or conv.created_at > newest_created):
            newest_created = conv.created_at
    return found, True


def _refresh_conversations(ctx: EventContext, rows: list[SyncedConversation]) -> list[SyncedConversation]:
    """The customer's conversations from Kustomer into the mirror, including ones we
    did not create (they count as the "most recent" for R-T3/R-U2); a mirrored open or
    snoozed conversation Kustomer no longer shows as such is done. `rows`: the
    customer's mirrored conversations, read just now; returns them as the mirror now
    holds them (with the ones added), without reading them again."""
    now = timezone.now()
    found, all_open_seen = _customer_conversations(ctx)
    mine = {r.kustomer_conversation_id: r for r in rows}
    # A conversation may be mirrored under another customer id (moved in Kustomer).
    others = {r.kustomer_conversation_id: r for r in SyncedConversation.objects.filter(
        tenant=ctx.tenant, kustomer_conversation_id__in=[i for i in found if i not in mine])} if set(found) - set(mine) else {}
    rows = list(rows)
    for conv in found.values():
        row = mine.get(conv.id) or others.get(conv.id)
        if row is None:
            try:
                with transaction.atomic():
                    row = SyncedConversation.objects.create(
                        tenant=ctx.tenant, customer=ctx.customer_link, kustomer_customer_id=ctx.customer_id,
                        kustomer_conversation_id=conv.id, kind=SyncedConversation.Kind.OTHER,
                        status=conv.status or "", status_updated_at=conv.updated_at, status_synced_at=now,
                        kustomer_created_at=conv.created_at or now,
                    )
            except IntegrityError:  # mirrored meanwhile (a webhook): the row as it is
                row = SyncedConversation.objects.filter(tenant=ctx.tenant, kustomer_conversation_id=conv.id).first()
            if row is not None and row.kustomer_customer_id == ctx.customer_id:
                rows.append(row)
            continue
        if (not mirror_status_set(row, status=conv.status, updated_at=conv.updated_at, synced_at=now) and conv.status
                and conv.updated_at is not None
                and (row.status_updated_at is None or row.status_updated_at <= conv.updated_at)):
            _read_again(rows, row)  # a newer status came in meanwhile (a webhook): the mirror's
    if not all_open_seen:
        return rows
    settled = now - timedelta(seconds=STILL_SETTLING_SECONDS)
    stale = [r for r in rows if r.status in ("open", "snoozed") and r.status_synced_at is not None
             and r.status_synced_at < settled and r.kustomer_conversation_id not in found]
    if stale:  # one statement, its conditions checked again by the database
        done = SyncedConversation.objects.filter(
            pk__in=[r.pk for r in stale], status__in=("open", "snoozed"), status_synced_at__lt=settled,
        ).update(status="done", status_updated_at=now, status_synced_at=now)
        for row in stale:
            if done == len(stale):
                row.status, row.status_updated_at, row.status_synced_at = "done", now, now
            else:
                _read_again(rows, row)
    return rows


def _read_again(rows: list[SyncedConversation], row: SyncedConversation) -> None:
    """`row` as the mirror holds it now (another writer moved it); gone from `rows` if gone."""
    try:
        row.refresh_from_db()
    except SyncedConversation.DoesNotExist:
        if row in rows:
            rows.remove(row)


def mirror_status_set(row: SyncedConversation, *, status: str | None, updated_at: datetime | None,
                   synced_at: datetime) -> bool:
    """Keep the newest status we have seen (webhooks arrive out of order). True when
    written (and `row` then holds it)."""
    if not status:
        return False
    qs = SyncedConversation.objects.filter(pk=row.pk)
    if updated_at is not None:
        qs = qs.filter(Q(status_updated_at__isnull=True) | Q(status_updated_at__lte=updated_at))
    changed = qs.update(status=status, status_updated_at=updated_at or synced_at, status_synced_at=synced_at)
    if changed:
        row.status, row.status_updated_at, row.status_synced_at = status, updated_at or synced_at, synced_at
    return bool(changed)


def situation_for(ctx: EventContext) -> rules.Situation:
    facts = ctx.facts
    if ctx.customer_id is None:
        raise EventFailed("no Kustomer customer for this event")
    needs_placement = ctx.conversation is None
    if needs_placement and ctx.customer_created_now:
        conversations = []  # a customer Kustomer made for this run has none yet
    elif needs_placement:
        conversations = list(SyncedConversation.objects.filter(
            tenant=ctx.tenant, kustomer_customer_id=ctx.customer_id).exclude(kustomer_conversation_id=""))
    else:
        # The rules read the customer's other conversations only to place a session
        # (rules._placement, R-P4): a placed one decides on its own, in hand already.
        conversations = [ctx.conversation]
    always_new = facts.type in (rules.VOICEMAIL_RECEIVED, rules.CALL_ABANDONED, rules.VOICEMAIL_UPDATED)
    if needs_placement and not always_new and not ctx.customer_created_now:
        if not _mirror_trusted(ctx, conversations):
            conversations = _refresh_conversations(ctx, conversations)
    ctx.conversations_seen = {c.pk: c for c in conversations}  # a join takes its row from here
    previous_ref, previous_duration = None, None
    if facts.type == rules.CALLBACK_REQUESTED and facts.data.get("previous_session_id"):
        previous = SessionLink.objects.filter(tenant=ctx.tenant, session_id=facts.data["previous_session_id"]).first()
        if previous is not None:
            previous_ref, previous_duration = str(previous.conversation_id), previous.duration_seconds
    link = ctx.customer_link
    return rules.Situation(
        conversations=tuple(
            rules.ConversationFacts(
                ref=str(c.pk), status=c.status or None, created_at=c.kustomer_created_at, kind=c.kind,
                channel=c.channel or None, menu=c.menu or None, source=c.source or None,
                status_changed_at=c.status_updated_at,
            ) for c in conversations
        ),
        session_conversation=str(ctx.conversation.pk) if ctx.conversation else None,
        customer_just_created=bool(link and link.created_by_us and link.created_session_id == facts.session_id),
        previous_session_conversation=previous_ref,
        previous_session_duration=previous_duration,
    )
