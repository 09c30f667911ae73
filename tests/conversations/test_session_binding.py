"""A session id is bound to its customer: another caller's event with it never lands
on the first caller's conversation (the inbox answers 409, see test_inbox.py; the
executor fails one that slipped past it)."""
from __future__ import annotations

import pytest

from tests.conversations.test_metadata_writer import EVENT, connect


@pytest.mark.django_db
def test_reused_session_id_accepted_at_once_fails_instead_of_writing_onto_another_callers_conversation(
        tenant, sandbox_org, api, django_capture_on_commit_callbacks):
    """Two callers' events with one session id, accepted at the same moment (so the
    inbox's check saw neither): the second is failed with the reason, and nothing of it
    is written onto the first caller's conversation."""
    from conversations.models import Event
    from conversations.services import event_process

    connect(tenant, sandbox_org)
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post("/api/v1/events", EVENT, format="json").status_code == 202
    first = Event.objects.get(tenant=tenant, event_id="evt-first")
    assert first.state == Event.State.DONE
    notes_before = len(sandbox_org.dump()["notes"])
    payload = {**EVENT, "id": "evt-second", "end_user": {"phone": "+14155550999", "name": "Bo Chen"}}
    second = Event.objects.create(
        tenant=tenant, event_id="evt-second", type="call.answered", occurred_at=first.occurred_at,
        session_id="s-first", customer_key="+14155550999", raw_body="{}", body_hash="0" * 64, payload=payload)
    event_process(event_pk=second.pk)
    second.refresh_from_db()
    assert second.state == Event.State.FAILED
    assert "already belongs to another customer's conversation" in second.error
    assert len(sandbox_org.dump()["notes"]) == notes_before
    assert [c["id"] for c in sandbox_org.dump()["customers"] if "+14155550999" in str(c)] == []
