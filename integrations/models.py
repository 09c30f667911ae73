"""The tenant's connection to its Kustomer org (R-A3)."""
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenants.models import Tenant


class KustomerConnection(models.Model):
    class VerifyState(models.TextChoices):
        NEVER = "never", _("Not verified yet")
        PENDING = "pending", _("Verifying")
        OK = "ok", _("Verified")
        FAILED = "failed", _("Failed")

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="kustomer_connection")
    # Normalised org API base without the /v1 suffix, e.g. https://acme.api.kustomerapp.com
    base_url = models.URLField(max_length=300)
    # Fernet token (core.crypto); the plain key is never stored, shown or logged.
    api_key_encrypted = models.TextField()
    api_key_set_at = models.DateTimeField(default=timezone.now)
    # The base URL the key was entered for: the key is only ever sent there (a new host
    # needs the key typed again, so a stored key cannot be pulled out to another server).
    api_key_base_url = models.URLField(max_length=300, blank=True, default="")
    # The org's request budget per minute (Kustomer plan: 1,000 Enterprise, 2,000 Ultimate,
    # 500 or 300 on older plans), shared by every worker that talks to this org.
    rate_limit_per_minute = models.PositiveIntegerField(default=1000)

    verify_state = models.CharField(max_length=10, choices=VerifyState.choices, default=VerifyState.NEVER)
    verified_at = models.DateTimeField(null=True, blank=True)
    # When the running verification began: it ends Failed past its deadline
    # (KUSTOMER_VERIFY_DEADLINE_SECONDS), never stays Verifying.
    verify_started_at = models.DateTimeField(null=True, blank=True)
    kustomer_user_id = models.CharField(max_length=64, blank=True)
    kustomer_user_name = models.CharField(max_length=200, blank=True)
    kustomer_org_id = models.CharField(max_length=64, blank=True)
    # Latest error from Kustomer for this connection (verify or sync), shown in the portal.
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    # A new URL and/or key of a working connection waits here until it verifies: the
    # working one above stays in use (and shown) until then, and a failure leaves it so.
    pending_base_url = models.URLField(max_length=300, blank=True)
    pending_api_key_encrypted = models.TextField(blank=True)
    pending_rate_limit_per_minute = models.PositiveIntegerField(null=True, blank=True)
    pending_state = models.CharField(max_length=10, choices=VerifyState.choices, blank=True)
    pending_started_at = models.DateTimeField(null=True, blank=True)
    pending_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"Kustomer connection of {self.tenant}"

    @property
    def is_working(self) -> bool:
        """A connection that verified and has not failed since (a re-check may run)."""
        return self.verify_state == self.VerifyState.OK or (
            self.verify_state == self.VerifyState.PENDING and self.verified_at is not None and bool(self.kustomer_org_id))

    @property
    def has_pending(self) -> bool:
        return bool(self.pending_state)

    @property
    def key_entered_for(self) -> str:
        """The base URL the stored key may go to (rows made before the key's URL was
        recorded, or by hand, name none: theirs is the current one)."""
        return self.api_key_base_url or self.base_url

    @property
    def org_key(self) -> str | None:
        """Key of the org's shared rate budget once Kustomer told us the org id (every key
        of an org shares one budget); before that the client derives one from the host."""
        return f"org:{self.kustomer_org_id}" if self.kustomer_org_id else None


class OrgMove(models.Model):
    """R-S14: the tenant moved to another Kustomer org (a new URL or key verified with
    another org id). Each part of the move notes what it did in `summary`, shown to the
    admin. The old org's key is kept (encrypted) only until the old webhook is removed."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="org_moves")
    from_org_id = models.CharField(max_length=64)
    to_org_id = models.CharField(max_length=64)
    from_base_url = models.URLField(max_length=300)
    to_base_url = models.URLField(max_length=300)
    from_api_key_encrypted = models.TextField(blank=True)
    summary = models.JSONField(default=dict)
    moved_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-moved_at", "-id"]

    def __str__(self) -> str:
        return f"{self.tenant} moved from org {self.from_org_id} to {self.to_org_id}"


class KustomerApp(models.Model):
    """The tenant's Kustomer app (SPEC R-X4): the definition the portal last asked to
    register (the outbox the task sends) and what the org held when last read."""

    class State(models.TextChoices):
        IDLE = "idle", _("Up to date with Kustomer")
        PENDING = "pending", _("Talking to Kustomer")
        FAILED = "failed", _("Failed")

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="kustomer_app")
    # As Kustomer answered it: private apps are namespaced with `_<orgId>`.
    app_name = models.CharField(max_length=160, blank=True)
    # The product's version and its definition at the time of the request.
    product_version = models.CharField(max_length=40, blank=True)
    definition = models.JSONField(default=dict, blank=True)
    install_requested = models.BooleanField(default=False)
    registered_versions = models.JSONField(default=list, blank=True)
    # sha256 of the definition the portal last registered (to notice a changed definition
    # at an unchanged version, which Kustomer would not take: versions are immutable).
    registered_fingerprint = models.CharField(max_length=64, blank=True)
    installed_version = models.CharField(max_length=40, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.IDLE)
    last_error = models.TextField(blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Kustomer app of {self.tenant}"
