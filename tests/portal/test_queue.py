"""SPEC §5: the broker only delivers work. A broker that is down never fails a request
whose row is committed; the sweepers send the work later."""
import pytest
from celery.exceptions import OperationalError

from conversations.models import Event
from portal.celery import app
from core.queue import enqueue


@pytest.fixture
def broker_down(monkeypatch):
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False

    def refuse(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    from conversations.tasks import event_process_task

    monkeypatch.setattr(event_process_task, "apply_async", refuse)
    yield
    app.conf.task_always_eager = eager


def test_enqueue_reports_a_refused_message_instead_of_raising(broker_down, caplog):
    from conversations.tasks import event_process_task

    assert enqueue(event_process_task, 1) is False
    assert "sweeper" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_an_event_is_accepted_while_the_broker_is_down(api, broker_down):
    body = {
        "id": "evt-broker-down", "type": "call.answered", "occurred_at": "2026-11-23T10:00:00Z",
        "session": {"id": "s-1", "channel": "voice", "source": "ivr"},
        "end_user": {"phone": "+14155550123"}, "agent": {"email": "agent1@example.com"}, "data": {},
    }
    response = api.post("/api/v1/events", body, format="json")
    assert response.status_code == 202
    assert response.json() == {"id": "evt-broker-down", "state": "accepted"}
    assert Event.objects.get(event_id="evt-broker-down").state == "accepted"  # the sweeper's to send
