"""Periodic tasks of the CCAI Platform endpoint (collected by portal/celery.py)."""

BEAT_SCHEDULE = {
    # A settle task the broker lost costs a delay, never a decision.
    "ccaip-settle-due-sessions": {"task": "ccaip.tasks.sessions_settle_due_task", "schedule": 60.0},
}
