"""A named lock that one holder at a time takes without waiting, across every worker on
every machine, and that a killed holder never leaves taken.

PostgreSQL: a session advisory lock (released by PostgreSQL when the holder's connection
dies). SQLite (the single-machine mode): an exclusive `flock` on a file per name under
VAR_DIR/locks (released by the kernel when the holder dies). conversations/locks.py is
the same idea keyed by customer, with its own key space.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection


def _key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"core-lock:{name}".encode()).digest()[:8], "big", signed=True)


@contextmanager
def try_lock(name: str) -> Iterator[bool]:
    """Yields whether the lock `name` was taken; never waits."""
    key = _key(name)
    if connection.vendor != "postgresql":
        folder = settings.VAR_DIR / "locks"
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / f"lock-{key & 0xFFFFFFFFFFFFFFFF:016x}.lock", os.O_RDWR | os.O_CREAT, 0o600)
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
        return
    if connection.in_atomic_block:  # eager tasks inside a caller's transaction (tests, a shell)
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
