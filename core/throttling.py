"""API throttling per credential (API key, adapter token, portal user), on the shared cache.

A fixed-window counter: one `incr` on the cache per request (Redis in production, so
every web process on every machine counts together), cheap enough for the status event
endpoint's hot path. DRF's own SimpleRateThrottle keeps a list of timestamps per client
and writes it back on every request, which at thousands of requests a minute costs more
than the endpoint. A window admits at most its limit; across a window's edge a client may
briefly send up to twice the rate.

A principal names its counter by `throttle_key` and its limit by `throttle_scope`
(tenants.authentication.ApiClient, adapter.auth.AdapterAgent, ccaip's sender); a portal
user counts by user id at the API key's rate, any other principal by its client address. Limits are read from settings on every request.
"""
from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

#: Which setting holds each scope's rate ("<count>/<s|min|hour|day>").
RATE_SETTINGS = {"api_key": "API_RATE_PER_KEY", "adapter": "ADAPTER_RATE_PER_TOKEN"}
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """'6000/min' -> (6000, 60)."""
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period.strip()[:1].lower()]


class CredentialRateThrottle(BaseThrottle):
    def __init__(self) -> None:
        self._wait: float | None = None

    def allow_request(self, request, view) -> bool:
        user = request.user
        if not getattr(user, "is_authenticated", False):
            return True  # authentication answers first (401)
        key = getattr(user, "throttle_key", None) or (
            f"user:{user.pk}" if user.pk is not None
            # A principal without a row or a key of its own: never one bucket for all of them.
            else f"{type(user).__name__}:{self.get_ident(request)}")
        scope = getattr(user, "throttle_scope", "api_key")
        limit, period = parse_rate(getattr(settings, RATE_SETTINGS[scope]))
        now = time.time()
        window = int(now // period)
        counter = f"throttle:{key}:{period}:{window}"
        try:
            count = cache.incr(counter)
        except ValueError:  # the window's first request
            count = 1 if cache.add(counter, 1, timeout=period + 1) else cache.incr(counter)
        if count > limit:
            self._wait = (window + 1) * period - now
            return False
        return True

    def wait(self) -> float | None:
        return self._wait
