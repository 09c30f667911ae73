# Load the Celery app whenever Django starts so that `shared_task` binds to it and
# `delay_on_commit` works from any process (web, worker, management commands).
from portal.celery import app as celery_app

__all__ = ("celery_app",)
