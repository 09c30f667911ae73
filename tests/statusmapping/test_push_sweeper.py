"""R-S9 + SPEC §5: a two-way push whose task was lost is sent again by the sweeper."""
from datetime import timedelta

import pytest
from django.utils import timezone

from statusmapping import services
from tests.statusmapping.factories import AgentFactory

pytestmark = pytest.mark.django_db


def test_r_s9_a_wanted_push_left_unsent_is_requeued_once_past_the_deadline(tenant, monkeypatch):
    sent = []
    monkeypatch.setattr("statusmapping.services.kustomer_sync.enqueue", lambda task, *args: sent.append((task.name, args)) or True)
    waiting = AgentFactory(tenant=tenant, push_kustomer_status_id="k-away", push_requested_at=timezone.now() - timedelta(minutes=2))
    AgentFactory(tenant=tenant, push_kustomer_status_id="k-away", push_requested_at=timezone.now())  # just asked
    AgentFactory(tenant=tenant, push_kustomer_status_id="", push_requested_at=timezone.now() - timedelta(minutes=2))  # pushed

    assert services.agent_pushes_sweep() == 1
    assert sent == [("statusmapping.tasks.agent_status_push_task", (waiting.pk,))]


def test_sweeper_requeue_leaves_a_push_waiting_for_its_retry_alone(tenant, monkeypatch):
    """Issue 22: a push in its retry backoff is still queued (its retry is): the sweeper
    must not send another one each minute; once re-sent, not again before its mark."""
    from statusmapping.models import Agent
    from statusmapping.services.kustomer_sync import PUSH_RETRY_HOLD
    from statusmapping.tasks import agent_status_push_task

    assert PUSH_RETRY_HOLD.total_seconds() > agent_status_push_task.retry_backoff_max
    sent = []
    monkeypatch.setattr("statusmapping.services.kustomer_sync.enqueue", lambda task, *args: sent.append(args) or True)
    agent = AgentFactory(tenant=tenant, push_kustomer_status_id="k-away", push_requested_at=timezone.now() - timedelta(minutes=2))
    # What a failed push does before its task retries (agent_status_push).
    Agent.objects.filter(pk=agent.pk).update(push_requested_at=timezone.now() + PUSH_RETRY_HOLD)
    assert services.agent_pushes_sweep(queued_before=timezone.now()) == 0
    Agent.objects.filter(pk=agent.pk).update(push_requested_at=timezone.now() - timedelta(minutes=1))  # retry lost
    mark = timezone.now()
    assert services.agent_pushes_sweep(queued_before=mark) == 1
    assert services.agent_pushes_sweep(queued_before=mark) == 0
    assert sent == [(agent.pk,)]
