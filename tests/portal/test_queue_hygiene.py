"""Issue 22: periodic work never piles up, and the single-machine broker keeps up.

- the watcher tick pile-up: a tenant's work-session read still queued or running is not
  queued again by the next tick, and it expires unread;
- a beat tick still queued or running is not sent again;
- the SQLite broker hands the next task over without a second's poll pause after each
  task, and keeps no delivered rows.
"""
from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from celery.beat import ScheduleEntry
from celery.beat import Scheduler as BaseScheduler
from django.core.cache import cache
from kombu import Connection

import ccaip.tasks  # noqa: F401
import conversations.tasks  # noqa: F401 - beat imports every app's tasks too
import customfields.tasks  # noqa: F401
import portal.celery  # noqa: F401 - registers the sqla transport alias
from portal import beat
from portal.celery import app as celery_app
from statusmapping import services as status_services
from statusmapping import tasks as status_tasks


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


def test_watcher_tick_pile_up_a_tenant_read_still_queued_is_not_queued_again(monkeypatch):
    sent = []
    monkeypatch.setattr(status_services, "status_watch_due_tenants", lambda: [7, 8])
    monkeypatch.setattr(status_services, "status_watch_tenant", lambda tenant_id: 0)
    monkeypatch.setattr(status_services, "agents_damped_release", lambda: 0, raising=False)  # R-O7, not this test's
    monkeypatch.setattr(status_tasks.status_watch_tenant_task, "apply_async",
                        lambda args, **options: sent.append((tuple(args), options)))
    for _ in range(5):  # five ticks while the worker is busy elsewhere
        cache.delete("statusmapping:watch-tick")
        status_tasks.status_watch_due_task.run()
    assert sorted(args for args, _ in sent) == [(7,), (8,)]
    assert all(options["expires"] == status_tasks.WATCH_TENANT_EXPIRES_SECONDS for _, options in sent)

    # Once tenant 7's read has run, the next tick queues it again (8 is still queued).
    status_tasks.status_watch_tenant_task.apply(args=(7,))
    sent.clear()
    cache.delete("statusmapping:watch-tick")
    status_tasks.status_watch_due_task.run()
    assert [args for args, _ in sent] == [(7,)]


@pytest.mark.django_db
def test_a_beat_tick_still_queued_or_running_is_not_sent_again(monkeypatch):
    sent = []
    monkeypatch.setattr(BaseScheduler, "apply_async",
                        lambda self, entry, producer=None, advance=True, **kw: sent.append(entry.name) or entry.name)
    scheduler = beat.Scheduler.__new__(beat.Scheduler)
    scheduler.app = celery_app
    entry = ScheduleEntry(name="conversations-sweep-stale-events", task="conversations.tasks.events_sweep_task",
                          schedule=60.0, app=celery_app)
    for _ in range(3):
        scheduler.apply_async(entry, advance=False)
    assert sent == ["conversations-sweep-stale-events"]
    assert beat.entry_ttl(entry) == 60.0  # the claim lapses with the tick's interval

    celery_app.tasks["conversations.tasks.events_sweep_task"].apply()  # the tick ran
    scheduler.apply_async(entry, advance=False)
    assert sent == ["conversations-sweep-stale-events"] * 2


def test_every_interval_tick_expires_within_its_interval():
    schedule = celery_app.conf.beat_schedule
    assert schedule and all(
        entry["options"]["expires"] <= entry["schedule"]
        for entry in schedule.values() if isinstance(entry["schedule"], (int, float)))
    assert celery_app.conf.beat_scheduler == "portal.beat:Scheduler"
    periodic = {entry["task"] for entry in schedule.values()}
    assert all(getattr(celery_app.tasks[name], "queued_once", False) for name in periodic)


def test_schedules_read_their_settings_when_the_worker_starts(settings):
    """Each app's beat_schedule() is called when the schedule is collected, so the
    environment (or override_settings) of that moment sets the watcher's tick."""
    from statusmapping.schedule import beat_schedule

    settings.STATUS_WATCH_TICK_SECONDS = 2.5
    watch = beat_schedule()["statusmapping-watch"]
    assert watch["schedule"] == 2.5 and watch["options"]["expires"] == 2.5


def test_sqlite_broker_hands_the_next_task_over_without_a_poll_pause(tmp_path):
    """Issue 22 measured 0.8 events/s on `make run`: kombu's virtual transport slept its
    1 s polling interval after each task (prefetch 1, late ack). 20 tasks acknowledged
    10 ms after delivery each must take well under 20 s, and leave no rows behind."""
    path = tmp_path / "broker.sqlite3"
    with Connection(f"sqla+sqlite:///{path}") as conn:
        queue = conn.SimpleQueue("hygiene")
        for i in range(20):
            queue.put({"i": i})
        queue.consumer.qos(prefetch_count=1)
        started = time.monotonic()
        got = []
        for _ in range(20):
            message = queue.get(timeout=5)
            got.append(message.payload["i"])
            threading.Timer(0.01, message.ack).start()  # the task runs, then acknowledges
        elapsed = time.monotonic() - started
        time.sleep(0.05)
        queue.close()
    assert got == list(range(20))
    assert elapsed < 5, f"20 deliveries took {elapsed:.1f} s"
    with sqlite3.connect(path) as db:
        assert db.execute("select count(*) from kombu_message").fetchone()[0] == 0
