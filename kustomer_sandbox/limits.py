"""Kustomer's rate limits.

- One budget per org per 60 s window, shared by every key: a fixed window that starts at
  the first request and resets 60 s later. Every authenticated `/v1/` answer carries
  `x-ratelimit-limit`, `x-ratelimit-remaining` and `x-ratelimit-reset`, where *reset is
  the number of whole seconds until the window resets* (the docs leave "epoch or
  seconds" open; the sandbox picks seconds, and sends `Retry-After` with the same value
  on every 429 so clients that read either header behave).
- Creating conversations, messages and notes: 120 **of each** per customer per minute
  (sliding), each counted on its own, as the OpenAPI file states per endpoint ("A single
  client can create up to 120 conversations / messages / notes per minute per customer").
  Conversations and messages whose body carries `importedAt` are not counted ("will not
  be subject to the rate limit"); the file states no such exemption for notes.
- Search (`POST /v1/customers/search`) by API keys: 100 per minute per org (sliding),
  on top of the org budget ("Search requests by machine users (API keys): 100 per
  minute", Kustomer's rate-limits page); over it, 429 with `Retry-After`.
"""
from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass

from .errors import rate_limited
from .store import RATE_WINDOW_SECONDS, Org


@dataclass
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        headers = {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(self.remaining),
            "x-ratelimit-reset": str(self.reset_seconds),
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(1, self.reset_seconds))
        return headers


def org_rate_take(org: Org, now: float | None = None) -> RateDecision:
    """Count one request against the org's window (caller holds the state lock)."""
    now = time.monotonic() if now is None else now
    window = org.rate_window
    if window.count == 0 or window.seconds_left(now) <= 0:
        window.started_at, window.count = now, 0
    limit = org.rate_limit_per_minute
    # (now + 60) - now can come out a hair above 60 in floating point: clamp, or a fresh
    # window would say 61 seconds.
    reset = min(int(RATE_WINDOW_SECONDS), math.ceil(window.seconds_left(now)))
    if window.count >= limit:
        return RateDecision(False, limit, 0, reset)
    window.count += 1
    return RateDecision(True, limit, limit - window.count, reset)


# The kinds of create whose per-customer cap an `importedAt` in the body lifts.
IMPORT_EXEMPT_KINDS = frozenset({"conversation", "message"})


def customer_create_take(
    org: Org, customer_id: str, kind: str, body: dict | None = None, now: float | None = None,
) -> None:
    """Count a create of `kind` (conversation, message, note) for a customer, or raise 429."""
    if kind in IMPORT_EXEMPT_KINDS and body and body.get("importedAt"):
        return
    now = time.monotonic() if now is None else now
    recent = org.customer_creates.setdefault((kind, customer_id), deque())
    while recent and now - recent[0] >= RATE_WINDOW_SECONDS:
        recent.popleft()
    if len(recent) >= org.customer_create_limit_per_minute:
        wait = math.ceil(RATE_WINDOW_SECONDS - (now - recent[0]))
        error = rate_limited(
            f"more than {org.customer_create_limit_per_minute} {kind}s "
            f"for customer {customer_id} in one minute"
        )
        error.headers["Retry-After"] = str(max(1, wait))
        raise error
    recent.append(now)


def search_rate_take(org: Org, now: float | None = None) -> None:
    """Count one search of an API key, or raise 429 (caller holds the state lock)."""
    now = time.monotonic() if now is None else now
    recent = org.searches
    while recent and now - recent[0] >= RATE_WINDOW_SECONDS:
        recent.popleft()
    if len(recent) >= org.search_limit_per_minute:
        error = rate_limited(f"more than {org.search_limit_per_minute} searches in one minute")
        error.headers["Retry-After"] = str(max(1, math.ceil(RATE_WINDOW_SECONDS - (now - recent[0]))))
        raise error
    recent.append(now)
