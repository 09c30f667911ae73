"""GET /metrics: the Prometheus text format, for an operator's scraper.

Two sources, both safe whichever process did the work:
- counts made where things happen (Kustomer requests, 429s and errors; event latency),
  which every process writes to PROMETHEUS_MULTIPROC_DIR (core/metrics.py);
- what the database holds, read at each scrape: events by state and type, waiting
  events and the oldest one's age, status decisions, the watcher's lag, and the
  broker's queue length.
Every metric carries the tenant's slug as `tenant`, except the broker's queue.
"""
from __future__ import annotations

import hmac
import ipaddress
import logging
import os

from django.conf import settings
from django.db.models import Count, Min, Q
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from conversations.models import Event
from statusmapping.models import StatusChange, StatusInheritanceSettings

logger = logging.getLogger(__name__)

WAITING = (Event.State.ACCEPTED, Event.State.PROCESSING)


class DatabaseCollector:
    """Gauges and counters computed from the rows the product stores."""

    def collect(self):
        now = timezone.now()
        events = GaugeMetricFamily("portal_events", "Events in the inbox, by state and type.",
                                   labels=["tenant", "state", "type"])
        for row in (Event.objects.order_by().values("tenant__slug", "state", "type").annotate(n=Count("pk"))):
            events.add_metric([row["tenant__slug"], row["state"], row["type"]], row["n"])
        yield events

        waiting = GaugeMetricFamily("portal_events_waiting",
                                    "Events accepted and not yet finished (the sync's queue).", labels=["tenant"])
        oldest = GaugeMetricFamily("portal_oldest_waiting_event_age_seconds",
                                   "Age of the oldest event not yet finished (0: none waits).", labels=["tenant"])
        rows = (Event.objects.order_by().values("tenant__slug")
                .annotate(n=Count("pk", filter=Q(state__in=WAITING)),
                          oldest=Min("received_at", filter=Q(state__in=WAITING))))
        for row in rows:
            waiting.add_metric([row["tenant__slug"]], row["n"])
            age = (now - row["oldest"]).total_seconds() if row["oldest"] else 0.0
            oldest.add_metric([row["tenant__slug"]], max(0.0, age))
        yield waiting
        yield oldest

        decisions = CounterMetricFamily(
            "portal_status_decisions", "Agent status changes decided, by source, kind and decision.",
            labels=["tenant", "source", "kind", "decision"])
        for row in (StatusChange.objects.order_by().values("tenant__slug", "source", "kind", "decision")
                    .annotate(n=Count("pk"))):
            decisions.add_metric([row["tenant__slug"], row["source"], row["kind"] or "-", row["decision"]], row["n"])
        yield decisions

        lag = GaugeMetricFamily(
            "portal_watcher_lag_seconds",
            "Seconds since the Kustomer work-session watcher last read a tenant with status inheritance on.",
            labels=["tenant"])
        for row in (StatusInheritanceSettings.objects.filter(available=True, enabled=True, watched_at__isnull=False)
                    .values("tenant__slug", "watched_at")):
            lag.add_metric([row["tenant__slug"]], max(0.0, (now - row["watched_at"]).total_seconds()))
        yield lag

        depth = broker_queue_depth()
        if depth is not None:
            queue = GaugeMetricFamily("portal_broker_queue_depth", "Tasks waiting in the broker's queue.",
                                      labels=["queue"])
            queue.add_metric([_default_queue()], depth)
            yield queue


def broker_queue_depth() -> int | None:
    """Tasks waiting in the default queue when the broker is Redis (the list of the
    queue and its priority lists); None for other brokers or when it is unreachable."""
    if not settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        return None
    import redis

    name = _default_queue()
    try:
        client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=2, socket_timeout=2)
        try:
            # kombu's Redis transport keeps priorities 3, 6, 9 in "<queue>\x06\x16<n>".
            keys = [name] + [f"{name}\x06\x16{p}" for p in (3, 6, 9)]
            pipe = client.pipeline()
            for key in keys:
                pipe.llen(key)
            return int(sum(pipe.execute()))
        finally:
            client.close()
    except redis.RedisError as exc:
        logger.warning("metrics could not read the broker's queue length: %s", exc)
        return None


def _default_queue() -> str:
    from portal.celery import app

    return app.conf.task_default_queue


def _allowed(request) -> bool:
    token = settings.METRICS_TOKEN
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip().encode(), token.encode()):
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    for network in settings.METRICS_ALLOWED_NETWORKS:
        try:
            if address in ipaddress.ip_network(network, strict=False):
                return True
        except ValueError:
            logger.warning("METRICS_ALLOWED_NETWORKS has an entry that is not a network: %r", network)
    return False


def metrics_view(request):
    if not _allowed(request):
        return JsonResponse({"detail": "Not allowed: give the metrics token or scrape from an allowed network.",
                             "errors": {}}, status=403)
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    registry.register(DatabaseCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
