"""Prometheus metrics counted where things happen, in whichever process they happen.

Web server (gunicorn), Celery workers and beat are separate processes, so these use
prometheus_client's multiprocess mode: each process writes its counts to files in
``PROMETHEUS_MULTIPROC_DIR`` (set by portal/settings.py before this module is first
imported) and ``/metrics`` adds them up (portal/metrics.py). What the database already
holds (events by state, waiting events, status decisions, watcher lag) is read from it
at scrape time instead, so it is exact whichever process did the work.
"""
from __future__ import annotations

from prometheus_client import Counter, Histogram

KUSTOMER_REQUESTS = Counter(
    "portal_kustomer_requests", "HTTP requests sent to Kustomer (every try, any answer).", ["tenant"]
)
KUSTOMER_RATE_LIMITED = Counter(
    "portal_kustomer_rate_limited", "Kustomer answers 429 Too Many Requests.", ["tenant"]
)
KUSTOMER_ERRORS = Counter(
    "portal_kustomer_errors",
    "Kustomer requests that failed: reason timeout or connection (no answer), server (5xx), auth (401/403).",
    ["tenant", "reason"],
)
# Seconds from the API accepting an event (202) to the event done in Kustomer.
EVENT_LATENCY = Histogram(
    "portal_event_latency_seconds", "Seconds from an event's acceptance to done.", ["tenant", "type"],
    buckets=(0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, float("inf")),
)


def kustomer_request_count(*, tenant: str, status: int | None, reason: str = "") -> None:
    """One request sent to Kustomer: `status` of its answer, or None with `reason`
    ("timeout", "connection") when none came."""
    tenant = tenant or "-"
    KUSTOMER_REQUESTS.labels(tenant).inc()
    if status == 429:
        KUSTOMER_RATE_LIMITED.labels(tenant).inc()
    elif status is None:
        KUSTOMER_ERRORS.labels(tenant, reason or "connection").inc()
    elif status >= 500:
        KUSTOMER_ERRORS.labels(tenant, "server").inc()
    elif status in (401, 403):
        KUSTOMER_ERRORS.labels(tenant, "auth").inc()


def event_done_observe(*, tenant: str, type_: str, seconds: float) -> None:
    EVENT_LATENCY.labels(tenant or "-", type_).observe(max(0.0, seconds))
