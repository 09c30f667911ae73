"""Files that cannot be fetched yet never hold a customer's line (issue 22).

When a recording or a SmartAction file does not answer (a timeout, a 5xx, every fetch
slot of the tenant busy), the message or note it belongs to is written without it and
the event finishes, so the customer's later events go on. The file becomes an action of
its own (``attach_file``), retried by a task with backoff, shown on the event's page as
pending with its next attempt. When it arrives it lands as a note on the same
conversation carrying the file (its own externalId, so a retry never adds it twice).
After its last try the event ends failed for that file only; Retry tries it again.
A refused file (policy, 4xx) is final at once, as before.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from conversations.fetch import FetchError
from conversations.models import Event, EventAction
from conversations.services.context import EventContext, event_facts
from conversations.services.values import attachment_add, file_fetched
from integrations.kustomer.errors import KustomerError
from integrations.kustomer.external_ids import external_id
from integrations.kustomer.client import find_or_create
from integrations.selectors import kustomer_connection_get
from integrations.services import kustomer_client_for

logger = logging.getLogger(__name__)

ATTACH_FILE = "attach_file"
# A late file's action index: after every planned action, unique per action and file.
LATE_INDEX_BASE = 10_000
LATE_FILE_BACKOFF_BASE_SECONDS = 10.0
LATE_FILE_BACKOFF_CAP_SECONDS = 15 * 60.0


def late_file_defer(ctx: EventContext, row: EventAction, *, number: int, label: str, name: str, url: str,
                    content_type: str | None, error: FetchError) -> None:
    """The file of `row` did not answer: its action writes without it; the file is
    retried on its own once the event is done."""
    EventAction.objects.get_or_create(
        event=ctx.event, index=LATE_INDEX_BASE + row.index * 100 + number,
        defaults={
            "kind": ATTACH_FILE, "rule": row.rule, "error": f"file fetch: {error}"[:2000],
            "params": {"url": url, "name": name, "content_type": content_type, "label": label, "for_index": row.index},
            "result": {"next_attempt_at": (timezone.now() + timedelta(seconds=_backoff(0))).isoformat()},
        },
    )
    ctx.late_files_possible = True  # its task is sent once the event is done
    logger.info("event %s: %s not fetched now (%s); retried on its own", ctx.event.event_id, name, error)


def late_files_schedule(*, event_pk: int) -> int:
    """Queue the task of each file of the event still waiting (after the event is done)."""
    from conversations.tasks import late_file_fetch_task

    count = 0
    for row in EventAction.objects.filter(event_id=event_pk, kind=ATTACH_FILE, state=EventAction.State.PENDING):
        at = late_file_next_attempt_at(row) or timezone.now()
        late_file_fetch_task.apply_async((row.pk,), countdown=max(0.0, (at - timezone.now()).total_seconds()))
        count += 1
    return count


def late_file_next_attempt_at(row: EventAction):
    value = (row.result or {}).get("next_attempt_at")
    return parse_datetime(value) if isinstance(value, str) else None


def late_file_fetch(*, action_pk: int) -> str:
    """One try of a late file. Returns what happened (logs, tests)."""
    from conversations.tasks import late_file_fetch_task

    row = EventAction.objects.select_related("event__tenant").filter(pk=action_pk, kind=ATTACH_FILE).first()
    if row is None or row.state != EventAction.State.PENDING:
        return "nothing to do"
    event = row.event
    if event.state != Event.State.DONE or not event.kustomer_conversation_id:
        return "waits for its event"
    connection = kustomer_connection_get(tenant_id=event.tenant_id)
    if connection is None:
        return _give_up(row, "the tenant has no Kustomer connection")
    EventAction.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1)
    row.attempts += 1
    client = kustomer_client_for(connection=connection)
    ctx = EventContext(tenant=event.tenant, event=event, facts=event_facts(event), client=client,
                       ids=dict(event.kustomer_ids or {}))
    params = row.params
    try:
        reference = attachment_add(ctx, row, "file", params["name"],
                                   lambda: file_fetched(params["url"], params.get("content_type"), tenant_id=event.tenant_id))
        ext = external_id(event.tenant.slug, "note", event.event_id, row.index)
        note, _ = find_or_create(
            lambda: client.find_conversation_note(conversation_id=event.kustomer_conversation_id, external_id=ext),
            lambda: client.create_note(
                conversation_id=event.kustomer_conversation_id, external_id=ext, attachments=[reference],
                body=f"{params.get('label') or 'File'} of session {event.session_id}: {params['name']} "
                     f"(fetched after the event's records were written)."),
            look_first=row.attempts > 1,
        )
    except (FetchError, KustomerError) as exc:
        retryable = getattr(exc, "retryable", False)
        if not retryable or row.attempts >= settings.SYNC_LATE_FILE_MAX_ATTEMPTS:
            return _give_up(row, f"gave up after {row.attempts} tries: {exc}" if retryable else f"refused: {exc}")
        wait = _backoff(row.attempts)
        EventAction.objects.filter(pk=row.pk).update(
            error=f"file fetch: {exc}"[:2000],
            result={**row.result, "next_attempt_at": (timezone.now() + timedelta(seconds=wait)).isoformat()})
        late_file_fetch_task.apply_async((row.pk,), countdown=wait)
        return f"waits {wait:.0f}s"
    finally:
        client.close()
    ids = dict(Event.objects.get(pk=event.pk).kustomer_ids or {})
    ids.setdefault("note_ids", []).append(note.id)
    ids.setdefault("attachment_ids", []).extend(i for i in ctx.ids.get("attachment_ids", [])
                                                if i not in ids.get("attachment_ids", []))
    with transaction.atomic():
        EventAction.objects.filter(pk=row.pk).update(
            state=EventAction.State.DONE, error="", done_at=timezone.now(),
            result={**{k: v for k, v in row.result.items() if k != "next_attempt_at"}, "note_id": note.id})
        Event.objects.filter(pk=event.pk).update(kustomer_ids=ids, updated_at=timezone.now())
    return "attached"


def _give_up(row: EventAction, message: str) -> str:
    name = row.params.get("name") or "file"
    with transaction.atomic():
        EventAction.objects.filter(pk=row.pk).update(
            state=EventAction.State.FAILED, error=message[:2000],
            result={k: v for k, v in row.result.items() if k != "next_attempt_at"})
        Event.objects.filter(pk=row.event_id).update(
            state=Event.State.FAILED, error=f"attachment {name}: {message}"[:4000], updated_at=timezone.now())
    logger.warning("event %s: attachment %s failed: %s", row.event.event_id, name, message)
    return "failed"


def late_files_reset(*, event: Event) -> None:
    """Retry of an event failed for a file: its file gets a full set of tries again."""
    EventAction.objects.filter(event=event, kind=ATTACH_FILE, state=EventAction.State.FAILED).update(
        state=EventAction.State.PENDING, error="", attempts=0)


def late_files_waiting(event: Event) -> list[dict[str, Any]]:
    return [
        {"name": row.params.get("name"), "next_attempt_at": late_file_next_attempt_at(row), "error": row.error,
         "attempts": row.attempts}
        for row in EventAction.objects.filter(event=event, kind=ATTACH_FILE, state=EventAction.State.PENDING)
    ]


def _backoff(attempts: int) -> float:
    return min(LATE_FILE_BACKOFF_CAP_SECONDS, LATE_FILE_BACKOFF_BASE_SECONDS * (2 ** attempts))


def late_files_requeue(*, cutoff) -> int:
    """The sweeper's part: a waiting file whose try was due before `cutoff` (the sweep's
    deadline and mark) lost its task; it is sent again."""
    from conversations.tasks import late_file_fetch_task

    count = 0
    for row in EventAction.objects.filter(kind=ATTACH_FILE, state=EventAction.State.PENDING,
                                          event__state=Event.State.DONE).only("pk", "result")[:1000]:
        at = late_file_next_attempt_at(row)
        if at is not None and at >= cutoff:
            continue
        EventAction.objects.filter(pk=row.pk).update(result={**row.result, "next_attempt_at": timezone.now().isoformat()})
        late_file_fetch_task.apply_async((row.pk,))
        count += 1
    return count
