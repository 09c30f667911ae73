"""One holder at a time per customer key, across every worker on every machine.

PostgreSQL session advisory locks: held across the many short transactions of one
event (each action's result commits on its own), and released by PostgreSQL itself when
the holder's connection dies (a killed worker never leaves a customer locked).
SQLite (the single-machine default, every process on one machine): an exclusive
`flock` on a file per key under VAR_DIR/locks, released by the kernel when its holder
dies, so that machine can run more than one worker process too.

Both kinds are per connection / per open file: each thread of a `--pool threads` worker
has its own Django connection (and opens its own lock file), so two threads of one
process exclude each other exactly as two processes do.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import random
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection


def lock_key(tenant_id: int, customer_key: str) -> int:
    """A signed 64-bit key for pg_advisory_lock from the tenant and customer key."""
    digest = hashlib.sha256(f"conversations:{tenant_id}:{customer_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def customer_lock(tenant_id: int, customer_key: str) -> Iterator[bool]:
    """Try to take the customer's lock; yields whether it was taken. Never waits: the
    holder applies every pending event of the customer (see services.event_process)."""
    with _try_lock(lock_key(tenant_id, customer_key)) as taken:
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
        with _try_lock(tenant_slot_key(tenant_id, slot)) as taken:
            if taken:
                yield slot
                return
    yield None


@contextmanager
def _try_lock(key: int) -> Iterator[bool]:
    if connection.vendor != "postgresql":
        with _file_lock(key) as taken:
            yield taken
        return
    if connection.in_atomic_block:
        # Only when tasks run eagerly inside a caller's transaction (tests, a shell):
        # the lock then lasts as long as that transaction.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [key])
            yield bool(cursor.fetchone()[0])
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        taken = bool(cursor.fetchone()[0])
    try:
        yield taken
    finally:
        if taken:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
            except Exception:  # the connection is gone: PostgreSQL released the lock with it
                connection.close()


def customer_lock_free(tenant_id: int, customer_key: str) -> bool:
    """Whether nobody applies the customer's events right now (a sweeper's check)."""
    with customer_lock(tenant_id, customer_key) as taken:
        return taken


@contextmanager
def _file_lock(key: int) -> Iterator[bool]:
    folder = settings.VAR_DIR / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    # One file per key: a holder drains only its own key, so keys must never share one.
    fd = os.open(folder / f"customer-{key & 0xFFFFFFFFFFFFFFFF:016x}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
