"""Agent status inheritance (SPEC §3): agents, CC statuses, Kustomer statuses, the
Kustomer → CC map, the tenant's inheritance settings and every status change attempt.

Rows only hold state; every decision is made in `rules.py` and every write goes
through `services.py`.
"""
from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenants.models import Tenant


class Priority(models.TextChoices):
    LATEST_WINS = "LATEST_WINS", _("The latest change from the CRM or the contact center applies")
    CRM_OVERRIDES = "CRM_OVERRIDES", _("The CRM always overrides the agent's next status")


class Direction(models.TextChoices):
    ONE_WAY = "ONE_WAY", _("One-way (Kustomer → contact center)")
    TWO_WAY = "TWO_WAY", _("Two-way (also contact center → Kustomer)")


class Activity(models.TextChoices):
    """What a CC status says about the agent's work: the engine holds Kustomer changes
    while the agent is on a call or in wrap-up (R-S12)."""

    NONE = "none", _("No call")
    CALL = "call", _("On a call")
    WRAP_UP = "wrap_up", _("In wrap-up")


class CCStatus(models.Model):
    """A contact-center agent status of a tenant (defaults plus the admin's own)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="cc_statuses")
    name = models.CharField(max_length=60)
    # Routable: the contact center offers the agent new calls and chats.
    routable = models.BooleanField(default=False)
    activity = models.CharField(max_length=10, choices=Activity.choices, default=Activity.NONE)
    is_default = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=100)
    # R-S9 two-way: the one Kustomer status this CC status is pushed as (the map is
    # many-to-one the other way, so the reverse needs its own choice). Kustomer's id.
    push_kustomer_status_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), "tenant", name="sm_ccstatus_unique_name_per_tenant"),
        ]

    def __str__(self) -> str:
        return self.name


class KustomerStatus(models.Model):
    """A Kustomer routing status of the tenant's org, as last read from `GET
    /v1/routing/statuses`, and the CC status it maps to (R-S2, R-S3: many-to-one)."""

    class StatusType(models.TextChoices):
        AVAILABLE = "available", _("available")
        BUSY = "busy", _("busy")
        UNAVAILABLE = "unavailable", _("unavailable")
        OFFLINE = "offline", _("offline")

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="kustomer_statuses")
    kustomer_id = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    status_type = models.CharField(max_length=20, blank=True)
    system = models.BooleanField(default=False)
    cc_status = models.ForeignKey(CCStatus, null=True, blank=True, on_delete=models.SET_NULL, related_name="kustomer_statuses")
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    # Set when a refresh no longer finds it in Kustomer: kept (the map and the history
    # name it) and shown as gone rather than silently dropped (R-S2).
    removed_at = models.DateTimeField(null=True, blank=True)
    # R-O5: set when a refresh after the first one found it (it appeared in Kustomer
    # since the last refresh); shown as new while unmapped. When the admins were e-mailed
    # about it (once per status).
    appeared_at = models.DateTimeField(null=True, blank=True)
    alert_emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "kustomer_id"], name="sm_kstatus_unique_per_tenant"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_removed(self) -> bool:
        return self.removed_at is not None


class StatusInheritanceSettings(models.Model):
    """A tenant's inheritance settings (R-S1, R-S7, R-S8, R-S9)."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="status_inheritance")
    # R-S1 step 1, support staff only.
    available = models.BooleanField(default=False)
    available_changed_at = models.DateTimeField(null=True, blank=True)
    available_changed_by = models.CharField(max_length=150, blank=True)
    # R-S1 step 2, the tenant admin.
    enabled = models.BooleanField(default=False)
    priority = models.CharField(max_length=20, choices=Priority.choices, default=Priority.LATEST_WINS)
    direction = models.CharField(max_length=10, choices=Direction.choices, default=Direction.ONE_WAY)
    inherit_on_login = models.BooleanField(default=False)
    # R-S9: outcome of the last prerequisite check, shown on the settings page.
    two_way_checked_at = models.DateTimeField(null=True, blank=True)
    two_way_checks = models.JSONField(default=list, blank=True)
    two_way_ready = models.BooleanField(default=False)
    # Kustomer teams that passed the check: an agent's pushes go out only while their
    # selected team (their work session's team) is one of them.
    two_way_team_ids = models.JSONField(default=list, blank=True)
    two_way_check_error = models.TextField(blank=True)
    # Kustomer statuses: when they were last read, and the last error reading them.
    statuses_refreshed_at = models.DateTimeField(null=True, blank=True)
    statuses_refresh_error = models.TextField(blank=True)
    # The watcher (second feed): how often, when it last read, its last error.
    watch_interval_seconds = models.PositiveIntegerField(default=5)
    watched_at = models.DateTimeField(null=True, blank=True)
    # Pages the last read needed: the interval stretches so the watcher stays within
    # its share of the org's rate budget (rules.watch_interval_seconds).
    watch_pages = models.PositiveIntegerField(default=1)
    watch_error = models.TextField(blank=True)
    # R-O6: the CC status an agent gets when their Kustomer work session ends (off: null).
    sign_out_cc_status = models.ForeignKey("CCStatus", null=True, blank=True, on_delete=models.SET_NULL,
                                           related_name="+")
    # R-O7: more than this many status changes a minute hold the agent at the last one
    # for flap_hold_seconds (0: off).
    flap_max_changes = models.PositiveIntegerField(default=0)
    flap_hold_seconds = models.PositiveIntegerField(default=30)
    # R-O5: e-mail the tenant's admins about a new Kustomer status that is not mapped.
    email_new_unmapped_statuses = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Status inheritance of {self.tenant}"

    @property
    def active(self) -> bool:
        return self.available and self.enabled


class Agent(models.Model):
    """A contact-center agent, matched to their Kustomer user by email (R-S5)."""

    # No index of its own: the unique (tenant, email) key serves lookups by tenant.
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="agents", db_index=False)
    # Stored lower-cased (services normalise), so lookups by email are exact matches.
    email = models.EmailField(max_length=254)
    name = models.CharField(max_length=200, blank=True)
    # Kustomer's user id, blank until resolved by email.
    kustomer_user_id = models.CharField(max_length=64, blank=True, db_index=True)
    kustomer_user_checked_at = models.DateTimeField(null=True, blank=True)
    kustomer_user_error = models.CharField(max_length=300, blank=True)
    kustomer_work_session_id = models.CharField(max_length=64, blank=True)

    # The agent's current CC status and when the change that set it happened.
    # The status columns carry no index: nothing looks agents up by status, and a status
    # change (hundreds a second) then updates no index (PostgreSQL HOT updates).
    cc_status = models.ForeignKey(CCStatus, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                  db_index=False)
    cc_status_at = models.DateTimeField(null=True, blank=True)
    # The agent's current Kustomer status (Kustomer's id) and when it changed in Kustomer.
    kustomer_status_id = models.CharField(max_length=64, blank=True)
    kustomer_status_at = models.DateTimeField(null=True, blank=True)
    # R-S12: a Kustomer change held while the agent is on a call or in wrap-up.
    held_cc_status = models.ForeignKey(CCStatus, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                       db_index=False)
    held_kustomer_status_id = models.CharField(max_length=64, blank=True)
    held_at = models.DateTimeField(null=True, blank=True)
    # R-S9: the Kustomer status the agent's latest CC status should be pushed as. Pushes
    # collapse: the push task always sends this latest value, never an older one.
    push_kustomer_status_id = models.CharField(max_length=64, blank=True)
    push_requested_at = models.DateTimeField(null=True, blank=True)
    pushed_at = models.DateTimeField(null=True, blank=True)
    push_error = models.CharField(max_length=500, blank=True)
    # R-S13: the Kustomer status chosen on the Kustomer side (or pushed for the agent's
    # own non-call CC choice), never our push of a call status: what CRM_OVERRIDES and a
    # held change apply, and what Kustomer is set back to after a call. Null: not known.
    kustomer_choice_id = models.CharField(max_length=64, null=True, blank=True)
    # R-O7: status changes counted in the current minute, the hold after too many, and
    # the latest change damped during the hold (applied when it ends).
    flap_window_at = models.DateTimeField(null=True, blank=True)
    flap_changes = models.PositiveIntegerField(default=0)
    damped_until = models.DateTimeField(null=True, blank=True)
    damped_cc_status = models.ForeignKey(CCStatus, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                         db_index=False)
    damped_kustomer_status_id = models.CharField(max_length=64, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "email"], name="sm_agent_unique_email_per_tenant"),
        ]
        # The watcher's tick (every second) looks for ended holds with a change to apply
        # (R-O7, services.engine.agents_damped_release, same condition): only agents with
        # a damped change waiting are in this index, so the look-up stays cheap.
        indexes = [
            models.Index(fields=["damped_until"], name="sm_agent_damped_waiting",
                         condition=~models.Q(damped_kustomer_status_id="") | models.Q(damped_cc_status__isnull=False)),
        ]

    def __str__(self) -> str:
        return self.email


class AdapterInstance(models.Model):
    """One open adapter (Kustomer tab or computer) of an agent, seen by its heartbeats
    (R-S6). Gone once unseen for `ADAPTER_INSTANCE_TTL_SECONDS`."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="adapter_instances")
    instance_id = models.CharField(max_length=100)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agent", "instance_id"], name="sm_instance_unique_per_agent"),
        ]


class AgentPush(models.Model):
    """Serialises an agent's outbound pushes (R-S9): the push task locks this row, so two
    pushes of one agent never cross on the wire and the last one sent is the latest."""

    agent = models.OneToOneField(Agent, on_delete=models.CASCADE, related_name="push_lock")


class Source(models.TextChoices):
    KUSTOMER = "kustomer", _("Kustomer")
    CONTACT_CENTER = "contact_center", _("Contact center")


class Feed(models.TextChoices):
    ADAPTER = "adapter", _("Adapter event")
    API = "api", _("API event")
    WATCHER = "watcher", _("Work-session watcher")
    LOGIN = "login", _("Sign-in to the contact center")


class Kind(models.TextChoices):
    MANUAL = "manual", _("Manual")
    SYSTEM_NEXT = "system_next", _("System (next status)")
    # Addition to the contract: the agent signed in to the contact center (R-S8).
    SIGN_IN = "sign_in", _("Sign-in")
    # The product's own kinds: the agent's Kustomer work session ended (R-O6), and a
    # change damped by the flapping guard applied when its hold ended (R-O7).
    SIGN_OUT = "sign_out", _("Kustomer sign-out")
    DAMPED_RELEASE = "damped_release", _("Applied after a hold")


class StatusChange(models.Model):
    """R-S11: one status change attempt and its decision; also the idempotency record of
    `POST /api/v1/agent-status/events` (a repeated id answers this row's decision)."""

    # Every status event inserts a row here, so the foreign keys carry neither an index
    # of their own (the unique (tenant, event_id) key and the (agent, -received_at)
    # index serve their lookups) nor a database constraint: PostgreSQL's check would
    # lock the tenant's row in every insert (and every concurrent insert shares that
    # lock), while the one writer (statusmapping/agent_state.py) inserts the row in the
    # same statement that updates the agent, for the tenant that authenticated. Deleting
    # a tenant or an agent still deletes their history (Django's on_delete).
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="status_changes", db_index=False,
                               db_constraint=False)
    # The sender's event id; for the watcher and sign-in a deterministic one of ours.
    event_id = models.CharField(max_length=200)
    agent = models.ForeignKey(Agent, null=True, blank=True, on_delete=models.CASCADE, related_name="status_changes",
                              db_index=False, db_constraint=False)
    agent_email = models.CharField(max_length=254)
    source = models.CharField(max_length=20, choices=Source.choices)
    feed = models.CharField(max_length=20, choices=Feed.choices, default=Feed.API)
    kind = models.CharField(max_length=20, choices=Kind.choices, blank=True)
    instance_id = models.CharField(max_length=100, blank=True)
    kustomer_status_id = models.CharField(max_length=64, blank=True)
    kustomer_status_name = models.CharField(max_length=200, blank=True)
    # The CC status a contact_center event asked for (by name, as sent).
    requested_status = models.CharField(max_length=60, blank=True)
    from_status = models.CharField(max_length=60, blank=True)
    to_status = models.CharField(max_length=60, blank=True)
    decision = models.CharField(max_length=30)
    reason = models.CharField(max_length=300, blank=True)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    # R-S9: whether this change was pushed to Kustomer ("" when not pushed).
    pushed_kustomer_status_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "event_id"], name="sm_change_unique_event_per_tenant"),
        ]
        indexes = [models.Index(fields=["agent", "-received_at"], name="sm_change_agent_recent")]
