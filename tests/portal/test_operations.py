"""Operating the portal: /metrics is guarded, /healthz and /readyz answer, logs are JSON
when asked and name the tenant and event, the Kustomer client counts its requests."""
from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
import responses
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from conversations.models import Event
from core.logging import JsonFormatter, LogContextFilter, log_context
from integrations.kustomer.client import KustomerClient
from integrations.kustomer.errors import KustomerRateLimitedError, KustomerServerError, KustomerTimeoutError
from statusmapping.models import StatusChange, StatusInheritanceSettings
from tests.tenants.factories import TenantFactory


def samples(text: str) -> dict[tuple, float]:
    """{(name, (label, value), ...): value} of a Prometheus text answer."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, *sorted(s.labels.items()))] = s.value
    return out


def _event(tenant, n: int, **fields) -> Event:
    defaults = dict(tenant=tenant, event_id=f"evt-{n}", type="call.answered", occurred_at=timezone.now(),
                    session_id=f"s-{n}", customer_key="+14155550123", raw_body="{}", body_hash=str(n), payload={})
    return Event.objects.create(**{**defaults, **fields})


@pytest.mark.django_db
def test_metrics_refused_outside_the_allowed_networks_without_the_token(client, settings):
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    settings.METRICS_TOKEN = "s3cret-token"
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.1").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.1", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.1", HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.1", HTTP_AUTHORIZATION="Bearer ").status_code == 403


@pytest.mark.django_db
def test_metrics_from_the_database(client):
    tenant = TenantFactory(slug="metrics-db")
    now = timezone.now()
    _event(tenant, 1, state=Event.State.DONE)
    _event(tenant, 2, state=Event.State.DONE, type="chat.started")
    _event(tenant, 3, state=Event.State.ACCEPTED, received_at=now - timedelta(seconds=90))
    _event(tenant, 4, state=Event.State.PROCESSING, received_at=now - timedelta(seconds=10))
    for i, decision in enumerate(["applied", "applied", "stale"]):
        StatusChange.objects.create(tenant=tenant, event_id=f"st-{i}", agent_email="a@example.com",
                                    source="contact_center", kind="manual", decision=decision, occurred_at=now)
    StatusInheritanceSettings.objects.create(tenant=tenant, available=True, enabled=True,
                                             watched_at=now - timedelta(seconds=42))
    answer = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert answer.status_code == 200
    got = samples(answer.content.decode())
    t = ("tenant", "metrics-db")
    assert got[("portal_events", ("state", "done"), t, ("type", "call.answered"))] == 1
    assert got[("portal_events", ("state", "done"), t, ("type", "chat.started"))] == 1
    assert got[("portal_events", ("state", "accepted"), t, ("type", "call.answered"))] == 1
    assert got[("portal_events_waiting", t)] == 2
    assert 90 <= got[("portal_oldest_waiting_event_age_seconds", t)] < 120
    assert got[("portal_status_decisions_total", ("decision", "applied"), ("kind", "manual"),
                ("source", "contact_center"), t)] == 2
    assert got[("portal_status_decisions_total", ("decision", "stale"), ("kind", "manual"),
                ("source", "contact_center"), t)] == 1
    assert 42 <= got[("portal_watcher_lag_seconds", t)] < 70


@pytest.mark.django_db
def test_healthz_and_readyz(client, settings):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.content
    assert ready.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok", "cache": "ok"}}


@pytest.mark.django_db
def test_readyz_names_an_unreachable_broker(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    answer = client.get("/readyz")
    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok" and body["checks"]["cache"] == "ok"
    assert body["checks"]["broker"].startswith("failed")


def test_json_log_lines_carry_tenant_and_event():
    record = logging.LogRecord("conversations.services", logging.INFO, __file__, 1, "event %s waits", ("evt-1",), None)
    with log_context(tenant="acme", event="evt-1"):
        LogContextFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "event evt-1 waits"
    assert line["tenant"] == "acme" and line["event"] == "evt-1"
    assert line["level"] == "INFO" and line["logger"] == "conversations.services"
    assert record.context == " tenant=acme event=evt-1"
    outside = logging.LogRecord("x", logging.INFO, __file__, 1, "m", (), None)
    LogContextFilter().filter(outside)
    assert "tenant" not in json.loads(JsonFormatter().format(outside)) and outside.context == ""


def _count(name: str, **labels) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name, labels) or 0.0


@responses.activate
def test_client_counts_requests_429s_and_errors_per_tenant():
    """Counted in the client's one HTTP layer, whatever the caller (this process's own
    registry: the multiprocess files are added up only at /metrics)."""
    base = "https://acme.api.kustomerapp.com/v1"
    client = KustomerClient(base_url=base, api_key="k" * 20, metrics_label="count-test", inline_retry_max=0)
    before = {name: _count(name, tenant="count-test") for name in
              ("portal_kustomer_requests_total", "portal_kustomer_rate_limited_total")}
    responses.get(base + "/users/current", json={"data": {"id": "u1", "type": "user", "attributes": {}}})
    responses.get(base + "/customers/c1", status=429, headers={"Retry-After": "30"})
    responses.get(base + "/customers/c2", status=503)
    client.get_current_user()
    with pytest.raises(KustomerRateLimitedError):
        client.get_customer(customer_id="c1")
    with pytest.raises(KustomerServerError):
        client.get_customer(customer_id="c2")
    assert _count("portal_kustomer_requests_total", tenant="count-test") - before["portal_kustomer_requests_total"] == 3
    assert _count("portal_kustomer_rate_limited_total", tenant="count-test") - before["portal_kustomer_rate_limited_total"] == 1
    assert _count("portal_kustomer_errors_total", tenant="count-test", reason="server") >= 1
