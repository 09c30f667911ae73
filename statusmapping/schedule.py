"""Periodic tasks of status inheritance (collected by portal/celery.py)."""
from django.conf import settings


def beat_schedule() -> dict:
    # The watcher's tick: each tenant's own interval (settings page, default 5 s) decides
    # whether its read is due; the tick only needs to be at least as fine.
    tick = float(settings.STATUS_WATCH_TICK_SECONDS)
    return {
        "statusmapping-watch": {
            "task": "statusmapping.tasks.status_watch_due_task",
            "schedule": tick,
            # A tick not picked up within its own interval is useless: the next one follows.
            "options": {"expires": max(tick, 1.0)},
        },
        "statusmapping-refresh-kustomer-statuses": {
            "task": "statusmapping.tasks.kustomer_statuses_refresh_all_task",
            "schedule": 15 * 60.0,
        },
        "statusmapping-resolve-agents": {
            "task": "statusmapping.tasks.agents_kustomer_user_resolve_pending_task",
            "schedule": 10 * 60.0,
        },
        # Two-way pushes lost by the broker or a killed worker are sent again.
        "statusmapping-sweep-pushes": {
            "task": "statusmapping.tasks.agent_pushes_sweep_task",
            "schedule": 60.0,
        },
        "statusmapping-forget-adapter-instances": {
            "task": "statusmapping.tasks.adapter_instances_forget_task",
            "schedule": 60 * 60.0,
        },
    }
