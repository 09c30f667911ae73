"""Deterministic Kustomer ``externalId`` values.

Every create we send to Kustomer carries an ``externalId`` computed from what the
object *is* on our side (tenant, kind, our own ids), never from a random value or a
clock. A retry after a lost answer computes the same id, looks it up
(``GET /v1/customers/externalId=...``) and finds the first create instead of making a
second one.

Shape: ``cc_<tenant>_<kind>_<digest>``, e.g. ``cc_acme_conversation_k3v9...``:
- only ``[a-z0-9_-]``: URL-safe, needs no escaping inside a lookup path;
- ``<tenant>`` is the tenant slug, sanitised and cut to 24 characters (for humans);
- ``<digest>`` is 26 base32 characters (130 bits) of SHA-256 over the *full* tenant
  slug, the kind and every part, so the readable prefix never decides uniqueness;
- at most 3 + 24 + 1 + 20 + 1 + 26 = 75 characters.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
from uuid import UUID

__all__ = ["external_id", "is_external_id", "PREFIX"]

PREFIX = "cc"
_VERSION = 1
_KIND_RE = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
_SLUG_CLEAN_RE = re.compile(r"[^a-z0-9-]+")
_ID_RE = re.compile(r"^cc_[a-z0-9-]{1,24}_[a-z][a-z0-9-]{0,19}_[a-z2-7]{26}$")

Part = str | int | UUID


def _slug_label(tenant_slug: str) -> str:
    label = _SLUG_CLEAN_RE.sub("-", tenant_slug.lower()).strip("-")[:24].strip("-")
    return label or "t"


def _part(value: Part) -> str | int:
    if isinstance(value, bool):  # bool is an int; refuse the ambiguity
        raise TypeError("external id parts must be str, int or UUID, not bool")
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, (str, int)):
        return value
    raise TypeError(f"external id parts must be str, int or UUID, not {type(value).__name__}")


def external_id(tenant_slug: str, kind: str, *parts: Part) -> str:
    """The externalId of one object of ``kind`` of a tenant, identified by ``parts``.

    Same inputs, same id, on every machine and every run. ``kind`` is a short
    lower-case word (``customer``, ``conversation``, ``message``, ``note``, ...).
    ``1`` and ``"1"`` are different parts.
    """
    if not tenant_slug:
        raise ValueError("tenant_slug is required")
    if not _KIND_RE.match(kind):
        raise ValueError(f"kind must match {_KIND_RE.pattern!r}: {kind!r}")
    if not parts:
        raise ValueError("at least one part is required")
    payload = json.dumps(
        [_VERSION, tenant_slug, kind, [_part(p) for p in parts]],
        separators=(",", ":"),
        ensure_ascii=True,
    ).encode("ascii")
    digest = base64.b32encode(hashlib.sha256(payload).digest()).decode("ascii").lower()[:26]
    return f"{PREFIX}_{_slug_label(tenant_slug)}_{kind}_{digest}"


def is_external_id(value: str) -> bool:
    """True when ``value`` has the shape ``external_id`` produces."""
    return bool(_ID_RE.match(value or ""))
