"""Periodic tasks of custom fields (collected by portal/celery.py)."""


def beat_schedule() -> dict:
    return {
        "customfields-requeue-stale": {
            "task": "customfields.tasks.custom_fields_requeue_stale_task",
            "schedule": 300.0,
        },
        "customfields-backfill-resume-stale": {
            "task": "customfields.tasks.backfill_resume_stale_task",
            "schedule": 60.0,
        },
    }
