"""Periodic tasks of the conversation sync (collected by portal/celery.py)."""
from celery.schedules import crontab


def beat_schedule() -> dict:
    return {
        # The database is the inbox: whatever the broker lost is re-queued from it.
        "conversations-sweep-stale-events": {"task": "conversations.tasks.events_sweep_task", "schedule": 60.0},
        "conversations-sweep-webhook-deliveries": {
            "task": "conversations.tasks.webhook_deliveries_sweep_task", "schedule": 60.0},
        # R-O2: sessions whose end never arrived get their close-out note.
        "conversations-close-out-sessions": {"task": "conversations.tasks.sessions_close_out_task", "schedule": 300.0},
        # Event ids are remembered for at least 30 days (SYNC_EVENT_RETENTION_DAYS, default 90).
        "conversations-purge-old-events": {"task": "conversations.tasks.events_purge_task",
                                            "schedule": crontab(hour=3, minute=17)},
    }
