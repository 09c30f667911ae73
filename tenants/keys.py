"""Format, generation and checking of tenant API keys (pure functions, no ORM).

A key reads `ccp_<prefix>_<secret>`: the prefix is public and finds the row, the
secret is checked against its SHA-256 digest with a constant-time compare.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

KEY_TAG = "ccp"


@dataclass(frozen=True)
class NewKey:
    plain: str
    prefix: str
    secret_hash: str


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def generate_key() -> NewKey:
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return NewKey(plain=f"{KEY_TAG}_{prefix}_{secret}", prefix=prefix, secret_hash=hash_secret(secret))


def split_key(plain: str) -> tuple[str, str] | None:
    """(prefix, secret) of a well-formed key, else None."""
    parts = plain.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_TAG or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def secret_matches(secret: str, secret_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), secret_hash)
