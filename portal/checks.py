"""System checks of our own: secrets that are public knowledge."""
from __future__ import annotations

import base64
import hashlib

from django.conf import settings
from django.core.checks import Warning, register

#: Secret keys that were, or are, written in this repository (the old single-machine
#: default, the test suite's), and Django's own generated-but-insecure prefix.
KNOWN_SECRET_KEYS = frozenset({
    "dev-only-insecure-key-change-me-in-production-0123456789",
    "test-only-insecure-key-0123456789-0123456789-0123456789",
})


def _derived_fernet(secret: str) -> str:
    """The Fernet key the old single-machine settings derived from a secret key."""
    return base64.urlsafe_b64encode(hashlib.sha256(("fernet:" + secret).encode()).digest()).decode()


KNOWN_FERNET_KEYS = frozenset(_derived_fernet(key) for key in KNOWN_SECRET_KEYS)


@register()
def known_development_secrets(app_configs, **kwargs):
    warnings = []
    secret = str(settings.SECRET_KEY)
    if secret in KNOWN_SECRET_KEYS or secret.startswith("django-insecure-"):
        warnings.append(Warning(
            "SECRET_KEY is a development key written in public source: anyone can forge adapter tokens, "
            "sign-in codes and sessions.",
            hint="Unset DJANGO_SECRET_KEY to use this install's own key (var/secret_key), or set a random one.",
            id="portal.W001",
        ))
    if KNOWN_FERNET_KEYS.intersection(settings.FIELD_ENCRYPTION_KEYS):
        warnings.append(Warning(
            "FIELD_ENCRYPTION_KEYS holds a key derived from a public development secret: stored Kustomer API "
            "keys and webhook tokens can be decrypted by anyone who reads the database.",
            hint="Put a new Fernet key first, run `manage.py rotate_encryption_keys`, then drop the old key.",
            id="portal.W002",
        ))
    return warnings
