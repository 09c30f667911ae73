"""What the shell keeps per person: the language they chose for the portal."""
from __future__ import annotations

from django.conf import settings
from django.db import models


class UserLanguage(models.Model):
    """A person's chosen language (one of settings.LANGUAGES); without a row the
    browser's language applies."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portal_language")
    language = models.CharField(max_length=10)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user_id}: {self.language}"
