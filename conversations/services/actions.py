"""One executor per action kind of the plan (rules.py). Every Kustomer create carries a
deterministic externalId; a create that was sent before (its action has an earlier
attempt, or its claim row already existed) is looked up before it is sent again."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from conversations import rules
from conversations.fetch import FetchError
from conversations.models import (
    CustomerLink,
    EventAction,
    SessionLink,
    SyncedConversation,
)
from conversations.services.context import MESSAGE_APP, EventContext, EventFailed, NeedsCustomer, create_or_get
from conversations.services.late_files import late_file_defer
from conversations.services.placement import mirror_status_set
from conversations.services.values import (
    attachment_add,
    custom_field_values,
    file_fetched,
    file_name_from_url,
    kustomer_user_id_for,
    render_transcript,
)
from integrations.kustomer.client import find_or_create
from integrations.kustomer.errors import (
    KustomerBadRequestError,
    KustomerConflictError,
)
from integrations.kustomer.external_ids import external_id


def _exec_ensure_customer(ctx: EventContext, action: rules.EnsureCustomer, row: EventAction) -> dict[str, Any]:
    key = ctx.event.customer_key
    ext = external_id(ctx.tenant.slug, "customer", key)
    link, claimed = ctx.customer_link, False  # read by this run (_load_context), under the customer's lock
    if link is None:
        link, claimed = create_or_get(
            CustomerLink, tenant=ctx.tenant, customer_key=key,
            defaults={"external_id": ext, "phone": action.phone or "", "identifier": action.identifier or ""},
        )
    if link.kustomer_customer_id:
        ctx.customer_link, ctx.customer_id = link, link.kustomer_customer_id
        return {"customer_id": link.kustomer_customer_id, "found": "mapping"}
    client = ctx.client
    found, how = None, None
    if not claimed or row.attempts > 1:  # an earlier try may have created it
        found, how = client.get_customer_by_external_id(external_id=link.external_id), "externalId"
    choice = ctx.event.customer_choice
    if found is None and action.phone and choice != "new":
        found, how = _customer_by_phone(ctx, action.phone), "phone"
    created = False
    if found is None and not action.create:
        # R-P2: only customers Kustomer already knows are logged; this number is not one.
        return {"skipped": True, "reason": "no Kustomer customer has this number; creating customers is off (R-P2)"}
    if found is None:
        try:
            found = client.create_customer(
                name=action.name or action.phone or action.identifier, external_id=link.external_id,
                emails=[action.email] if action.email else None,
                phones=[{"type": "mobile", "phone": action.phone}] if action.phone else None,
                custom=custom_field_values(ctx, "customer") or None,
            )
            created, how = True, "created"
        except (KustomerConflictError, KustomerBadRequestError):
            # Taken meanwhile (by our lost create, or by someone else with this phone/email).
            found = client.get_customer_by_external_id(external_id=link.external_id)
            if found is None and choice == "new":
                # R-O1: the admin asked for a new customer beside those holding the number;
                # an org that refuses a second holder gets it without (the R-D2 note has it).
                found = client.create_customer(
                    name=action.name or action.phone or action.identifier, external_id=link.external_id,
                    custom=custom_field_values(ctx, "customer") or None)
                _customer_link_set(link, kustomer_customer_id=found.id, created_by_us=True,
                                   created_session_id=ctx.event.session_id)
                ctx.customer_link, ctx.customer_id, ctx.customer_created_now = link, found.id, True
                ctx.ids["customer_id"] = found.id
                return {"customer_id": found.id, "found": "created", "created": True}
            if found is None and action.phone:
                found = client.get_customer_by_phone(phone=action.phone)
            if found is None and action.email:
                found = client.get_customer_by_email(email=action.email)
            if found is None:
                raise
            how = "after-duplicate"
    _customer_link_set(link, kustomer_customer_id=found.id, created_by_us=created,
                       created_session_id=ctx.event.session_id if created else "")
    ctx.customer_link, ctx.customer_id, ctx.customer_created_now = link, found.id, created
    ctx.ids["customer_id"] = found.id
    return {"customer_id": found.id, "found": how, "created": created}


def _customer_link_set(link: CustomerLink, **values: Any) -> None:
    """Write the link's Kustomer customer, and keep the instance in hand as written."""
    CustomerLink.objects.filter(pk=link.pk).update(**values)
    for name, value in values.items():
        setattr(link, name, value)


def _customer_by_phone(ctx: EventContext, phone: str):
    """R-O1: the one customer with this phone; several are never guessed between (the
    event waits for an admin's choice, NeedsCustomer) unless the tenant chose the most
    recently updated one."""
    from conversations.models import SyncSettings

    one = ctx.client.get_customer_by_phone(phone=phone)
    if one is None:
        return None  # no customer has it: nothing to choose (and no search spent)
    matches = ctx.client.search_customers_by_phone(phone=phone)
    if len(matches) <= 1:
        return one
    if SyncSettings.objects.filter(tenant=ctx.tenant, ambiguous_pick_latest=True).exists():
        return max(matches, key=lambda c: (c.updated_at is not None, c.updated_at or 0, c.id))
    candidates = []
    for customer in matches[:5]:
        latest = ctx.client.list_customer_conversations(customer_id=customer.id, page_size=3, max_pages=1)[:3]
        candidates.append({
            "id": customer.id, "name": customer.display_name or customer.name or "", "emails": list(customer.emails),
            "updated_at": customer.updated_at.isoformat() if customer.updated_at else None,
            "conversations": [{"id": c.id, "name": getattr(c, "name", "") or "", "status": getattr(c, "status", "") or ""}
                              for c in latest],
        })
    raise NeedsCustomer(f"{len(matches)} Kustomer customers have {phone}: choose one (or a new customer).", candidates)


def _exec_skip_event(ctx: EventContext, action: rules.SkipEvent, row: EventAction) -> dict[str, Any]:
    return {"skipped": True, "reason": action.reason}


def _exec_use_customer(ctx: EventContext, action: rules.UseCustomer, row: EventAction) -> dict[str, Any]:
    given = action.kustomer_customer_id
    customer = ctx.client.get_customer(customer_id=given)  # a wrong id fails here, clearly
    link, _ = CustomerLink.objects.get_or_create(
        tenant=ctx.tenant, customer_key=ctx.event.customer_key,
        defaults={"external_id": external_id(ctx.tenant.slug, "customer", ctx.event.customer_key),
                  "kustomer_customer_id": customer.id, "phone": ctx.facts.phone or ""},
    )
    if not link.kustomer_customer_id:
        if not CustomerLink.objects.filter(pk=link.pk, kustomer_customer_id="").update(kustomer_customer_id=customer.id):
            link.refresh_from_db()  # given meanwhile: the row's
        else:
            link.kustomer_customer_id = customer.id
    ctx.customer_link, ctx.customer_id = link, customer.id
    ctx.ids["customer_id"] = customer.id
    return {"customer_id": customer.id}


def _exec_create_conversation(ctx: EventContext, action: rules.CreateConversation, row: EventAction) -> dict[str, Any]:
    if ctx.customer_id is None or ctx.customer_link is None:
        raise EventFailed("no Kustomer customer to create the conversation for")
    ext = external_id(ctx.tenant.slug, "conversation", action.session_id)
    conv, claimed = create_or_get(
        SyncedConversation, tenant=ctx.tenant, external_id=ext,
        defaults={
            "customer": ctx.customer_link, "kustomer_customer_id": ctx.customer_id, "founding_session_id": action.session_id,
            "kind": action.conversation_kind, "channel": action.channel, "menu": action.menu or "", "source": action.source,
        },
    )
    if not conv.kustomer_conversation_id:
        def create():
            assignee = _assignee_at_create(ctx, row)
            team = _team_at_create(ctx, row)

            def send(teams):
                return ctx.client.create_conversation(
                    customer_id=ctx.customer_id, external_id=ext, name=action.name[:200], status="open",
                    direction=action.direction, custom=dict(action.standard_fields) or None,
                    assigned_users=[assignee] if assignee else None, assigned_teams=teams,
                )

            if team is None:
                return send(None)
            try:
                return send([team])
            except KustomerBadRequestError as exc:
                # R-P6: the default team was checked on save but is gone from the org since:
                # the record is still made (nothing was created by the refused request).
                ctx.ids.pop("team_at_create", None)
                ctx.ids["team_refused"] = str(exc)[:300]
                return send(None)

        found, _ = find_or_create(
            lambda: ctx.client.get_conversation_by_external_id(external_id=ext), create,
            look_first=not claimed or row.attempts > 1,  # an earlier try may have created it
        )
        now = timezone.now()
        mirrored = {"kustomer_conversation_id": found.id, "status": found.status or "open",
                    "status_updated_at": found.updated_at or now, "status_synced_at": now,
                    "kustomer_created_at": found.created_at or now}
        try:
            with transaction.atomic():
                SyncedConversation.objects.filter(pk=conv.pk).update(**mirrored)
        except IntegrityError:  # its Kustomer id is taken (unique per tenant):
            with transaction.atomic():
                # a listing mirrored it as a foreign conversation first: fold that in.
                twins = SyncedConversation.objects.filter(tenant=ctx.tenant, kustomer_conversation_id=found.id,
                                                          external_id="")
                SessionLink.objects.filter(conversation__in=twins).update(conversation=conv)
                twins.delete()
                SyncedConversation.objects.filter(pk=conv.pk).update(**mirrored)
        for name, value in mirrored.items():  # the row as written (no second read)
            setattr(conv, name, value)
    _link_session(ctx, conv, action.rule)
    ctx.ids["conversation_id"] = conv.kustomer_conversation_id
    return {"conversation_id": conv.kustomer_conversation_id, "external_id": ext}


def _assignee_at_create(ctx: EventContext, row: EventAction) -> str | None:
    """The plan assigns the new conversation right after creating it (R-X1): send the
    assignee with the create and save the separate update (one request fewer)."""
    later = ctx.later_pending(row, "assign_conversation")
    if later is None:
        return None
    user_id = kustomer_user_id_for(ctx, later.params.get("agent_email", ""))
    if user_id:
        ctx.ids["assigned_at_create"] = user_id
    return user_id


def _team_at_create(ctx: EventContext, row: EventAction) -> str | None:
    """R-P6: the default team the plan assigns right after the create, sent with it."""
    later = ctx.later_pending(row, "assign_team")
    team_id = later.params.get("team_id") if later is not None else None
    if team_id:
        ctx.ids["team_at_create"] = team_id
    return team_id or None


def _link_session(ctx: EventContext, conv: SyncedConversation, rule: str) -> None:
    link = ctx.session_link if ctx.session_link_read else None  # the session's row, read by this run
    if link is None:
        link, _ = create_or_get(
            SessionLink, tenant=ctx.tenant, session_id=ctx.event.session_id,
            defaults={"conversation": conv, "rule": rule, "started_at": ctx.event.occurred_at},
        )
    ctx.session_link, ctx.session_link_read = link, True
    ctx.conversation = link.conversation


def _exec_join_conversation(ctx: EventContext, action: rules.JoinConversation, row: EventAction) -> dict[str, Any]:
    conv = ctx.conversations_seen.get(int(action.conversation_ref))  # placement read it in this run
    if conv is None:
        conv = SyncedConversation.objects.filter(tenant=ctx.tenant, pk=int(action.conversation_ref)).first()
    if conv is None:
        raise EventFailed("the conversation to join is gone")
    _link_session(ctx, conv, action.rule)
    ctx.ids["conversation_id"] = ctx.conversation.kustomer_conversation_id
    return {"conversation_id": ctx.conversation.kustomer_conversation_id}


def _require_conversation(ctx: EventContext) -> SyncedConversation:
    if ctx.conversation is None or not ctx.conversation.kustomer_conversation_id:
        raise EventFailed(f"session {ctx.event.session_id} has no Kustomer conversation")
    return ctx.conversation


def _exec_add_message(ctx: EventContext, action: rules.AddMessage, row: EventAction) -> dict[str, Any]:
    conv = _require_conversation(ctx)
    ext = external_id(ctx.tenant.slug, "message", ctx.event.event_id, row.index)

    def find():
        return ctx.client.find_conversation_message(conversation_id=conv.kustomer_conversation_id, external_id=ext)

    # Only a retry can find an earlier create (the look-up scans the timeline).
    if row.attempts > 1 and (found := find()) is not None:
        ctx.ids.setdefault("message_ids", []).append(found.id)
        return {"message_id": found.id, "found": True}
    attachments = []
    if action.recording_url:
        url = action.recording_url
        name = file_name_from_url(url, f"recording-{ctx.event.session_id}")
        attachments += _file_or_later(ctx, row, number=0, key="recording", label="Recording", name=name, url=url)
    custom = custom_field_values(ctx, "message")
    message, _ = find_or_create(
        find,
        lambda: ctx.client.create_message(
            conversation_id=conv.kustomer_conversation_id, channel=action.channel, direction=action.direction,
            app=MESSAGE_APP, preview=action.preview[:1000], external_id=ext, custom=custom or None,
            attachments=[a["_id"] for a in attachments] or None,  # messages take bare ids
            meta={"sessionId": ctx.event.session_id, "eventId": ctx.event.event_id, "eventType": ctx.event.type},
            sent_at=ctx.event.occurred_at,  # R-P7: the timeline shows when it happened
        ),
        look_first=False,
    )
    reopened = rules.status_after_message(conv.status or None, action.direction)
    if reopened is not None:
        mirror_status_set(conv, status=reopened, updated_at=message.created_at, synced_at=timezone.now())
    ctx.ids.setdefault("message_ids", []).append(message.id)
    return {**row.result, "message_id": message.id}


def _file_or_later(ctx: EventContext, row: EventAction, *, number: int, key: str, label: str, name: str, url: str,
                   content_type: str | None = None) -> list[dict[str, Any]]:
    """The file's attachment reference, or none when it does not answer now: then it is
    retried on its own (late_files.py) and the record is written without it."""
    try:
        return [attachment_add(ctx, row, key, name,
                               lambda: file_fetched(url, content_type, tenant_id=ctx.tenant.pk,
                                                    deadline=settings.SYNC_FETCH_INLINE_DEADLINE_SECONDS))]
    except FetchError as exc:
        if not exc.retryable:
            raise
        late_file_defer(ctx, row, number=number, label=label, name=name, url=url, content_type=content_type, error=exc)
        return []


def _exec_add_note(ctx: EventContext, action: rules.AddNote, row: EventAction) -> dict[str, Any]:
    conv = _require_conversation(ctx)
    ext = external_id(ctx.tenant.slug, "note", ctx.event.event_id, row.index)

    def find():
        return ctx.client.find_conversation_note(conversation_id=conv.kustomer_conversation_id, external_id=ext)

    if row.attempts > 1 and (found := find()) is not None:
        ctx.ids.setdefault("note_ids", []).append(found.id)
        return {"note_id": found.id, "found": True}
    attachments = []
    if action.transcript:
        text = render_transcript(session_id=ctx.event.session_id, lines=list(action.transcript))
        attachments.append(attachment_add(ctx, row, "transcript", f"chat-transcript-{ctx.event.session_id}.txt",
                                   lambda: ("text/plain", text.encode("utf-8"))))
    for number, item in enumerate(action.files):
        url = str(item.get("url"))
        name = str(item.get("name") or file_name_from_url(url, f"file-{number + 1}"))
        attachments += _file_or_later(ctx, row, number=number + 1, key=f"file-{number}", label="File", name=name,
                                      url=url, content_type=item.get("content_type"))
    note, _ = find_or_create(
        find,
        lambda: ctx.client.create_note(conversation_id=conv.kustomer_conversation_id, body=action.body[:10000],
                                       external_id=ext, attachments=attachments or None,
                                       created_at=ctx.event.occurred_at),  # R-P7
        look_first=False,
    )
    ctx.ids.setdefault("note_ids", []).append(note.id)
    return {**row.result, "note_id": note.id}


def _exec_assign_conversation(ctx: EventContext, action: rules.AssignConversation, row: EventAction) -> dict[str, Any]:
    conv = _require_conversation(ctx)
    user_id = kustomer_user_id_for(ctx, action.agent_email)
    if user_id is None:
        return {"skipped": True, "reason": f"no Kustomer user with email {action.agent_email}"}
    ctx.ids["assigned_user_id"] = user_id
    if ctx.ids.get("assigned_at_create") == user_id and conv.founding_session_id == ctx.event.session_id:
        return {"user_id": user_id, "at_create": True}
    ctx.client.update_conversation(conversation_id=conv.kustomer_conversation_id, assigned_users=[user_id])
    return {"user_id": user_id}


def _exec_assign_team(ctx: EventContext, action: rules.AssignTeam, row: EventAction) -> dict[str, Any]:
    conv = _require_conversation(ctx)
    if ctx.ids.get("team_refused"):
        return {"skipped": True, "reason": f"Kustomer refused team {action.team_id}: {ctx.ids['team_refused']}"}
    ctx.ids["assigned_team_id"] = action.team_id
    if ctx.ids.get("team_at_create") == action.team_id and conv.founding_session_id == ctx.event.session_id:
        return {"team_id": action.team_id, "at_create": True}
    try:
        ctx.client.update_conversation(conversation_id=conv.kustomer_conversation_id, assigned_teams=[action.team_id])
    except KustomerBadRequestError as exc:
        return {"skipped": True, "reason": f"Kustomer refused team {action.team_id}: {str(exc)[:300]}"}
    return {"team_id": action.team_id}


def _exec_assign_customer(ctx: EventContext, action: rules.AssignCustomer, row: EventAction) -> dict[str, Any]:
    if ctx.customer_id is None:
        raise EventFailed("no Kustomer customer to assign")
    user_id = kustomer_user_id_for(ctx, action.agent_email)
    if user_id is None:
        return {"skipped": True, "reason": f"no Kustomer user with email {action.agent_email}"}
    ctx.client.update_customer(customer_id=ctx.customer_id, custom={
        "ccAssignedUserStr": user_id, "ccAssignedAgentEmailStr": action.agent_email,
    })
    return {"user_id": user_id}


def _exec_update_conversation(ctx: EventContext, action: rules.UpdateConversation, row: EventAction) -> dict[str, Any]:
    conv = _require_conversation(ctx)
    custom = {k: v for k, v in dict(action.custom).items() if v is not None}
    updated = ctx.client.update_conversation(conversation_id=conv.kustomer_conversation_id, status=action.status,
                                             custom=custom or None)
    if updated.status:
        mirror_status_set(conv, status=updated.status, updated_at=updated.updated_at, synced_at=timezone.now())
    return {"status": updated.status}


ACTION_EXECUTORS = {
    "ensure_customer": _exec_ensure_customer,
    "skip_event": _exec_skip_event,
    "use_customer": _exec_use_customer,
    "create_conversation": _exec_create_conversation,
    "join_conversation": _exec_join_conversation,
    "add_message": _exec_add_message,
    "add_note": _exec_add_note,
    "assign_conversation": _exec_assign_conversation,
    "assign_team": _exec_assign_team,
    "assign_customer": _exec_assign_customer,
    "update_conversation": _exec_update_conversation,
}
