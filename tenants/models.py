"""Tenants, the people who configure them and the machine clients that call the API.

R-A1: every object of the product belongs to one tenant. R-A2: roles are platform
support staff (cross-tenant), tenant admins (their tenant only) and API clients (a key
bound to one tenant with scopes).
"""
from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Tenant(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    # Phone numbers sent without a country code are read in this region (ISO 3166 alpha-2).
    default_region = models.CharField(
        max_length=2,
        default="US",
        validators=[RegexValidator(r"^[A-Z]{2}$", "Use a two-letter ISO country code, e.g. US.")],
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Bumped (tenants.services.tenant_config_changed) by every change to configuration
    # that hot paths keep in process memory, e.g. the status map the status event
    # endpoint decides with: a process whose copy is older than this reads it again.
    config_version = models.PositiveBigIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    class Role(models.TextChoices):
        TENANT_ADMIN = "tenant_admin", _("Tenant admin")
        # Supervisors: see every page and read the API, change nothing.
        VIEWER = "viewer", _("Viewer (read-only)")
        SUPPORT = "support", _("Support staff")

    role = models.CharField(max_length=20, choices=Role.choices, default=Role.TENANT_ADMIN)
    # Tenant admins and viewers belong to exactly one tenant; support staff to none
    # (they act on all).
    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.PROTECT, related_name="users")

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="tenant_admin_has_tenant",
                condition=~models.Q(role__in=["tenant_admin", "viewer"]) | models.Q(tenant__isnull=False)
                | models.Q(is_superuser=True),
            )
        ]

    @property
    def is_support(self) -> bool:
        return self.role == self.Role.SUPPORT or self.is_superuser

    @property
    def is_viewer(self) -> bool:
        """Read-only: every page and GET, no change anywhere."""
        return self.role == self.Role.VIEWER and not self.is_superuser

    @property
    def role_word(self) -> str:
        """The role in an English word, as the audit log records it."""
        return "support" if self.is_support else ("viewer" if self.is_viewer else "admin")

    @property
    def role_label(self) -> str:
        """The role in a word, in the language active where it is shown."""
        return str(ROLE_WORDS[self.role_word])


class AuditEntry(models.Model):
    """Who changed what, when: every change to a tenant's people (and other admin
    actions that name themselves here), shown to the tenant's admins."""

    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.CASCADE, related_name="audit_entries")
    # The person who acted (kept by name too: a removed account still shows who it was).
    actor = models.ForeignKey("User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=60)
    # What it was done to, in words (a user name, a key's name, ...).
    target = models.CharField(max_length=300, blank=True)
    detail = models.CharField(max_length=1000, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["tenant", "-at"], name="audit_tenant_recent")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.target}"

    @property
    def action_label(self) -> str:
        """The action in the reader's language; the row keeps the English words (a log
        reads the same whoever wrote it), an action not listed shows as stored."""
        return str(AUDIT_ACTIONS.get(self.action, self.action))


ROLE_WORDS = {"support": _("support"), "viewer": _("viewer"), "admin": _("admin")}

# Every `action` that services.audit_record writes, for the audit log page.
AUDIT_ACTIONS = {
    "API key created": _("API key created"), "API key revoked": _("API key revoked"),
    "CC status removed": _("CC status removed"), "CC status renamed": _("CC status renamed"),
    "Kustomer connection changed": _("Kustomer connection changed"), "Kustomer org changed": _("Kustomer org changed"),
    "Status mapping imported": _("Status mapping imported"), "agent changed": _("agent changed"),
    "agent removed": _("agent removed"), "invitation sent again": _("invitation sent again"),
    "password set": _("password set"), "role changed": _("role changed"), "tenant created": _("tenant created"),
    "user invited": _("user invited"), "user reactivated": _("user reactivated"),
    "user deactivated": _("user deactivated"),
}


class ApiKeyScope(models.TextChoices):
    EVENTS_WRITE = "events:write", _("Send contact-center events and agent status")
    CONFIG_READ = "config:read", _("Read configuration")
    CONFIG_WRITE = "config:write", _("Change configuration")


class ApiKey(models.Model):
    """A tenant's machine credential. Only a SHA-256 digest of the secret is stored: the
    secret is 32 random bytes, so a fast hash is as strong as a slow one here, and it
    keeps authentication off the request's critical path."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    # Public, unique part of the key (shown in lists) used to find the row in one lookup.
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
