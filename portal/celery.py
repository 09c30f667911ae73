"""The Celery app of the sync backend.

Reliability choices (see portal/settings.py for the values):
- tasks acknowledge late and a lost worker re-queues its task, so a SIGKILL mid-task
  costs a retry, never the work;
- prefetch 1, so a slow Kustomer call does not strand other tasks behind it;
- JSON only: tasks take ids, never model instances or pickles;
- a threads pool by default (CELERY_WORKER_POOL, docs/concurrency.md): each thread has
  its own Django database connection, checked before and after every task the way
  Django's request cycle checks it (`close_old_connections`), kept otherwise.
The database stays the durable inbox; the broker only delivers work (SPEC §5).
"""
import os

from celery import Celery
from celery.signals import task_postrun, task_prerun
from kombu.transport import TRANSPORT_ALIASES

# `sqla+...` broker URLs (the single-machine default) use the fast-polling transport.
TRANSPORT_ALIASES["sqla"] = "portal.broker:Transport"
TRANSPORT_ALIASES["sqlalchemy"] = "portal.broker:Transport"

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _collect_beat_schedules(sender, **kwargs) -> None:
    """Each app lists its periodic tasks in `<app>/schedule.py`, as `beat_schedule()`:
    called when the worker or beat starts, so the settings it reads are current."""
    import importlib

    from django.apps import apps

    schedule = dict(sender.conf.beat_schedule or {})
    for config in apps.get_app_configs():
        module_name = f"{config.name}.schedule"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        schedule.update(module.beat_schedule())
    for entry in schedule.values():
        # A tick not picked up within its own interval is useless: the next one follows.
        if isinstance(entry.get("schedule"), (int, float)):
            entry.setdefault("options", {}).setdefault("expires", float(entry["schedule"]))
    sender.conf.beat_schedule = schedule


@task_postrun.connect
def _release_queued_once(sender=None, args=None, **kwargs) -> None:
    """A `queued_once` task ran (or failed): the next tick or fan-out may be queued."""
    if sender is not None and getattr(sender, "queued_once", False):
        from core.queue import once_release

        once_release(sender.name, args or ())


@task_prerun.connect
def _connections_checked_before(sender=None, **kwargs) -> None:
    _close_old_connections(sender)


@task_postrun.connect
def _connections_checked_after(sender=None, **kwargs) -> None:
    _close_old_connections(sender)


def _close_old_connections(task) -> None:
    """This thread's database connections: a broken one, one left in a transaction or
    one older than CONN_MAX_AGE is closed (the next query opens a fresh one); a healthy
    one is kept, with whatever session state the task released (its advisory locks are
    released by the task itself, conversations/locks.py). Not for eager tasks: they run
    inside their caller's connection and transaction."""
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()
