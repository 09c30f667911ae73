"""Rows of the conversation sync (SPEC §4, §5).

- ``Event``: the durable inbox. One row per (tenant, event id), written before the API
  answers; the broker only delivers work, the sweeper re-queues what it lost.
- ``EventAction``: the plan an event was turned into (rules.py), one row per action,
  with its result. A retry skips the actions already done.
- ``CustomerLink`` / ``SyncedConversation`` / ``SessionLink``: our side of Kustomer's
  records (customer key → customer id, Kustomer conversation mirror, CC session →
  conversation), each claimed by a unique key before Kustomer is called.
- ``WebhookSubscription`` / ``WebhookDelivery``: Kustomer's outbound webhooks that keep
  the conversation status mirror current, each delivery stored once.
"""
from __future__ import annotations

from django.utils.translation import gettext_lazy as _
import uuid

from django.db import models
from django.utils import timezone

from tenants.models import Tenant


class Event(models.Model):
    class State(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted")
        PROCESSING = "processing", _("Processing")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        # R-O1: several Kustomer customers have the event's number; an admin picks one.
        NEEDS_CUSTOMER = "needs_customer", _("Needs a customer")

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="sync_events")
    event_id = models.CharField(max_length=200)
    type = models.CharField(max_length=40)
    occurred_at = models.DateTimeField()
    session_id = models.CharField(max_length=200)
    # E.164 phone ("+1415...") or "app:<identifier>": events of one key apply one at a time.
    customer_key = models.CharField(max_length=240)
    # The body as received (text) and as validated (E.164 phone, parsed times).
    raw_body = models.TextField()
    body_hash = models.CharField(max_length=64)
    payload = models.JSONField()

    state = models.CharField(max_length=20, choices=State.choices, default=State.ACCEPTED)
    attempts = models.PositiveIntegerField(default=0)
    # Failed tries that count towards the cap (a 429 is a pause, not a failure).
    transient_failures = models.PositiveIntegerField(default=0)
    # 0: nothing decided yet; 1: the customer step decided; 2: the whole plan decided.
    plan_stage = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    # Not before this moment (backoff after a transient Kustomer error or a 429).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    kustomer_customer_id = models.CharField(max_length=64, blank=True)
    kustomer_conversation_id = models.CharField(max_length=64, blank=True)
    # Every Kustomer id written for this event: {"message_ids": [...], "note_ids": [...], ...}
    kustomer_ids = models.JSONField(default=dict)
    # Each run of the event, newest last (the latest 50): {"attempt", "started_at",
    # "ended_at", "outcome": done | retry | failed, "error", "next_attempt_at"}.
    attempt_log = models.JSONField(default=list, blank=True)

    # R-O1: the Kustomer customers the event's number matched (read by the executor's
    # task: id, name, emails, latest conversations), and the admin's choice: a customer
    # id or "new".
    customer_candidates = models.JSONField(default=list, blank=True)
    customer_choice = models.CharField(max_length=64, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    processing_started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Set while the event waits for one of its tenant's in-flight slots, off the workers
    # (conversations/services/fairness.py): the tenant's next slot to free sends it.
    parked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "event_id"], name="event_unique_per_tenant")]
        indexes = [
            models.Index(fields=["tenant", "customer_key", "state", "occurred_at"], name="event_customer_queue"),
            models.Index(fields=["state", "updated_at"], name="event_sweep"),
            models.Index(fields=["tenant", "-received_at"], name="event_recent"),
            # Searches of the events list (Sync › Events, GET /api/v1/events).
            models.Index(fields=["tenant", "session_id"], name="event_session"),
            models.Index(fields=["tenant", "kustomer_customer_id"], name="event_kustomer_customer"),
            models.Index(fields=["tenant", "kustomer_conversation_id"], name="event_kustomer_conversation"),
            models.Index(fields=["tenant", "parked_at"], name="event_parked", condition=models.Q(parked_at__isnull=False)),
        ]
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.event_id} ({self.type}, {self.state})"

    @property
    def is_finished(self) -> bool:
        return self.state in (self.State.DONE, self.State.FAILED)


class EventAction(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        DONE = "done", _("Done")
        SKIPPED = "skipped", _("Skipped")
        FAILED = "failed", _("Failed")

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="actions")
    index = models.PositiveIntegerField()
    kind = models.CharField(max_length=40)
    rule = models.CharField(max_length=40, blank=True)
    params = models.JSONField(default=dict)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    result = models.JSONField(default=dict)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event", "index"], name="event_action_unique_index")]
        ordering = ["event", "index"]

    def __str__(self) -> str:
        return f"{self.event_id}#{self.index} {self.kind} ({self.state})"


class CustomerLink(models.Model):
    """Customer key → Kustomer customer. The row is claimed (unique key) before the
    customer is looked up or created in Kustomer."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="sync_customers")
    customer_key = models.CharField(max_length=240)
    external_id = models.CharField(max_length=100)
    kustomer_customer_id = models.CharField(max_length=64, blank=True)
    phone = models.CharField(max_length=20, blank=True)
    identifier = models.CharField(max_length=200, blank=True)
    # True when our create made it (R-C3 "just created"), with the session that did.
    created_by_us = models.BooleanField(default=False)
    created_session_id = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "customer_key"], name="customer_link_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_key} → {self.kustomer_customer_id or '?'}"


class SyncedConversation(models.Model):
    """A Kustomer conversation of one of our customers, with what the rules need: how
    it began (channel, menu, source, kind) and its status in Kustomer (mirror)."""

    class Kind(models.TextChoices):
        CALL = "call", _("Call")
        CHAT = "chat", _("Chat")
        VOICEMAIL = "voicemail", _("Voicemail")
        OTHER = "other", _("Other (not created by us)")

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="sync_conversations")
    customer = models.ForeignKey(CustomerLink, on_delete=models.CASCADE, related_name="conversations")
    kustomer_customer_id = models.CharField(max_length=64)
    # Ours: externalId of the founding session; claimed before the create is sent.
    external_id = models.CharField(max_length=100, blank=True)
    kustomer_conversation_id = models.CharField(max_length=64, blank=True)
    founding_session_id = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.OTHER)
    channel = models.CharField(max_length=10, blank=True)
    menu = models.CharField(max_length=500, blank=True)
    source = models.CharField(max_length=20, blank=True)
    status = models.CharField(max_length=10, blank=True)  # open | snoozed | done
    # The time of the Kustomer state the mirror holds (updatedAt of what we saw) and
    # when we last confirmed it (webhook, GET or our own write).
    status_updated_at = models.DateTimeField(null=True, blank=True)
    status_synced_at = models.DateTimeField(null=True, blank=True)
    kustomer_created_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "external_id"], condition=~models.Q(external_id=""),
                name="synced_conversation_unique_external_id",
            ),
            models.UniqueConstraint(
                fields=["tenant", "kustomer_conversation_id"], condition=~models.Q(kustomer_conversation_id=""),
                name="synced_conversation_unique_kustomer_id",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "kustomer_conversation_id"], name="synced_conv_kid")]

    def __str__(self) -> str:
        return f"{self.kind} {self.kustomer_conversation_id or self.external_id} ({self.status or '?'})"


class SessionLink(models.Model):
    """A contact-center session (call, chat, voicemail) → the conversation it belongs to."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="sync_sessions")
    session_id = models.CharField(max_length=200)
    conversation = models.ForeignKey(SyncedConversation, on_delete=models.CASCADE, related_name="sessions")
    rule = models.CharField(max_length=40, blank=True)
    started_at = models.DateTimeField()
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "session_id"], name="session_link_unique")]

    def __str__(self) -> str:
        return f"{self.session_id} → {self.conversation_id}"


class WebhookSubscription(models.Model):
    """Our subscription to a tenant's Kustomer outbound webhooks (conversation events).
    ``public_id`` routes deliveries (in the URL, not a secret); the token is the HMAC
    key, stored encrypted (core.crypto), never shown."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="kustomer_webhook")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kustomer_webhook_id = models.CharField(max_length=64, blank=True)
    url = models.URLField(max_length=500, blank=True)
    token_encrypted = models.TextField(blank=True)
    active = models.BooleanField(default=False)
    last_error = models.TextField(blank=True)
    # When we last asked Kustomer to create it: a refused subscription is not asked for
    # again on every event.
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_delivery_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Kustomer webhook of {self.tenant} ({'active' if self.active else 'inactive'})"


class WebhookDelivery(models.Model):
    """One Kustomer webhook delivery, stored before it is processed (as dj-stripe's
    WebhookEventTrigger): a body that cannot be processed ends ``failed`` with the error
    and the traceback, shown in the portal with Retry, never re-queued on its own."""

    class State(models.TextChoices):
        RECEIVED = "received", _("Received")
        PROCESSED = "processed", _("Processed")
        IGNORED = "ignored", _("Ignored")
        FAILED = "failed", _("Failed")

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    kustomer_event_id = models.CharField(max_length=100)
    name = models.CharField(max_length=100)
    raw_body = models.TextField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.RECEIVED)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    # Runs of its task; the last error and where it came from (failed deliveries).
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    traceback = models.TextField(blank=True)
    # When its task was last sent (the sweeper re-queues only what was sent before its mark).
    queued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subscription", "kustomer_event_id"], name="webhook_delivery_once"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.kustomer_event_id}"


class TenantSyncSetup(models.Model):
    """What the product defined in a tenant's Kustomer org (its own conversation and
    customer attributes), so the metadata PUT happens once per tenant."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="sync_setup")
    metadata_version = models.PositiveIntegerField(default=0)
    metadata_defined_at = models.DateTimeField(null=True, blank=True)


class CallLoggingPolicies(models.Model):
    """A tenant's call logging policies (SPEC §6); no row, or a row of defaults,
    reproduces §4 exactly. The rules read them as ``rules.Policies``."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="call_logging_policies")
    # R-P1: session kind (rules.SESSION_KINDS) -> open | done | skip; a kind left out is "open".
    logging = models.JSONField(default=dict, blank=True)
    # R-P2: create customers for unknown numbers, and the connected CC numbers (E.164; empty: all).
    create_unknown_customers = models.BooleanField(default=True)
    connected_numbers = models.JSONField(default=list, blank=True)
    # R-P6: the Kustomer user (by email) that records no agent owns go to ("": nobody).
    default_owner_email = models.EmailField(blank=True)
    # R-P6: ... and/or the Kustomer team (its id, checked against the org's teams on save;
    # its name as it was then, for the page).
    default_owner_team_id = models.CharField(max_length=64, blank=True)
    default_owner_team_name = models.CharField(max_length=200, blank=True)
    # R-P3: session kind -> template of the conversation name / the record's first message
    # preview ("" or absent: §4's wording); the number's display format; short abandon.
    name_templates = models.JSONField(default=dict, blank=True)
    preview_templates = models.JSONField(default=dict, blank=True)
    number_format = models.CharField(max_length=20, default="international")
    short_abandon_seconds = models.PositiveIntegerField(default=0)
    # R-P4: a session may also join (and reopen) a conversation closed less than this many days ago (0: off).
    reopen_days = models.PositiveIntegerField(default=0)
    # R-P5: an inbound call's record is made only once an agent is connected.
    delay_call_until_connected = models.BooleanField(default=False)
    # R-P5: a chat's record is made only once the end user has sent this many messages (0: off).
    delay_chat_until_messages = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"call logging policies of {self.tenant_id}"


class SyncSettings(models.Model):
    """A tenant's conversation-sync settings of the portal's own (SPEC §7)."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="sync_settings")
    # R-O2: a session with no end event this many hours after its last event is closed
    # out with a note (0: never).
    close_out_after_hours = models.PositiveIntegerField(default=4)
    # R-O1: a number several Kustomer customers share goes to the most recently updated
    # one instead of waiting for an admin's choice.
    ambiguous_pick_latest = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Sync settings of {self.tenant}"
