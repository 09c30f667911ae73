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
