"""Reads about custom fields: what the page and API list, and the values the sync pushes."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext

from customfields import backfill_rules, rules
from customfields.backfill_rules import Progress
from customfields.models import BackfillJob, CustomField
from customfields.rules import SessionFacts  # the input of custom_field_values_for_session: other apps take it from here
from core.errors import NotFoundError
from tenants.models import Tenant


def custom_field_list(*, tenant: Tenant) -> QuerySet[CustomField]:
    """The tenant's live fields (deleted ones are gone for the portal and the sync)."""
    return CustomField.objects.filter(tenant=tenant, deleted_at__isnull=True)


def custom_field_get(*, tenant: Tenant, field_id: int) -> CustomField:
    field = custom_field_list(tenant=tenant).filter(pk=field_id).first()
    if field is None:  # another tenant's id answers like a missing one (R-A1)
        raise NotFoundError(gettext("No such custom field."))
    return field


@dataclass(frozen=True)
class CatalogueRow:
    """One catalogue entry and the tenant's field made from it, if any."""

    definition: rules.CatalogueField
    field: CustomField | None


def custom_field_catalogue(*, tenant: Tenant) -> list[CatalogueRow]:
    """Every catalogue entry (R-F1) with the tenant's live field for it."""
    by_key = {
        f.catalogue_key: f for f in custom_field_list(tenant=tenant).filter(kind=CustomField.Kind.CATALOGUE)
    }
    return [CatalogueRow(definition=d, field=by_key.get(d.key)) for d in rules.CATALOGUE]


def custom_field_value(field: CustomField, facts: SessionFacts) -> Any:
    """The value one field gets for a session (None: leave the attribute out)."""
    if field.kind == CustomField.Kind.SDK:
        return rules.sdk_field_value(facts, sdk_key=field.sdk_key, value_type=field.value_type)
    definition = rules.CATALOGUE_BY_KEY.get(field.catalogue_key)
    if definition is None:  # an entry since removed from the catalogue
        return None
    return definition.value(facts)


def custom_fields_created(*, tenant: Tenant) -> list[CustomField]:
    """The tenant's live fields Kustomer has (state created), of every klass: what
    `custom_field_values_for_session` reads, for a caller that writes several klasses."""
    return list(custom_field_list(tenant=tenant).filter(state=CustomField.State.CREATED))


def custom_field_values_for_session(*, tenant: Tenant, klass: str, facts: SessionFacts,
                                    fields: list[CustomField] | None = None) -> dict[str, Any]:
    """`{Kustomer attribute name: value}` to put in the `custom` of a Kustomer record of
    `klass` ("customer" or "message") for the session `facts` describes.

    Only the tenant's live fields of that klass that Kustomer has (state created) count,
    and only those created before the session started (R-F3: earlier sessions are never
    touched). None values are left out. "conversation" (a Kustomer klass no field lives
    on) gives {}. Raises ValueError for any other klass or a naive `facts.started_at`.
    `fields`: the tenant's `custom_fields_created` already read (else they are read now).
    """
    if klass not in CustomField.Klass.values and klass != "conversation":
        raise ValueError(f"klass must be one of {CustomField.Klass.values}, not {klass!r}")
    started_at = facts.started_at
    if started_at.tzinfo is None or started_at.utcoffset() is None:
        raise ValueError("facts.started_at must be timezone-aware")
    if fields is None:
        fields = custom_field_list(tenant=tenant).filter(
            klass=klass, state=CustomField.State.CREATED, created_at__lt=started_at
        )
    else:
        fields = [f for f in fields if f.klass == klass and f.state == CustomField.State.CREATED
                  and f.created_at < started_at]
    values: dict[str, Any] = {}
    for field in fields:
        value = custom_field_value(field, facts)
        if value is not None:
            values[field.attribute_name] = value
    return values


# ------------------------------------------------------------------------ R-O3 backfill
def backfill_jobs_recent(*, tenant: Tenant, limit: int = 10) -> QuerySet[BackfillJob]:
    return BackfillJob.objects.filter(tenant=tenant).select_related("field").order_by("-created_at", "-pk")[:limit]


def backfill_job_get(*, tenant: Tenant, job_id: int) -> BackfillJob:
    job = BackfillJob.objects.filter(tenant=tenant, pk=job_id).select_related("field").first()
    if job is None:  # another tenant's id answers like a missing one (R-A1)
        raise NotFoundError(gettext("No such backfill."))
    return job


def backfill_progress(job: BackfillJob) -> Progress:
    """done / total, percent, rate and time left as the page and the API show them."""
    return backfill_rules.backfill_progress(done=job.done, total=job.total, rate_per_minute=job.rate_per_minute,
                                            active=job.is_active)


def backfill_fields(*, tenant: Tenant) -> list[CustomField]:
    """The fields a backfill may fill: live and created in Kustomer."""
    return list(custom_field_list(tenant=tenant).filter(state=CustomField.State.CREATED))
