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
