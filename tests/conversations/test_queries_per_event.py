"""How much database work one event costs (issue 16, docs/concurrency.md): at 0 ms
Kustomer latency a worker is CPU-bound and Django building SQL is the largest share of
its time, so the statements one event's task sends are counted here and held under a
ceiling (a change that adds statements back fails this test; one that removes some
lowers the ceiling). The events are an ordinary IVR call against the sandbox: a new
caller answered, transferred and ended, then the same caller calling again.

Before the cut (2026-12-02) the same five events took 68, 38, 32, 47 and 32 statements
(43 on average); the executor now keeps what its run read or wrote in hand instead of
reading it again (conversations/services/context.py, EventContext)."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conversations.e2e_helpers import event as event_body
from tests.conversations.test_metadata_writer import connect

PHONE = "+14155550123"
#: (event, statements at most) of one ordinary call, then the same caller again.
CEILINGS = (
    (event_body("call.answered", "s-1", phone=PHONE), 36),  # R-C1 new customer, R-T2 new conversation
    (event_body("session.transferred", "s-1", phone=PHONE, data={"to_agent_email": "agent1@example.com"}), 21),
    (event_body("session.ended", "s-1", phone=PHONE, data={"duration_seconds": 30, "hold_seconds": 3}), 17),
    (event_body("call.answered", "s-2", phone=PHONE), 26),  # R-U1 joins the open conversation
    (event_body("session.ended", "s-2", phone=PHONE, data={"duration_seconds": 30}), 17),
)


def _statements(captured) -> list[str]:
    # The test runs in a transaction, so each atomic block is a savepoint here where a
    # worker sends BEGIN/COMMIT: neither is counted (Django builds no query for them).
    return [q["sql"] for q in captured.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]


def _process(api, capture, body) -> list[str]:
    """Accept the event (not counted), then count what its task sends."""
    from conversations.models import Event
    from conversations.services import event_process

    with capture(execute=False):  # queued, not run: the count starts at the task
        response = api.post("/api/v1/events", body, format="json")
    assert response.status_code == 202, response.content
    event = Event.objects.get(event_id=body["id"])
    with CaptureQueriesContext(connection) as captured:
        event_process(event_pk=event.pk)
    event.refresh_from_db()
    assert event.state == Event.State.DONE, event.error
    return _statements(captured)


@pytest.fixture
def call_center(tenant, sandbox_org, api, django_capture_on_commit_callbacks):
    from kustomer_sandbox.store import add_user

    with sandbox_org.server.state.lock:
        add_user(sandbox_org.org, name="Agent", email="agent1@example.com")
    connect(tenant, sandbox_org)
    # The tenant's first event defines its Kustomer attributes and webhook (once).
    _process(api, django_capture_on_commit_callbacks, event_body("call.answered", "s-warm", phone="+14155550100"))
    return api


@pytest.mark.django_db
def test_the_statements_of_each_event_of_an_ordinary_call_stay_under_their_ceiling(
        call_center, sandbox_org, django_capture_on_commit_callbacks):
    counts = []
    for body, ceiling in CEILINGS:
        statements = _process(call_center, django_capture_on_commit_callbacks, body)
        counts.append(len(statements))
        assert len(statements) <= ceiling, (
            f"{body['type']} of {body['session']['id']}: {len(statements)} statements, at most {ceiling}:\n"
            + "\n".join(s[:160] for s in statements))
    assert sum(counts) / len(counts) <= 23.5
    # What Kustomer holds is the product's answer all the same: one customer, and the
    # second call joined the first one's conversation, still open (R-U1).
    dump = sandbox_org.dump()
    assert len([c for c in dump["customers"] if PHONE in str(c)]) == 1
    assert len(dump["conversations"]) == 2  # the warm-up caller's and this caller's


@pytest.mark.django_db
def test_a_conversation_a_listing_mirrored_as_foreign_is_folded_into_ours(
        tenant, sandbox_org, api, django_capture_on_commit_callbacks):
    """Our create was sent before (its answer lost) and a listing mirrored the result as
    a conversation not made by us: the event's run finds it by externalId and folds the
    foreign row into ours (its sessions move with it), one row per Kustomer id."""
    from conversations.models import CustomerLink, SessionLink, SyncedConversation
    from integrations.kustomer.external_ids import external_id
    from integrations.services import kustomer_client_for

    connection_row = connect(tenant, sandbox_org)
    client = kustomer_client_for(connection=connection_row)
    customer = client.create_customer(name="Ann Lee", external_id=external_id(tenant.slug, "customer", PHONE),
                                      phones=[{"type": "mobile", "phone": PHONE}])
    ours = external_id(tenant.slug, "conversation", "s-1")
    sent_before = client.create_conversation(customer_id=customer.id, external_id=ours, name="Call", status="open")
    client.close()
    link = CustomerLink.objects.create(tenant=tenant, customer_key=PHONE, external_id=customer.external_id or "x",
                                       kustomer_customer_id=customer.id)
    foreign = SyncedConversation.objects.create(
        tenant=tenant, customer=link, kustomer_customer_id=customer.id, kustomer_conversation_id=sent_before.id,
        kind=SyncedConversation.Kind.OTHER, status="open")
    old_session = SessionLink.objects.create(tenant=tenant, session_id="s-old", conversation=foreign,
                                             started_at=foreign.kustomer_created_at)
    SyncedConversation.objects.create(  # the claim of the lost create
        tenant=tenant, customer=link, kustomer_customer_id=customer.id, external_id=ours, kind="call",
        channel="voice", menu="Billing > Refunds", source="ivr")

    _process(api, django_capture_on_commit_callbacks, event_body("call.answered", "s-1", phone=PHONE))

    rows = list(SyncedConversation.objects.filter(tenant=tenant, kustomer_conversation_id=sent_before.id))
    assert [(r.external_id, r.status) for r in rows] == [(ours, "open")]
    old_session.refresh_from_db()
    assert old_session.conversation_id == rows[0].pk
    assert SessionLink.objects.get(tenant=tenant, session_id="s-1").conversation_id == rows[0].pk
    assert [c["id"] for c in sandbox_org.dump()["conversations"]] == [sent_before.id]
