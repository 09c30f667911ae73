"""The one retry policy of tasks that call Kustomer (integrations/tasks.py)."""
from __future__ import annotations

import pytest
from celery import Task

from conversations import tasks as conversation_tasks
from customfields import tasks as customfield_tasks
from integrations.kustomer.errors import (
    KustomerBadRequestError,
    KustomerRateLimitedError,
    KustomerServerError,
    KustomerTransientError,
    KustomerTryAgainError,
)
from integrations.tasks import KustomerTask
from statusmapping import tasks as status_tasks

KUSTOMER_TASKS = [
    status_tasks.kustomer_statuses_refresh_task, status_tasks.agent_kustomer_user_resolve_task,
    status_tasks.agent_status_push_task, status_tasks.two_way_prerequisites_check_task,
    status_tasks.agent_sign_in_inherit_task, customfield_tasks.custom_field_push_task,
    conversation_tasks.webhook_subscription_ensure_task,
]


@pytest.mark.parametrize("task", KUSTOMER_TASKS, ids=lambda t: t.name.rsplit(".", 1)[-1])
def test_tasks_retry_transient_kustomer_errors_only_with_jittered_capped_backoff(task):
    assert isinstance(task, KustomerTask)
    assert task.autoretry_for == (KustomerTransientError,)
    assert task.retry_backoff and task.retry_jitter and task.retry_backoff_max == 300
    assert 0 < task.max_retries <= 10


def test_transient_means_a_later_try_can_help():
    assert isinstance(KustomerServerError("x", 503), KustomerTransientError)
    assert isinstance(KustomerTryAgainError("x", 408), KustomerTransientError)
    assert isinstance(KustomerRateLimitedError("x", 429), KustomerTransientError)
    assert not isinstance(KustomerBadRequestError("x", 400), KustomerTransientError)


def test_a_retry_after_a_429_waits_at_least_what_kustomer_named(monkeypatch):
    asked = {}
    monkeypatch.setattr(Task, "retry", lambda self, **kwargs: asked.update(kwargs))
    task = status_tasks.agent_status_push_task
    task.retry(exc=KustomerRateLimitedError("limited", 429, retry_after=42.0), countdown=3)
    assert asked["countdown"] == 42.0
    task.retry(exc=KustomerServerError("down", 503), countdown=3)
    assert asked["countdown"] == 3  # the backoff's draw stands


def test_every_task_on_kustomer_task_declares_the_policy():
    from portal.celery import app

    app.loader.import_default_modules()
    ours = [t for t in app.tasks.values() if isinstance(t, KustomerTask)]
    assert set(KUSTOMER_TASKS) <= set(ours)
    for task in ours:
        assert task.autoretry_for == (KustomerTransientError,), task.name
        assert task.max_retries is not None, task.name
