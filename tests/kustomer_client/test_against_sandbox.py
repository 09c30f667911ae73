"""The client's main flows over real HTTP against the Kustomer sandbox server."""
from __future__ import annotations

import pytest


from integrations.kustomer.client import KustomerClient
from integrations.kustomer.errors import (
    KustomerAuthError,
    KustomerBadRequestError,
    KustomerConnectionError,
    KustomerError,
    KustomerNotFoundError,
    KustomerRateLimitedError,
    KustomerServerError,
    KustomerTimeoutError,
)
from integrations.kustomer.external_ids import external_id
from integrations.kustomer.ratelimit import MemoryRateLimiter
from tests.kustomer_client.once import conversation_once, customer_once, message_once, note_once


def make_client(org, **kwargs) -> KustomerClient:
    kwargs.setdefault("timeout", 5.0)
    return KustomerClient(base_url=org.base_url, api_key=org.api_key, org_key=org.org_id, **kwargs)


@pytest.fixture
def kc(sandbox_org):
    with make_client(sandbox_org) as c:
        yield c


def test_connection_verification(sandbox_org, kc):
    me = kc.get_current_user()
    assert me.id
    bad = KustomerClient(base_url=sandbox_org.base_url, api_key="not-the-key", timeout=5)
    with pytest.raises(KustomerAuthError) as info:
        bad.get_current_user()
    assert not info.value.retryable and "not-the-key" not in str(info.value)


def test_base_url_with_v1_suffix_works(sandbox_org):
    c = KustomerClient(base_url=sandbox_org.base_url.rstrip("/") + "/v1/", api_key=sandbox_org.api_key, timeout=5)
    assert c.get_current_user().id


def test_customer_flow(sandbox_org, kc):
    ext = external_id("acme", "customer", "end-user-1")
    customer, created = customer_once(kc, external_id=ext, name="Ann Caller", phones=["+14155550100"],
                                                   emails=["ann@example.com"])
    assert created and customer.external_id == ext
    again, created_again = customer_once(kc, external_id=ext, name="Ann Caller")
    assert (again.id, created_again) == (customer.id, False)
    assert kc.get_customer_by_phone(phone="+14155550100").id == customer.id
    assert kc.get_customer_by_email(email="ann@example.com").id == customer.id
    assert kc.get_customer_by_external_id(external_id=ext).id == customer.id
    assert kc.get_customer_by_phone(phone="+14155550199") is None
    assert kc.get_customer_by_external_id(external_id="cc_acme_customer_nope") is None
    updated = kc.update_customer(customer_id=customer.id, name="Ann B. Caller")
    assert updated.name == "Ann B. Caller" and kc.get_customer(customer_id=customer.id).phones == ("+14155550100",)
    with pytest.raises(KustomerNotFoundError):
        kc.get_customer(customer_id="0" * 24)
    assert len(sandbox_org.customers()) == 1


def test_duplicate_phone_with_other_external_id_is_refused(kc):
    kc.create_customer(name="A", external_id="cc_t_customer_a", phones=["+14155550101"])
    with pytest.raises(KustomerError) as info:
        customer_once(kc, external_id="cc_t_customer_b", phones=["+14155550101"])
    assert info.value.status in (400, 409) and not info.value.retryable


def test_custom_attribute_needs_metadata_first(kc):
    customer = kc.create_customer(name="C", external_id="cc_t_customer_c")
    with pytest.raises(KustomerBadRequestError) as info:
        kc.update_customer(customer_id=customer.id, custom={"userIdStr": "u-1"})
    assert info.value.code == "badparam" and info.value.parameter
    meta = kc.put_metadata(resource="customer", properties={"userIdStr": {"displayName": "Custom user ID"}})
    assert "userIdStr" in meta.properties
    assert "userIdStr" in kc.get_metadata(resource="customer").properties
    assert kc.update_customer(customer_id=customer.id, custom={"userIdStr": "u-1"}).custom["userIdStr"] == "u-1"


def test_conversation_message_note_flow(sandbox_org, kc):
    customer = kc.create_customer(name="D", external_id="cc_t_customer_d")
    conv_ids = []
    for i in range(3):
        conv, created = conversation_once(kc,
            customer_id=customer.id, external_id=external_id("acme", "conversation", f"s{i}"),
            name=f"Call {i}", status="open", direction="in")
        assert created
        conv_ids.append(conv.id)
    # list with a small page size: the client follows links.next across pages
    listed = kc.list_customer_conversations(customer_id=customer.id, page_size=2)
    assert sorted(c.id for c in listed) == sorted(conv_ids)
    assert len(sandbox_org.requests(method="GET", path_contains="/conversations")) >= 2

    first = kc.get_conversation_by_external_id(external_id=external_id("acme", "conversation", "s0"))
    assert first.id == conv_ids[0] and first.is_open
    done = kc.update_conversation(conversation_id=first.id, status="done")
    assert done.status == "done" and kc.get_conversation_by_external_id(external_id=first.external_id).status == "done"
    assert kc.get_conversation_by_external_id(external_id="cc_acme_conversation_none") is None

    ext_m = external_id("acme", "message", "s1", "call-start")
    msg, created = message_once(kc, conversation_id=conv_ids[1], external_id=ext_m, channel="voice", app="ccaip",
                                             direction="in", preview="Inbound call")
    assert created and msg.external_id == ext_m
    again, created = message_once(kc, conversation_id=conv_ids[1], external_id=ext_m, channel="voice", app="ccaip",
                                               direction="in", preview="Inbound call")
    assert (again.id, created) == (msg.id, False)
    assert len(sandbox_org.messages(conv_ids[1])) == 1

    ext_n = external_id("acme", "note", "s1", "phone")
    note, created = note_once(kc, conversation_id=conv_ids[1], external_id=ext_n, body="From +14155550100")
    assert created and note.body == "From +14155550100"
    _, created = note_once(kc, conversation_id=conv_ids[1], external_id=ext_n, body="From +14155550100")
    assert not created and len(sandbox_org.notes(conv_ids[1])) == 1


def test_attachment_upload(sandbox_org, kc):
    content = b"RIFF....WAVEfmt recording bytes"
    att_id = kc.upload_file(name="recording.wav", content_type="audio/wav", content=content).id
    assert sandbox_org.attachment_content(att_id) == content
    transcript = kc.upload_file(name="transcript.txt", content_type="text/plain", content=b"hello")
    assert sandbox_org.attachment_content(transcript.id) == b"hello"
    customer = kc.create_customer(name="E", external_id="cc_t_customer_e")
    conv = kc.create_conversation(customer_id=customer.id, name="Call", status="open")
    msg = kc.create_message(conversation_id=conv.id, channel="voice", app="ccaip", direction="in",
                            preview="Recording", attachments=[att_id])
    assert msg.id
    msg2 = kc.create_message(conversation_id=conv.id, channel="chat", app="ccaip", direction="in",
                             preview="Transcript", attachments=[transcript])
    assert msg2.id
    note = kc.create_note(conversation_id=conv.id, body="Chat transcript attached", attachments=[transcript])
    assert note.id
    with pytest.raises(ValueError):
        kc.create_note(conversation_id=conv.id, body="x", attachments=[att_id])


def test_outbound_webhooks(kc):
    hook = kc.create_outbound_webhook(name="cc", url="https://portal.example/hooks/kustomer/acme",
                                      events=["kustomer.conversation.update"], headers={"X-Tenant": "acme"})
    assert hook.token and hook.id
    listed = kc.list_outbound_webhooks()
    assert [h.id for h in listed] == [hook.id] and listed[0].token is None
    kc.delete_outbound_webhook(webhook_id=hook.id)
    assert kc.list_outbound_webhooks() == []


def test_routing_flow(sandbox_demo_org):
    kc = make_client(sandbox_demo_org)
    statuses = {s.name: s for s in kc.list_routing_statuses()}
    assert statuses["Available"].status_type == "available" and statuses["Available"].system
    assert statuses["Lunch"].status_type == "unavailable" and not statuses["Lunch"].system
    users = kc.list_users(email="agent1@example.com")
    assert [u.email for u in users] == ["agent1@example.com"]
    agent = users[0]
    assert agent.name == "Agent One"
    teams = kc.list_teams()
    assert {t.name for t in teams} >= {"Support", "Sales"}
    settings = kc.get_team_routing_settings(team_id=teams[0].id)
    assert settings.id

    active = list(kc.iter_active_work_sessions(page_size=2))  # 5 agents: paged
    assert len(active) == 5 and all(ws.active for ws in active)
    session = kc.get_active_work_session(user_id=agent.id)
    assert session.status_id == statuses["Available"].id and session.routable
    changed = kc.update_work_session_status(work_session_id=session.id, status_id=statuses["Lunch"].id)
    assert changed.status_id == statuses["Lunch"].id and changed.status_type == "unavailable"
    assert not changed.routable
    sandbox_demo_org.set_agent_status("agent1@example.com", "Break")
    assert kc.get_active_work_session(user_id=agent.id).status_id == statuses["Break"].id


# ------------------------------------------------------------------ odd answers, for real
def test_lost_answer_after_commit_is_found_by_external_id(sandbox_org, kc):
    ext = external_id("acme", "customer", "lost-1")
    sandbox_org.inject_faults(drop_after_commit_next=1, methods=["POST"], path_contains="/customers")
    with pytest.raises((KustomerConnectionError, KustomerTimeoutError)) as info:
        customer_once(kc, external_id=ext, name="Lost")
    assert info.value.retryable
    customer, created = customer_once(kc, external_id=ext, name="Lost")
    assert not created
    assert len(sandbox_org.customers()) == 1


def test_timeout_then_write_lands_then_found(sandbox_org):
    kc = make_client(sandbox_org, timeout=0.5)
    ext = external_id("acme", "customer", "slow-1")
    sandbox_org.inject_faults(timeout_next=1, timeout_seconds=1.0, methods=["POST"], path_contains="/customers")
    with pytest.raises(KustomerTimeoutError):
        customer_once(kc, external_id=ext, name="Slow")
    sandbox_org.wait_for(lambda: sandbox_org.customers(), timeout=5)
    customer, created = customer_once(kc, external_id=ext, name="Slow")
    assert not created and len(sandbox_org.customers()) == 1


def test_server_error_is_retryable(sandbox_org, kc):
    sandbox_org.inject_faults(error_next=1, error_status=503)
    with pytest.raises(KustomerServerError) as info:
        kc.get_current_user()
    assert info.value.retryable and info.value.status == 503
    assert kc.get_current_user().id


def test_rate_limit_storm_pauses_the_org(sandbox_org):
    limiter = MemoryRateLimiter()
    kc = make_client(sandbox_org, rate_limiter=limiter, rate_limit_wait=0.5)
    sandbox_org.inject_faults(rate_limit_storm_seconds=10)
    with pytest.raises(KustomerRateLimitedError) as info:
        kc.get_current_user()
    err = info.value
    assert err.status == 429 and err.retryable and 2 < err.retry_after <= 11
    assert limiter.paused_for(sandbox_org.org_id) > 2
    # the next call is refused locally, without another request to Kustomer
    before = len(sandbox_org.requests())
    with pytest.raises(KustomerRateLimitedError) as info2:
        kc.get_current_user()
    assert info2.value.local and len(sandbox_org.requests()) == before


def test_rate_limit_headers_are_read(sandbox_org, kc):
    kc.get_current_user()
    info = kc.last_rate_limit
    assert info is not None and info.limit and info.remaining is not None
    assert info.reset_seconds is not None and 0 <= info.reset_seconds <= 60
