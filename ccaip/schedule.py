"""Periodic tasks of the CCAI Platform endpoint (collected by portal/celery.py)."""
from celery.schedules import crontab


def beat_schedule() -> dict:
    return {
        # A settle task the broker lost costs a delay, never a decision.
        "ccaip-settle-due-sessions": {"task": "ccaip.tasks.sessions_settle_due_task", "schedule": 60.0},
        # Deliveries are kept as long as the product's events (SYNC_EVENT_RETENTION_DAYS).
        "ccaip-purge-old-sessions": {"task": "ccaip.tasks.sessions_purge_task", "schedule": crontab(hour=3, minute=29)},
    }
