"""Encryption at rest for secrets the product must be able to read back (Kustomer API
keys, webhook tokens).

MultiFernet over `settings.FIELD_ENCRYPTION_KEYS`: the first key encrypts, every key
decrypts, so keys rotate without downtime (`manage.py rotate_encryption_keys`).
"""
from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class SecretDecryptionError(Exception):
    """The stored secret cannot be decrypted with any configured key."""


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise RuntimeError("FIELD_ENCRYPTION_KEYS is empty: set at least one Fernet key.")
    return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in keys])


def _current() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt_secret(plain: str) -> str:
    return _current().encrypt(plain.encode()).decode()


def decrypt_secret(token: str) -> str:
    try:
        return _current().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretDecryptionError("stored secret cannot be decrypted with the configured keys") from exc


def rotate_secret(token: str) -> str:
    """Re-encrypt with the first (newest) key."""
    try:
        return _current().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretDecryptionError("stored secret cannot be decrypted with the configured keys") from exc

