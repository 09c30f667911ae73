"""The one writer of a tenant's Kustomer metadata (custom attribute definitions).

Tenant set-up (the product's own conversation and customer attributes) and custom
fields (the admin's) both add attributes to the same klasses. Each write is a read,
a merge and a PUT (integrations.kustomer.metadata), under a lock per tenant and klass
held across the two calls, so two writers never interleave and the second PUT never
loses what the first added, on every worker of every machine.

PostgreSQL: a transaction-scoped advisory lock (released with the transaction, or by
PostgreSQL when the holder's connection dies). SQLite (the single-machine default): an
exclusive `flock` on a file per key under VAR_DIR/locks, released by the kernel.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from integrations.kustomer.client import KustomerClient
from integrations.kustomer.metadata import merged_metadata_properties
from integrations.kustomer.types import Metadata


@dataclass(frozen=True)
class MetadataWrite:
    """What Kustomer had before (`before`), and its answer to our PUT (`after`; None
    when there was nothing to add)."""

    before: Metadata
    after: Metadata | None


def kustomer_metadata_merge(
    *, tenant_id: int, client: KustomerClient, resource: str,
    additions: Callable[[Mapping[str, Any]], Mapping[str, Mapping[str, Any]]],
) -> MetadataWrite:
    """Add attributes to the klass `resource` of the tenant's org, keeping every one it
    has. `additions` is called under the lock with the klass's current properties and
    returns the definitions to add (empty: nothing is sent)."""
    with metadata_lock(tenant_id=tenant_id, resource=resource):
        before = client.get_metadata(resource=resource)
        wanted = dict(additions(before.properties))
        if not wanted:
            return MetadataWrite(before=before, after=None)
        after = client.put_metadata(resource=resource, properties=merged_metadata_properties(before.properties, wanted))
        return MetadataWrite(before=before, after=after)


def _lock_key(tenant_id: int, resource: str) -> int:
    digest = hashlib.sha256(f"kustomer-metadata:{tenant_id}:{resource}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def metadata_lock(*, tenant_id: int, resource: str) -> Iterator[None]:
    """Wait for, and hold, the tenant's metadata lock of `resource`."""
    key = _lock_key(tenant_id, resource)
    if connection.vendor == "postgresql":
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
            yield
        return
    folder = settings.VAR_DIR / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / f"metadata-{key & 0xFFFFFFFFFFFFFFFF:016x}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
