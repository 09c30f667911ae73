"""Rows of the CCAI Platform inbound endpoint: the tenant's endpoint and credentials,
each delivery as received (once per event_id), and each session's translation record."""
from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenants.models import Tenant


class Endpoint(models.Model):
    """A tenant's inbound endpoint. ``public_id`` only routes (URLs end up in logs); the
    basic-auth password is stored as a SHA-256 digest of a generated secret, shown once."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="ccaip_endpoint")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    username = models.CharField(max_length=150)
    password_hash = models.CharField(max_length=64)
    password_set_at = models.DateTimeField(default=timezone.now)
    # {CCAI Platform agent id: the agent's email} (the product knows agents by email).
    agent_emails = models.JSONField(default=dict, blank=True)
    last_delivery_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"CCAI Platform endpoint of {self.tenant}"


class Session(models.Model):
    """One CCAI Platform call or chat, and which product events its state became."""

    class Channel(models.TextChoices):
        CALL = "call", _("Call")
        CHAT = "chat", _("Chat")

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=4, choices=Channel.choices)
    call_id = models.CharField(max_length=200)
    # {transition key: occurred_at in epoch ms} of the product events recorded.
    recorded = models.JSONField(default=dict, blank=True)
    # {transition key: product event id}
    event_ids = models.JSONField(default=dict, blank=True)
    waiting = models.CharField(max_length=30, blank=True)  # rules.Waiting value while undecided
    settle_at = models.DateTimeField(null=True, blank=True)
    problem = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "channel", "call_id"], name="ccaip_session_unique"),
        ]
        indexes = [models.Index(fields=["settle_at"], name="ccaip_session_settle")]


class Delivery(models.Model):
    """One event object as CCAI Platform sent it, stored once per (tenant, event_id)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(max_length=64)
    timestamp_ms = models.BigIntegerField()
    body = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now)
    repeats = models.PositiveIntegerField(default=0)  # later deliveries of the same event_id
    # What this delivery changed: {"recorded": [product event ids], "notes": [...], "waiting": "..."}
    translation = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "event_id"], name="ccaip_delivery_unique_event"),
        ]
        indexes = [models.Index(fields=["tenant", "-received_at"], name="ccaip_delivery_recent")]
