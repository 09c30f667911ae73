"""Dashboard selectors (portal/dashboard.py) and the page's actions."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from conversations.models import Event
from portal import dashboard
from tests.tenants.factories import TenantFactory

pytestmark = pytest.mark.django_db


def make_event(tenant, event_id, state, received_at):
    return Event.objects.create(tenant=tenant, event_id=event_id, type="call.answered", occurred_at=received_at,
                                session_id="s", customer_key="+1", raw_body="{}", body_hash="h", payload={},
                                state=state, received_at=received_at, error="boom" if state == "failed" else "")


def test_sync_health_counts_the_last_hour_by_state_and_ages_the_oldest_unprocessed(tenant):
    now = timezone.now()
    make_event(tenant, "old", "done", now - timedelta(hours=2))
    make_event(tenant, "a", "accepted", now - timedelta(minutes=5))
    make_event(tenant, "b", "failed", now - timedelta(minutes=1))
    make_event(TenantFactory(slug="globex"), "g", "accepted", now - timedelta(minutes=50))
    health = dashboard.sync_health_get(tenant=tenant, now=now)
    assert health.last_hour_by_state == {"accepted": 1, "processing": 0, "needs_customer": 0, "done": 0, "failed": 1}
    assert health.last_hour_total == 2
    assert health.oldest_unfinished_event_id == "a"
    assert timedelta(minutes=4) < health.oldest_unfinished_age <= timedelta(minutes=5, seconds=1)
    assert health.failed_total == 1
    assert health.oldest_unfinished_age_text.startswith(("4 min", "5 min"))


@pytest.mark.parametrize("seconds, text", [(0, "0 s"), (59, "59 s"), (60, "1 min"), (185, "3 min 5 s"),
                                           (7800, "2 h 10 min"), (7200, "2 h")])
def test_duration_text(seconds, text):
    assert dashboard.duration_text(timedelta(seconds=seconds)) == text


def test_events_per_minute_fills_gaps_and_counts_failed(tenant):
    now = timezone.now().replace(second=30, microsecond=0)
    make_event(tenant, "x1", "done", now - timedelta(minutes=2))
    make_event(tenant, "x2", "failed", now - timedelta(minutes=2))
    make_event(tenant, "x3", "done", now)
    bars = dashboard.events_per_minute(tenant=tenant, minutes=5, now=now)
    assert [b.total for b in bars] == [0, 0, 2, 0, 1]
    assert [b.failed for b in bars] == [0, 0, 1, 0, 0]
    geometry = dashboard.chart_svg_geometry(bars)
    assert geometry["top"] == 2 and geometry["rects"][2]["h"] == geometry["plot_h"]


def test_retry_from_the_dashboard_queues_a_failed_event_and_confirms(admin_client, tenant):
    event = make_event(tenant, "f1", "failed", timezone.now())
    r = admin_client.post("/", {"action": "retry", "event": event.pk}, follow=True)
    assert "Event f1 queued again" in r.content.decode()
    event.refresh_from_db()
    assert event.state != "failed" or event.attempts > 0


def test_r_a1_retry_of_another_tenants_event_is_404(admin_client):
    foreign = make_event(TenantFactory(slug="globex"), "g1", "failed", timezone.now())
    assert admin_client.post("/", {"action": "retry", "event": foreign.pk}).status_code == 404
    foreign.refresh_from_db()
    assert foreign.state == "failed"


def test_r_a1_a_sign_in_link_for_another_tenants_agent_is_404(admin_client):
    from statusmapping.services import agent_create
    agent_create(tenant=TenantFactory(slug="globex"), email="gus@globex.test")
    assert admin_client.post("/", {"action": "adapter_link", "email": "gus@globex.test"}).status_code == 404


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_rate_budget_used_counts_the_requests_of_the_last_minute(backend, tmp_path):
    from integrations.kustomer.ratelimit import MemoryRateLimiter, SQLiteRateLimiter

    clock = [1000.0]
    kwargs = {"clock": lambda: clock[0], "sleep": lambda s: None}
    limiter = MemoryRateLimiter(**kwargs) if backend == "memory" else SQLiteRateLimiter(
        str(tmp_path / "rl.sqlite3"), **kwargs)
    for _ in range(3):
        limiter.acquire("org:a", limit_per_minute=100)
    limiter.acquire("org:b", limit_per_minute=100)
    assert limiter.used_in_window("org:a") == 3
    clock[0] += 61
    assert limiter.used_in_window("org:a") == 0


def test_dashboard_shows_the_rate_budget_used(admin_client, tenant, monkeypatch):
    from integrations.kustomer.ratelimit import MemoryRateLimiter
    from integrations.models import KustomerConnection
    from integrations import services as integration_services
    from core.crypto import encrypt_secret

    connection = KustomerConnection.objects.create(
        tenant=tenant, base_url="https://acme.api.kustomerapp.com", api_key_encrypted=encrypt_secret("k"),
        rate_limit_per_minute=200, kustomer_org_id="org1",
    )
    limiter = MemoryRateLimiter()
    monkeypatch.setattr(integration_services, "_rate_limiter", limiter)
    for _ in range(50):
        limiter.acquire(connection.org_key, limit_per_minute=200)
    html = admin_client.get("/").content.decode()
    assert "50 of 200 requests/min used (25%)" in html


def test_rate_budget_used_on_redis_counts_only_this_orgs_window(settings):
    """The deployment's limiter: Redis' own clock, one org's log."""
    import uuid

    from integrations.kustomer.ratelimit import build_rate_limiter

    if not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("needs Redis (set CELERY_BROKER_URL)")
    limiter = build_rate_limiter(settings.CELERY_BROKER_URL + f"?prefix=test-used-{uuid.uuid4().hex[:6]}")
    try:
        for _ in range(4):
            limiter.acquire("org:x", limit_per_minute=100)
        assert limiter.used_in_window("org:x") == 4
        assert limiter.used_in_window("org:y") == 0
    finally:
        limiter.redis.delete(*limiter.keys("org:x"))


def test_the_live_fragment_is_only_the_live_cards(admin_client, tenant):
    make_event(tenant, "f9", "failed", timezone.now())
    html = admin_client.get("/?fragment=live").content.decode()
    assert 'data-testid="failed-f9"' in html and "<nav" not in html and "<html" not in html


def test_a_sandbox_connected_tenant_gets_a_link_to_the_sandboxs_kustomer_desktop(admin_client, tenant):
    from integrations.models import KustomerConnection

    KustomerConnection.objects.create(tenant=tenant, base_url="http://127.0.0.1:8765", api_key_encrypted="x",
                                      kustomer_org_id="6b06a2154bd42b159990db8e")
    html = admin_client.get("/").content.decode()
    assert 'href="http://127.0.0.1:8765/__sandbox/desktop/6b06a2154bd42b159990db8e"' in html
    KustomerConnection.objects.filter(tenant=tenant).update(base_url="https://acme.api.kustomerapp.com")
    assert "__sandbox/desktop" not in admin_client.get("/").content.decode()
