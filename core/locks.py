"""Named locks that one holder at a time takes without waiting, across every worker on
every machine, and that a killed holder never leaves taken.

PostgreSQL: a session advisory lock, held across the many short transactions of one
piece of work and released by PostgreSQL itself when the holder's connection dies.
SQLite (the single-machine default, every process on one machine): an exclusive `flock`
on a file per key under VAR_DIR/locks, released by the kernel when its holder dies, so
that machine can run more than one worker process too.

`try_lock(name)` is for any named job (a backfill, a sweep); conversations/locks.py keys
the same lock by tenant and customer.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection


def advisory_key(name: str) -> int:
    """A signed 64-bit key for pg_advisory_lock from a name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextmanager
def try_lock(name: str) -> Iterator[bool]:
    """Yields whether the lock `name` was taken; never waits."""
    with try_advisory_lock(advisory_key(f"core-lock:{name}"), file_prefix="lock") as taken:
        yield taken


@contextmanager
def try_advisory_lock(key: int, *, file_prefix: str) -> Iterator[bool]:
    """Yields whether the lock `key` was taken; never waits. `file_prefix` names the
    lock files of SQLite mode (one file per key: keys never share one)."""
    if connection.vendor != "postgresql":
        with file_lock(key, file_prefix=file_prefix) as taken:
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


@contextmanager
def file_lock(key: int, *, file_prefix: str) -> Iterator[bool]:
    folder = settings.VAR_DIR / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / f"{file_prefix}-{key & 0xFFFFFFFFFFFFFFFF:016x}.lock", os.O_RDWR | os.O_CREAT, 0o600)
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
