"""A tenant's custom fields: the catalogue entries and SDK fields it created in Kustomer."""
from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customfields import rules
from tenants.models import Tenant


class CustomField(models.Model):
    """One Kustomer custom attribute the portal created (or adopted) for a tenant.

    A catalogue field (R-F1) has `catalogue_key`; an SDK custom-data field (R-D3) has
    `sdk_key` and the admin's display name and type. `created_at` is when Kustomer had
    the attribute: only sessions that start after it get values (R-F3). Deleting sets
    `deleted_at` (R-F4): pushes stop and Kustomer keeps the attribute and its data.
    """

    class Kind(models.TextChoices):
        CATALOGUE = "catalogue", _("Catalogue")
        SDK = "sdk", _("SDK custom data")

    class Klass(models.TextChoices):
        CUSTOMER = "customer", _("Account (Kustomer customer)")
        MESSAGE = "message", _("Record (Kustomer message)")

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        CREATED = "created", _("Created")
        FAILED = "failed", _("Failed")

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="custom_fields")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    catalogue_key = models.CharField(max_length=50, blank=True)
    sdk_key = models.CharField(max_length=rules.MAX_SDK_KEY_LENGTH, blank=True)
    klass = models.CharField(max_length=10, choices=Klass.choices)
    attribute_name = models.CharField(max_length=80)
    display_name = models.CharField(max_length=rules.MAX_DISPLAY_NAME_LENGTH)
    value_type = models.CharField(max_length=4, choices=[(t.value, t.label) for t in rules.ValueType])

    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    requested_at = models.DateTimeField(default=timezone.now)
    # When Kustomer had the attribute (our PUT answered, or it already existed): R-F3.
    created_at = models.DateTimeField(null=True, blank=True)
    # True when Kustomer already had the attribute with this name and type.
    adopted = models.BooleanField(default=False)
    # Kustomer's own error text (failed), or the last transient error while pending.
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["klass", "requested_at", "pk"]
        constraints = [
            # R-F4: one live field per Kustomer attribute and tenant; a deleted one may be
            # created again (it then gets values from its new creation time on).
            models.UniqueConstraint(
                fields=["tenant", "klass", "attribute_name"],
                condition=Q(deleted_at__isnull=True),
                name="customfield_one_live_attribute_per_tenant",
            ),
            models.CheckConstraint(
                name="customfield_kind_has_its_key",
                condition=(Q(kind="catalogue") & ~Q(catalogue_key="") & Q(sdk_key=""))
                | (Q(kind="sdk") & ~Q(sdk_key="") & Q(catalogue_key="")),
            ),
        ]
        indexes = [models.Index(fields=["tenant", "klass", "state"], name="customfield_tenant_klass_state")]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.klass}.{self.attribute_name}) of {self.tenant_id}"

    @property
    def group(self) -> str:
        """Where the page lists it: account, record or sdk."""
        if self.kind == self.Kind.SDK:
            return "sdk"
        return "account" if self.klass == self.Klass.CUSTOMER else "record"


class BackfillJob(models.Model):
    """R-O3: fill one field for the sessions of the last `days` days that started before
    the field existed, from the events the portal holds, in the background.

    A unit is a session (a Record field: its messages) or a customer (an Account field:
    the customer of its newest session). `cursor` is the last unit done, `inflight` the
    unit being written (claimed before Kustomer is called): a run after a worker restart
    reads that one back before writing it again, so no record is written twice.
    """

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        CANCELLED = "cancelled", _("Cancelled")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    ACTIVE_STATES = (State.QUEUED, State.RUNNING)

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="backfill_jobs")
    field = models.ForeignKey(CustomField, on_delete=models.CASCADE, related_name="backfill_jobs")
    days = models.PositiveSmallIntegerField()
    # The sessions it fills: started in [since, until] (until: the field's creation; later
    # sessions got their values live, R-F3).
    since = models.DateTimeField()
    until = models.DateTimeField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    written = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    cursor = models.PositiveBigIntegerField(default=0)
    inflight = models.PositiveBigIntegerField(default=0)
    # Units per minute over the run so far (for the page's time left).
    rate_per_minute = models.FloatField(default=0)
    # Why it waits (the rate budget's reserve for live events) or why it failed.
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Touched by every step: a job not touched for a while lost its task (the sweeper).
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # One running backfill per field: a second would write the same records.
            models.UniqueConstraint(fields=["field"], condition=Q(state__in=["queued", "running"]),
                                    name="backfill_one_active_per_field"),
        ]
        indexes = [models.Index(fields=["state", "updated_at"], name="backfill_sweep")]

    def __str__(self) -> str:
        return f"backfill {self.pk} of {self.field_id} ({self.state} {self.done}/{self.total})"

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE_STATES
