"""Adapter sign-ins kept on the server, so that they can be ended (issue 14 #5)."""
from django.conf import settings
from django.db import models
from django.utils import timezone

from statusmapping.models import Agent


class AdapterSession(models.Model):
    """One sign-in of an agent's adapter: made when a sign-in link is redeemed, named by
    every adapter token and page session of it. It ends on sign-out, when an admin signs
    the agent out everywhere, when the agent is removed (cascade), when the admin who
    issued the link changes their password, and at the latest `ADAPTER_SESSION_MAX_AGE_SECONDS`
    after it started, however often its token was renewed."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="+")
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="+")
    # A digest of the issuer's session auth hash (which changes with their password).
    issuer_check = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=60, blank=True)

    class Meta:
        indexes = [models.Index(fields=["agent", "ended_at"], name="adapter_session_agent_open")]

    def __str__(self) -> str:
        return f"adapter sign-in {self.pk} of {self.agent_id}"
