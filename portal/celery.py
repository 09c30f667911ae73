"""The Celery app of the sync backend.

Reliability choices (see portal/settings.py for the values):
- tasks acknowledge late and a lost worker re-queues its task, so a SIGKILL mid-task
  costs a retry, never the work;
- prefetch 1, so a slow Kustomer call does not strand other tasks behind it;
- JSON only: tasks take ids, never model instances or pickles.
The database stays the durable inbox; the broker only delivers work (SPEC §5).
"""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _collect_beat_schedules(sender, **kwargs) -> None:
    """Each app lists its periodic tasks in `<app>/schedule.py` as BEAT_SCHEDULE."""
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
        schedule.update(module.BEAT_SCHEDULE)
    sender.conf.beat_schedule = schedule
