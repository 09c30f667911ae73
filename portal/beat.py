"""Celery beat that never piles periodic work up (issue 22: a queue of 285 watcher
ticks after a demo day).

A tick whose task is declared `queued_once=True` is not sent while the previous one is
still queued or running (core.queue's claim, dropped by the worker once it ran), and
every tick with an interval schedule expires after that interval (portal/celery.py):
a tick nobody picked up in time is useless, the next one follows.
"""
from __future__ import annotations

import logging

from celery.beat import PersistentScheduler
from celery.schedules import schedule as interval_schedule

from core.queue import once_claim

logger = logging.getLogger(__name__)


def entry_ttl(entry) -> float:
    expires = (entry.options or {}).get("expires")
    if isinstance(expires, (int, float)):
        return float(expires)
    if isinstance(entry.schedule, interval_schedule):
        return entry.schedule.run_every.total_seconds()
    return 3600.0


class Scheduler(PersistentScheduler):
    def apply_async(self, entry, producer=None, advance=True, **kwargs):
        task = self.app.tasks.get(entry.task)
        if task is not None and getattr(task, "queued_once", False):
            if not once_claim(entry.task, entry.args or (), ttl=entry_ttl(entry)):
                logger.info("tick %s is still queued or running: not sent again", entry.name)
                if advance:
                    self.reserve(entry)
                return None
        return super().apply_async(entry, producer=producer, advance=advance, **kwargs)
