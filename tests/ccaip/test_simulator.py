"""The simulator speaks CCAI Platform's format (`simulate_traffic --format ccaip`)."""
from __future__ import annotations

import io
from collections import Counter
from datetime import datetime, timezone

import pytest
from django.core.management import call_command

from ccaip import services
from loadtest.ccaip_format import generate_ccaip_day

T0 = datetime(2026, 12, 1, 22, 0, tzinfo=timezone.utc)
#: Product events each scenario becomes (docs/ccai-platform.md).
PRODUCT_EVENTS = {"call": 3, "call_transferred": 4, "call_abandoned": 1, "chat": 4, "chat_abandoned": 2}


def day(**kw):
    args = dict(agents=3, deliveries=60, seed=4, start=T0, run_id="r1", calls_url="http://x/api/v1/ccai-platform/e/calls",
                auth=("u", "p"), rate=50.0)
    args.update(kw)
    return generate_ccaip_day(**args)


def test_same_seed_same_day_and_each_session_in_documented_order_when_not_shuffled():
    a, b = day(), day()
    assert [s.body for s in a.sends] == [s.body for s in b.sends] and len(a.sends) >= 60
    by_session: dict[str, list[int]] = {}
    for send in a.sends:
        event = send.body["events"][0]
        by_session.setdefault(event["item"]["call_id"], []).append(event["timestamp"])
        assert send.path.endswith("/calls") or send.path.endswith("/chats")
    assert all(stamps == sorted(stamps) for stamps in by_session.values())
    assert "1 = agent1@example.com" in a.agent_map


def test_disorder_and_repeats_shuffle_and_resend_without_new_event_ids():
    clean, messy = day(), day(disorder=1.0, repeat=0.5)
    assert messy.disordered > 0 and messy.repeats > 0
    ids = Counter(s.body["events"][0]["event_id"] for s in messy.sends)
    assert set(ids) == {s.body["events"][0]["event_id"] for s in clean.sends}
    assert sum(ids.values()) == len(clean.sends) + messy.repeats


@pytest.mark.e2e
def test_simulate_traffic_ccaip_feeds_the_product_like_a_ccai_platform_tenant(e2e, monkeypatch):
    endpoint, password = services.endpoint_credentials_set(tenant=e2e.tenant, username="sim")
    services.endpoint_agent_emails_set(tenant=e2e.tenant, text="\n".join(f"{i} = agent{i}@example.com"
                                                                         for i in range(1, 4)))
    from tests.conversations.e2e_helpers import add_agent

    for i in range(1, 4):
        add_agent(e2e, f"agent{i}@example.com")
    out = io.StringIO()
    monkeypatch.setenv("PORTAL_API_KEY", e2e.api_key)  # never on a command line (issue 14 #9)
    call_command("simulate_traffic", "--format", "ccaip", "--url", e2e.url,
                 "--ccaip-url", f"{e2e.url}/api/v1/ccai-platform/{endpoint.public_id}/calls",
                 "--ccaip-user", "sim", "--ccaip-password", password, "--agents", "3", "--events", "40",
                 "--rate", "0", "--seed", "3", "--ccaip-disorder", "0.5", "--ccaip-repeat", "0.3",
                 "--no-status", "--wait", "180", stdout=out)
    text = out.getvalue()
    assert "OK:" in text, text
    plan = generate_ccaip_day(agents=3, deliveries=40, seed=3, start=T0, run_id="x", calls_url="u", auth=("", ""),
                              disorder=0.5, repeat=0.3)
    expected = sum(PRODUCT_EVENTS[name] * n for name, n in plan.scenarios.items())
    from conversations.models import Event

    assert Event.objects.filter(tenant=e2e.tenant, state="done").count() == expected
    assert not Event.objects.filter(tenant=e2e.tenant).exclude(state="done").exists()
    assert f"{plan.repeats} deliveries repeated" in text
