"""Handing work to Celery after the database commit, without ever losing it or failing
the request because the broker is down.

The database is the durable inbox (SPEC §5): by the time a task is sent, the row it
works on is committed. If the broker cannot take the message (Redis restarting, a
network blip), the request still succeeds and the app's sweeper sends the work later;
the failure is logged, never raised to the caller.
"""
from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue(task, *args: Any, **options: Any) -> bool:
    """Send `task(*args)` now; False (logged) when the broker refused it."""
    if task.app.conf.task_always_eager:
        task.apply_async(args, **options)  # tests: let the task's own errors surface
        return True
    try:
        task.apply_async(args, **options)
    except Exception:  # kombu/redis/amqp connection errors: many types, all transient here
        logger.warning(
            "broker unavailable: %s%r not sent now; its periodic sweeper will send it", task.name, args, exc_info=True
        )
        return False
    return True


def enqueue_on_commit(task, *args: Any, **options: Any) -> None:
    """Send `task(*args)` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: enqueue(task, *args, **options))


# --- Work that must not pile up ---------------------------------------------------------
# A periodic tick, or the per-tenant task it fans out, is queued at most once at a time:
# the sender claims a key in the shared cache (Redis, or var/cache on one machine), the
# worker drops it when the task has run. The claim lapses with the message's `expires`,
# so a task the broker lost, or one discarded as expired, never blocks the next one.


def once_key(task_name: str, args: tuple | list = ()) -> str:
    return "queued-once:" + task_name + ":" + ",".join(str(a) for a in args)


def enqueue_once(task, *args: Any, ttl: float, **options: Any) -> bool:
    """Send `task(*args)` unless the same call is still queued or running. It expires
    after `ttl` seconds unless picked up. False when not sent (already queued, or the
    broker refused it)."""
    from django.core.cache import cache

    key = once_key(task.name, args)
    if not cache.add(key, 1, timeout=max(1, int(ttl + 0.999))):
        return False
    options.setdefault("expires", ttl)
    if not enqueue(task, *args, **options):
        cache.delete(key)
        return False
    return True


def once_release(task_name: str, args: tuple | list = ()) -> None:
    """The worker's side (portal/celery.py, after a `queued_once` task ran)."""
    from django.core.cache import cache

    cache.delete(once_key(task_name, args))


def once_claim(task_name: str, args: tuple | list = (), *, ttl: float) -> bool:
    """Beat's side (portal/beat.py): claim a tick before sending it."""
    from django.core.cache import cache

    return cache.add(once_key(task_name, args), 1, timeout=max(1, int(ttl + 0.999)))


# --- Sweepers that never re-queue what is still queued ----------------------------------
# A sweeper runs in two steps. Its periodic tick (no mark) sends the sweeper again, with
# the time now as its mark, behind everything queued so far, and does nothing else. When
# that second run starts, every task queued before the mark has been handed to a worker
# (one FIFO queue, prefetch 1): a row queued before the mark that still waits, and is not
# being worked on now, lost its task. While a backlog lasts the second run waits behind
# it, so a sweeper adds nothing to a queue that is still draining.

SWEEP_BEHIND_TTL_SECONDS = 15 * 60


def sweep_mark(task, mark: str | None):
    """None for the tick (the sweep was sent behind the queue, once at a time); the
    mark as an aware datetime for the run that sweeps."""
    from django.core.cache import cache
    from django.utils import timezone
    from django.utils.dateparse import parse_datetime

    key = f"sweep-behind:{task.name}"
    if mark is not None:
        cache.delete(key)
        return parse_datetime(mark)
    if cache.add(key, 1, timeout=SWEEP_BEHIND_TTL_SECONDS):
        if not enqueue(task, timezone.now().isoformat()):
            cache.delete(key)
    return None


def sweep_behind_queue(task, mark: str | None, sweep) -> int:
    """A sweeper task's body: the tick sends the sweep behind the queue (0 swept); the
    run with a mark calls `sweep(queued_before=mark)`."""
    queued_before = sweep_mark(task, mark)
    return 0 if queued_before is None else sweep(queued_before=queued_before)
