"""Values the actions write: session facts for custom fields, Kustomer user ids of
agents, transcripts, and files fetched for attachments."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any


from core.dates import parse_datetime
from conversations import rules
from conversations.fetch import fetch_file, policy_from_settings
from conversations.models import (
    EventAction,
    SessionLink,
)
from conversations.services.context import EventContext


def session_facts(ctx: EventContext) -> Any:
    """customfields' SessionFacts for the event's session (R-F1, R-F3, R-U8)."""
    from customfields.selectors import SessionFacts

    facts, data = ctx.facts, ctx.facts.data
    if ctx.session_link_read:  # the run has the session's row (or knows it has none yet)
        link = ctx.session_link
    else:
        link = SessionLink.objects.filter(tenant=ctx.tenant, session_id=facts.session_id).first()
    return SessionFacts(session_id=facts.session_id, started_at=link.started_at if link else facts.occurred_at,
                        custom_data=dict(data.get("custom_data") or {}), **_session_fields(facts))


def _session_fields(facts: rules.EventFacts) -> dict[str, Any]:
    """What one event says of its session, in SessionFacts' terms (live: this event's;
    a backfill merges them over the session's events, held_session_facts)."""
    data = facts.data
    csat = facts.type == rules.CSAT_SUBMITTED
    return {
        "session_type": rules.session_kind(facts), "channel": facts.channel, "source": facts.source,
        "queue_name": facts.queue, "menu": facts.menu, "from_phone": facts.phone,
        "end_user_identifier": facts.identifier, "end_user_email": facts.email,
        "call_duration_seconds": data.get("duration_seconds") if facts.type == rules.SESSION_ENDED else None,
        "hold_seconds": data.get("hold_seconds"), "wait_seconds": data.get("wait_seconds"),
        "csat_rating": data.get("rating") if csat else None,
        "csat_comment": data.get("comment") if csat else None,
    }


def custom_field_values(ctx: EventContext, klass: str) -> dict[str, Any]:
    from customfields.selectors import custom_field_values_for_session, custom_fields_created

    if ctx.custom_fields is None:  # once per run, for every klass it writes
        ctx.custom_fields = custom_fields_created(tenant=ctx.tenant)
    return dict(custom_field_values_for_session(tenant=ctx.tenant, klass=klass, facts=session_facts(ctx),
                                                fields=ctx.custom_fields) or {})


def kustomer_user_id_for(ctx: EventContext, email: str) -> str | None:
    """The Kustomer user of an agent, matched by email (R-S5): statusmapping's one
    look-up, once per email in a run (an event's actions often name one agent twice)."""
    from statusmapping.services import kustomer_user_id_for_email

    if email not in ctx.user_ids:
        ctx.user_ids[email] = kustomer_user_id_for_email(tenant=ctx.tenant, client=ctx.client, email=email)
    return ctx.user_ids[email]


def render_transcript(*, session_id: str, lines: list[dict[str, Any]]) -> str:
    """R-D4: the chat transcript as a readable text file."""
    out = [f"Chat transcript: session {session_id}", ""]
    for line in lines:
        at = line.get("at") or ""
        when = parse_datetime(at, strict=True) if isinstance(at, str) else None
        stamp = when.strftime("%Y-%m-%d %H:%M:%S %Z").strip() if when else str(at)
        out.append(f"[{stamp}] {line.get('from') or '?'}: {line.get('text') or ''}")
    return "\n".join(out) + "\n"


def attachment_add(ctx: EventContext, row: EventAction, key: str, name: str,
            produce: Callable[[], tuple[str, bytes]]) -> dict[str, Any]:
    """Upload once per action and file: the attachment's reference (``{_id, name,
    contentType, contentLength}``) is kept in the action's result before the message or
    note that lists it is sent, so a retry does not upload it again."""
    done = dict(row.result.get("attachments") or {})
    if key in done:
        return done[key]
    content_type, content = produce()  # fetched only when not uploaded yet
    upload = ctx.client.upload_file(name=name, content_type=content_type, content=content)
    reference = upload.reference()
    reference["contentLength"] = reference.get("contentLength") or len(content)
    done[key] = reference
    row.result = {**row.result, "attachments": done}
    EventAction.objects.filter(pk=row.pk).update(result=row.result)
    ctx.ids.setdefault("attachment_ids", []).append(upload.id)
    return reference


def file_fetched(url: str, declared_type: str | None = None, *, tenant_id: int | None = None,
                 deadline: float | None = None) -> tuple[str, bytes]:
    """The file at `url`, counted against the tenant's concurrent fetches; within
    `deadline` seconds when given (at most the configured deadline)."""
    policy = policy_from_settings()
    if deadline is not None and deadline < policy.deadline:
        policy = dataclasses.replace(policy, deadline=deadline)
    fetched = fetch_file(url, policy=policy, tenant_id=tenant_id)
    return (declared_type or fetched.content_type), fetched.content


def file_name_from_url(url: str, fallback: str) -> str:
    from urllib.parse import urlsplit

    tail = urlsplit(url).path.rsplit("/", 1)[-1]
    return tail or fallback


def held_session_facts(*, link: SessionLink, events: list) -> Any:
    """R-O3: customfields' SessionFacts of a past session from every event the portal
    holds of it (in order; a later event's value wins, an absent one keeps the earlier):
    what `session_facts` gives each event live, for the whole session at once."""
    from customfields.selectors import SessionFacts

    from conversations.services.context import event_facts

    merged: dict[str, Any] = {}
    custom_data: dict[str, Any] = {}
    for event in events:
        facts = event_facts(event)
        data = facts.data
        one = _session_fields(facts)
        merged.update({k: v for k, v in one.items() if v is not None and v != ""})
        custom_data.update(dict(data.get("custom_data") or {}))
    merged.setdefault("session_type", "call")
    merged.setdefault("channel", "voice")
    merged.setdefault("source", "ivr")
    return SessionFacts(session_id=link.session_id, started_at=link.started_at, custom_data=custom_data, **merged)
