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
