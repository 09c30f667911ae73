"""Writes about custom fields: create, retry, delete, and the push to Kustomer's metadata.

The request side only writes rows and enqueues after the commit (`core.queue`); the Celery task calls
`custom_field_push`, the one place that talks to Kustomer about a field.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from customfields import rules
from customfields.models import CustomField
from integrations.kustomer.errors import KustomerError, KustomerTransientError
from integrations.metadata import kustomer_metadata_merge
from integrations.selectors import kustomer_connection_exists, kustomer_connection_get
from integrations.services import kustomer_client_for, kustomer_connection_record_error
from core.errors import ApplicationError, ConflictError, NotFoundError
from core.queue import enqueue_on_commit
from tenants.models import Tenant

logger = logging.getLogger(__name__)

# Transient Kustomer errors are retried this many times (with backoff) before the field
# is marked failed with the last error; the admin can then retry by hand.
PUSH_MAX_RETRIES = 6
# A field still pending this long after its last attempt lost its task (broker loss,
# killed worker): the sweeper queues it again.
STALE_PENDING_AFTER_SECONDS = 15 * 60
# Attempts over all of a field's tasks (each retries PUSH_MAX_RETRIES times) before the
# sweeper stops queueing it again and fails it.
PUSH_MAX_ATTEMPTS = 3 * (PUSH_MAX_RETRIES + 1)


def _require_connection(tenant: Tenant) -> None:
    if not kustomer_connection_exists(tenant=tenant):
        raise ApplicationError(
            gettext("Connect this tenant to Kustomer first (Developer settings › Kustomer "
                    "connection): fields are created in your Kustomer org.")
        )


def _enqueue_push(field_id: int) -> None:
    from customfields.tasks import custom_field_push_task

    enqueue_on_commit(custom_field_push_task, field_id)


def _insert(field: CustomField) -> CustomField:
    """Save a new field; a live field with the same Kustomer attribute is a 409 (R-F4)."""
    existing = _live_field_with_attribute(field)
    if existing is not None:
        raise _duplicate_error(field, existing)
    try:
        with transaction.atomic():
            field.save()
    except IntegrityError:
        # Two creates raced past the check above: the unique constraint decided.
        existing = _live_field_with_attribute(field)
        if existing is None:
            raise
        raise _duplicate_error(field, existing) from None
    return field


def _live_field_with_attribute(field: CustomField) -> CustomField | None:
    return CustomField.objects.filter(
        tenant=field.tenant, klass=field.klass, attribute_name=field.attribute_name, deleted_at__isnull=True
    ).first()


def _duplicate_error(field: CustomField, existing: CustomField) -> ConflictError:
    where = CustomField.Klass(existing.klass).label
    if existing.kind == field.kind and existing.catalogue_key and existing.catalogue_key == field.catalogue_key:
        message = (
            f"The field '{existing.display_name}' already exists ({existing.get_state_display().lower()}, "
            f"Kustomer attribute {existing.attribute_name}). Delete it first to create it again."
        )
    else:
        message = (
            f"The Kustomer attribute {field.attribute_name} of {where} is already used by the field "
            f"'{existing.display_name}' ({existing.get_state_display().lower()})."
        )
    return ConflictError(message, field="sdk_key" if field.kind == CustomField.Kind.SDK else "key")


def custom_field_create_from_catalogue(*, tenant: Tenant, key: str) -> CustomField:
    """Create a catalogue field (R-F1) and queue its creation in Kustomer (R-F2)."""
    definition = rules.CATALOGUE_BY_KEY.get(key or "")
    if definition is None:
        known = ", ".join(rules.CATALOGUE_BY_KEY)
        raise ApplicationError(gettext("No catalogue field %(key)s. Known fields: %(known)s.")
                               % {"key": repr(key), "known": known}, field="key")
    _require_connection(tenant)
    field = CustomField(
        tenant=tenant,
        kind=CustomField.Kind.CATALOGUE,
        catalogue_key=definition.key,
        klass=definition.klass.value,
        attribute_name=definition.attribute_name,
        display_name=definition.display_name,
        value_type=definition.value_type.value,
    )
    with transaction.atomic():
        _insert(field)
        _enqueue_push(field.pk)
    return field


def custom_field_create_for_sdk(
    *, tenant: Tenant, sdk_key: str, display_name: str, value_type: str, klass: str = CustomField.Klass.MESSAGE
) -> CustomField:
    """Create a field fed from SDK custom data (R-D3): the attribute name comes from the
    SDK key and the type (`orderId` + Str -> `orderIdStr`)."""
    errors: dict[str, list[str]] = {}
    sdk_key = (sdk_key or "").strip()
    attribute_name = cleaned_display_name = ""
    try:
        attribute_name = rules.sdk_attribute_name(sdk_key=sdk_key, value_type=value_type)
    except rules.NameProblem as problem:
        errors.setdefault(problem.field, []).append(problem.message)
    try:
        cleaned_display_name = rules.clean_display_name(display_name)
    except rules.NameProblem as problem:
        errors.setdefault(problem.field, []).append(problem.message)
    if klass not in CustomField.Klass.values:
        errors.setdefault("klass", []).append(
            f"Choose where the field lives: {' or '.join(CustomField.Klass.values)} (not {klass!r})."
        )
    if errors:
        first = next(iter(errors.values()))[0]
        raise ApplicationError(first, errors=errors)
    _require_connection(tenant)
    field = CustomField(
        tenant=tenant,
        kind=CustomField.Kind.SDK,
        sdk_key=sdk_key,
        klass=klass,
        attribute_name=attribute_name,
        display_name=cleaned_display_name,
        value_type=value_type,
    )
    with transaction.atomic():
        _insert(field)
        _enqueue_push(field.pk)
    return field


def _get_live(*, tenant: Tenant, field_id: int, lock: bool = False) -> CustomField:
    qs = CustomField.objects.filter(tenant=tenant, pk=field_id, deleted_at__isnull=True)
    if lock:
        qs = qs.select_for_update()
    field = qs.first()
    if field is None:  # another tenant's id answers the same as a missing one (R-A1)
        raise NotFoundError(gettext("No such custom field."))
    return field


def custom_field_retry(*, tenant: Tenant, field_id: int) -> CustomField:
    """Queue a failed field's creation in Kustomer again (after the cause was fixed)."""
    with transaction.atomic():
        field = _get_live(tenant=tenant, field_id=field_id, lock=True)  # a foreign id is a 404 first (R-A1)
        _require_connection(tenant)
        if field.state == CustomField.State.CREATED:
            raise ConflictError(gettext("'%(display_name)s' is already created in Kustomer "
                                        "(%(attribute_name)s).")
                                        % {"display_name": field.display_name, "attribute_name": field.attribute_name})
        if field.state == CustomField.State.PENDING:
            raise ConflictError(gettext("'%(display_name)s' is being created in Kustomer right now.")
                                % {"display_name": field.display_name})
        field.state = CustomField.State.PENDING
        field.error = ""
        field.save(update_fields=["state", "error", "updated_at"])
        _enqueue_push(field.pk)
    return field


def custom_field_delete(*, tenant: Tenant, field_id: int) -> CustomField:
    """Stop pushing values for the field (R-F4). Kustomer keeps the attribute and every
    value already written: the portal never deletes data in Kustomer."""
    with transaction.atomic():
        field = _get_live(tenant=tenant, field_id=field_id, lock=True)
        field.deleted_at = timezone.now()
        field.save(update_fields=["deleted_at", "updated_at"])
    return field


# ---------------------------------------------------------------------------- the push
def _finish(field_id: int, **changes) -> None:
    CustomField.objects.filter(pk=field_id).update(**changes, updated_at=timezone.now())


def custom_field_mark_failed(*, field_id: int, error: str) -> None:
    """Give up on a pending field with `error` shown next to it (a retry starts over)."""
    CustomField.objects.filter(pk=field_id, state=CustomField.State.PENDING).update(
        state=CustomField.State.FAILED, error=error[:4000], updated_at=timezone.now()
    )


def custom_field_push(*, field_id: int) -> CustomField | None:
    """Make the field's attribute exist in the tenant's Kustomer org (R-F2).

    Reads the klass's metadata, then PUTs it back with the attribute added, never
    dropping attributes someone else made. An attribute Kustomer already has with the
    same name and type is adopted; one with another type fails the field with a clear
    message and is left alone. A permanent Kustomer error fails the field with
    Kustomer's own text; a transient one is recorded and re-raised for the task to retry.
    """
    field = CustomField.objects.filter(pk=field_id).first()
    if field is None or field.deleted_at is not None or field.state != CustomField.State.PENDING:
        return field
    connection = kustomer_connection_get(tenant_id=field.tenant_id)
    if connection is None:
        custom_field_mark_failed(field_id=field_id, error="This tenant has no Kustomer connection any more.")
        return field

    client = kustomer_client_for(connection=connection)
    transient: KustomerError | None = None
    try:
        field = CustomField.objects.get(pk=field_id)
        CustomField.objects.filter(pk=field_id).update(
            attempts=F("attempts") + 1, last_attempt_at=timezone.now(), updated_at=timezone.now()
        )
        try:
            _push(client, field)
        except KustomerTransientError as exc:
            transient = exc
        except KustomerError as exc:
            logger.info("custom field %s failed in Kustomer: %s", field_id, exc)
            custom_field_mark_failed(field_id=field_id, error=str(exc))
            kustomer_connection_record_error(connection=connection, error=str(exc))
    finally:
        client.close()
    if transient is not None:
        # Still pending: show what happened while the task waits to retry.
        _finish(field_id, error=f"{transient} (retrying)")
        raise transient
    field.refresh_from_db()
    return field


def _push(client, field: CustomField) -> None:
    """Read, decide and write under the tenant's metadata lock (the one writer of
    Kustomer metadata, shared with tenant set-up): the attribute is adopted when
    Kustomer already has it, refused when its name is taken by another type, and added
    otherwise, never dropping attributes someone else made."""
    decided: dict[str, rules.AttributeCheck] = {}

    def additions(existing):
        current = CustomField.objects.get(pk=field.pk)
        if current.deleted_at is not None or current.state != CustomField.State.PENDING:
            return {}  # deleted or finished by another push meanwhile
        decided["check"] = check = rules.check_attribute(field.attribute_name, existing)
        if check.decision is not rules.AttributeDecision.CREATE:
            return {}
        return {field.attribute_name: {"displayName": field.display_name}}

    write = kustomer_metadata_merge(tenant_id=field.tenant_id, client=client, resource=field.klass,
                                    additions=additions)
    check = decided.get("check")
    if check is None:
        return
    if check.decision is rules.AttributeDecision.CONFLICT:
        custom_field_mark_failed(field_id=field.pk, error=check.message)
    elif check.decision is rules.AttributeDecision.ADOPT:
        _finish(field.pk, state=CustomField.State.CREATED, created_at=timezone.now(), adopted=True, error="")
    elif write.after is None or field.attribute_name not in write.after.properties:
        custom_field_mark_failed(
            field_id=field.pk,
            error=f"Kustomer accepted the change but does not list {field.attribute_name} in its {field.klass} metadata.",
        )
    else:
        _finish(field.pk, state=CustomField.State.CREATED, created_at=timezone.now(), adopted=False, error="")


def custom_fields_requeue_stale(*, older_than_seconds: int = STALE_PENDING_AFTER_SECONDS,
                                queued_before: datetime | None = None) -> int:
    """Queue again pending fields whose task was lost (SPEC §5: the database is the inbox).
    Only fields last touched before `queued_before` (the sweeper's mark, core.queue), so
    one still queued is not sent twice; a field that has been tried PUSH_MAX_ATTEMPTS
    times over its re-queues is failed instead, never retried forever."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    if queued_before is not None:
        cutoff = min(cutoff, queued_before)
    stale = CustomField.objects.filter(state=CustomField.State.PENDING, deleted_at__isnull=True, updated_at__lt=cutoff)
    for field in stale.filter(attempts__gte=PUSH_MAX_ATTEMPTS).only("pk", "attempts", "error")[:500]:
        custom_field_mark_failed(
            field_id=field.pk,
            error=f"{field.error or 'Not created in Kustomer'} — gave up after {field.attempts} attempts; "
                  "retry once Kustomer answers again.")
    ids = list(stale.filter(attempts__lt=PUSH_MAX_ATTEMPTS).values_list("pk", flat=True)[:500])
    for field_id in ids:
        with transaction.atomic():
            # Touch the row so the next sweep waits for this task instead of doubling it.
            _finish(field_id)
            _enqueue_push(field_id)
    return len(ids)


def custom_fields_org_moved(*, tenant: Tenant, move_id: int) -> int:
    """R-S14: inside the swap's transaction (integrations' `org_moved`), every live field
    is created again in the new org (its attributes are not there yet)."""
    from integrations.verification import org_move_note

    fields = list(CustomField.objects.filter(tenant=tenant, deleted_at__isnull=True).values_list("pk", flat=True))
    CustomField.objects.filter(pk__in=fields).update(state=CustomField.State.PENDING, error="", updated_at=timezone.now())
    for field_id in fields:
        _enqueue_push(field_id)
    org_move_note(move_id=move_id, custom_fields=f"{len(fields)} created again in the new org")
    return len(fields)


# R-O3 backfill: its writes live in backfill.py; the pages and the API start and cancel here.
from customfields.backfill import backfill_cancel, backfill_start  # noqa: E402,F401
