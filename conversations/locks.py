"""One holder at a time per customer key, across every worker on every machine: the
lock the executor holds while it applies a customer's events in order (SPEC §5), and
the tenant's in-flight slots (fairness). The lock itself is core/locks.py's (PostgreSQL
session advisory lock, or a file lock in the single-machine mode); this module gives it
the customer's and the slot's keys.

Both kinds are per connection / per open file: each thread of a `--pool threads` worker
has its own Django connection (and opens its own lock file), so two threads of one
process exclude each other exactly as two processes do.
"""
from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from contextlib import contextmanager

from core.locks import try_advisory_lock


def lock_key(tenant_id: int, customer_key: str) -> int:
    """A signed 64-bit key for pg_advisory_lock from the tenant and customer key."""
    digest = hashlib.sha256(f"conversations:{tenant_id}:{customer_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def customer_lock(tenant_id: int, customer_key: str) -> Iterator[bool]:
    """Try to take the customer's lock; yields whether it was taken. Never waits: the
    holder applies every pending event of the customer (see services.event_process)."""
    with try_advisory_lock(lock_key(tenant_id, customer_key), file_prefix="customer") as taken:
        yield taken


def tenant_slot_key(tenant_id: int, slot: int) -> int:
    digest = hashlib.sha256(f"conversations:tenant-slot:{tenant_id}:{slot}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def tenant_slot(tenant_id: int, slots: int) -> Iterator[int | None]:
    """Try to take one of the tenant's `slots` in-flight slots (SPEC §5 fairness: one
    tenant's events never hold more than that many workers at once, on every machine);
    yields the slot's number, or None when all are held. Never waits. Released like the
    customer lock: by the holder, or with its connection when the holder dies."""
    start = random.randrange(slots)  # spread the holders over the slots: fewer misses
    for offset in range(slots):
        slot = (start + offset) % slots
        with try_advisory_lock(tenant_slot_key(tenant_id, slot), file_prefix="tenant-slot") as taken:
            if taken:
                yield slot
                return
    yield None


def customer_lock_free(tenant_id: int, customer_key: str) -> bool:
    """Whether nobody applies the customer's events right now (a sweeper's check)."""
    with customer_lock(tenant_id, customer_key) as taken:
        return taken
