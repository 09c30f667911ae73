"""One request budget per Kustomer org, shared by every worker on every machine.

Kustomer counts every API request of an org against one budget per 60 s (1,000/min on
Enterprise, 2,000 Ultimate, 500/300 on older plans), whichever key sent it, and answers
HTTP 429 beyond it. This module keeps our side below that budget:

- ``acquire(org_key, limit_per_minute=..., timeout=...)`` takes one request slot from a
  sliding 60-second window (at most ``floor(limit * safety)`` slots in any 60 s), sleeping
  while none is free; when no slot can be had within ``timeout`` it raises
  ``KustomerRateLimitedError(local=True, retry_after=...)`` at once instead of sleeping
  for nothing.
- ``observe(org_key, remaining=..., reset_seconds=..., limit=...)`` feeds Kustomer's
  ``x-ratelimit-*`` headers back: when Kustomer says the window is spent (other keys of
  the org use the same budget) ``acquire`` waits for the reset; a smaller ``limit`` than
  the one we were given wins.
- ``pause(org_key, seconds)``: after a 429, nobody sends for that org until it is over.

Back ends, chosen by URL in ``build_rate_limiter``:
- ``redis://host:port/db[?prefix=...]`` (also ``rediss://``): the deployment's Redis (ratelimit_redis.py);
  every decision is one Lua script, so it is atomic across machines, and the time is
  Redis' own clock, so machines' clock skew does not matter.
- ``sqlite:////abs/path.sqlite3``: single-machine installs; every decision is one
  ``BEGIN IMMEDIATE`` transaction, so it is safe across processes.
- ``memory://``: process-local, for tests.

If the shared store itself fails (Redis down, SQLite locked past its busy timeout) the
limiter logs a warning and lets the request through: Kustomer's own 429 is still there
to protect the budget, and a store outage should not stop every integration.
"""
from __future__ import annotations

import abc
import logging
import math
import os
import random
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from .errors import KustomerRateLimitedError

__all__ = [
    "RateLimiter",
    "MemoryRateLimiter",
    "SQLiteRateLimiter",
    "build_rate_limiter",
    "DEFAULT_LIMIT_PER_MINUTE",
    "WINDOW_SECONDS",
]

logger = logging.getLogger(__name__)

DEFAULT_LIMIT_PER_MINUTE = 1000
WINDOW_SECONDS = 60.0
DEFAULT_SAFETY = 0.9
#: How long a limit observed in Kustomer's headers overrides the plan's limit.
OBSERVED_LIMIT_TTL = 600.0
_MIN_SLEEP = 0.01


def _budget(limit: int, safety: float) -> int:
    return max(1, math.floor(limit * safety))


class RateLimiter(abc.ABC):
    """Shared per-org request budget. Subclasses implement the three atomic steps."""

    window: float = WINDOW_SECONDS

    def __init__(
        self,
        *,
        safety: float = DEFAULT_SAFETY,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not 0 < safety <= 1:
            raise ValueError("safety must be in (0, 1]")
        if window <= 0:
            raise ValueError("window must be positive")
        self.safety = safety
        self.window = float(window)
        self._clock = clock
        self._sleep = sleep

    # ------------------------------------------------------------------ public API
    def acquire(self, org_key: str, *, limit_per_minute: int = DEFAULT_LIMIT_PER_MINUTE,
                timeout: float | None = None) -> None:
        """Take one request slot of ``org_key``, sleeping until one is free.

        ``timeout`` None waits as long as it takes. Raises ``KustomerRateLimitedError``
        (``local=True``, ``retry_after`` = the wait still needed) when the slot cannot
        be had within ``timeout`` seconds.
        """
        if limit_per_minute < 1:
            raise ValueError("limit_per_minute must be >= 1")
        budget = _budget(limit_per_minute, self.safety)
        deadline = None if timeout is None else self._clock() + max(0.0, timeout)
        while True:
            try:
                wait = self._try_acquire(org_key, budget)
            except self._store_errors as exc:  # type: ignore[misc]
                logger.warning("kustomer rate limiter store failed (acquire, letting through): %s", exc)
                return
            if wait <= 0:
                return
            if deadline is not None:
                left = deadline - self._clock()
                if wait > left:
                    raise KustomerRateLimitedError(
                        f"no request slot for this org within {timeout:.1f}s "
                        f"(local budget {budget}/min; next slot in {wait:.1f}s)",
                        retry_after=wait,
                        local=True,
                    )
            # a little jitter so that workers woken together do not stampede
            self._sleep(max(_MIN_SLEEP, wait + random.uniform(0, min(0.25, wait * 0.1))))

    def observe(self, org_key: str, *, remaining: int | None, reset_seconds: float | None,
                limit: int | None) -> None:
        """Correct the local view from Kustomer's ``x-ratelimit-*`` headers.

        ``reset_seconds`` is the wait until Kustomer's window resets (already turned
        from an epoch into seconds when needed); None means unknown (one window assumed).
        """
        if remaining is None and limit is None:
            return
        if remaining is not None:
            remaining = max(0, int(remaining))
        if reset_seconds is not None:
            reset_seconds = min(max(0.0, float(reset_seconds)), 3600.0)
        if limit is not None and limit < 1:
            limit = None
        try:
            self._observe(org_key, remaining, reset_seconds, limit)
        except self._store_errors as exc:  # type: ignore[misc]
            logger.warning("kustomer rate limiter store failed (observe): %s", exc)

    def pause(self, org_key: str, seconds: float) -> None:
        """Stop every worker sending for ``org_key`` for ``seconds`` (after a 429)."""
        seconds = min(max(0.0, float(seconds)), 3600.0)
        if seconds <= 0:
            return
        try:
            self._pause(org_key, seconds)
        except self._store_errors as exc:  # type: ignore[misc]
            logger.warning("kustomer rate limiter store failed (pause): %s", exc)

    def paused_for(self, org_key: str) -> float:
        """Seconds the org is still paused for (0 when not paused)."""
        return max(0.0, self._paused_for(org_key))

    def used_in_window(self, org_key: str) -> int:
        """Requests taken for ``org_key`` in the last window (read-only, for the
        portal's dashboard). 0 when the shared store cannot be read."""
        try:
            return max(0, int(self._used_in_window(org_key)))
        except self._store_errors as exc:  # type: ignore[misc]
            logger.warning("kustomer rate limiter store failed (used_in_window): %s", exc)
            return 0

    # ------------------------------------------------------------------ back end
    _store_errors: tuple[type[BaseException], ...] = ()

    @abc.abstractmethod
    def _try_acquire(self, org_key: str, budget: int) -> float:
        """Atomically take a slot (return 0) or return the seconds to wait."""

    @abc.abstractmethod
    def _observe(self, org_key: str, remaining: int | None, reset_seconds: float | None,
                 limit: int | None) -> None: ...

    @abc.abstractmethod
    def _pause(self, org_key: str, seconds: float) -> None: ...

    @abc.abstractmethod
    def _paused_for(self, org_key: str) -> float: ...

    @abc.abstractmethod
    def _used_in_window(self, org_key: str) -> int: ...


# ---------------------------------------------------------------------- shared logic
@dataclass(slots=True)
class _State:
    paused_until: float = 0.0
    srv_remaining: float | None = None
    srv_reset_at: float = 0.0
    srv_limit: int | None = None
    srv_limit_until: float = 0.0


def _effective_budget(budget: int, st: _State, now: float, safety: float) -> int:
    if st.srv_limit and st.srv_limit_until > now:
        return min(budget, _budget(st.srv_limit, safety))
    return budget


def _server_wait(st: _State, now: float) -> float:
    """Wait imposed by Kustomer's own view (0 = fine)."""
    if st.srv_remaining is not None and st.srv_reset_at > now and st.srv_remaining <= 0:
        return st.srv_reset_at - now
    return 0.0


def _apply_observation(st: _State, now: float, remaining: int | None, reset_seconds: float | None,
                       limit: int | None, window: float) -> None:
    # Kustomer changed the org's limit (a plan change): counts of the old limit say
    # nothing about the new one, even within one window.
    limit_changed = limit is not None and st.srv_limit is not None and limit != st.srv_limit
    if limit is not None:
        st.srv_limit = limit
        st.srv_limit_until = now + OBSERVED_LIMIT_TTL
    if remaining is None:
        return
    reset_at = now + (window if reset_seconds is None else reset_seconds)
    same_window = st.srv_reset_at > now and abs(st.srv_reset_at - reset_at) < 2.0
    if same_window and st.srv_remaining is not None and not limit_changed:
        # answers arrive out of order: within one window the lowest count is the truest
        st.srv_remaining = min(st.srv_remaining, remaining)
    else:
        st.srv_remaining = remaining
        st.srv_reset_at = reset_at


# ---------------------------------------------------------------------- memory
class MemoryRateLimiter(RateLimiter):
    """Process-local limiter (tests, one-process tools). Thread-safe."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._lock = threading.Lock()
        self._logs: dict[str, deque[float]] = {}
        self._states: dict[str, _State] = {}

    def _try_acquire(self, org_key: str, budget: int) -> float:
        with self._lock:
            now = self._clock()
            st = self._states.setdefault(org_key, _State())
            if st.paused_until > now:
                return st.paused_until - now
            limit = _effective_budget(budget, st, now, self.safety)
            log = self._logs.setdefault(org_key, deque())
            while log and log[0] <= now - self.window:
                log.popleft()
            if len(log) >= limit:
                return max(_MIN_SLEEP, log[len(log) - limit] + self.window - now)
            wait = _server_wait(st, now)
            if wait > 0:
                return wait
            if st.srv_remaining is not None and st.srv_reset_at > now:
                st.srv_remaining -= 1
            log.append(now)
            return 0.0

    def _observe(self, org_key, remaining, reset_seconds, limit) -> None:
        with self._lock:
            st = self._states.setdefault(org_key, _State())
            _apply_observation(st, self._clock(), remaining, reset_seconds, limit, self.window)

    def _pause(self, org_key: str, seconds: float) -> None:
        with self._lock:
            st = self._states.setdefault(org_key, _State())
            st.paused_until = max(st.paused_until, self._clock() + seconds)

    def _paused_for(self, org_key: str) -> float:
        with self._lock:
            st = self._states.get(org_key)
            return (st.paused_until - self._clock()) if st else 0.0

    def _used_in_window(self, org_key: str) -> int:
        with self._lock:
            since = self._clock() - self.window
            return sum(1 for ts in self._logs.get(org_key, ()) if ts > since)


# ---------------------------------------------------------------------- sqlite
_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS kustomer_ratelimit_log (
    org_key TEXT NOT NULL,
    ts REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS kustomer_ratelimit_log_org_ts ON kustomer_ratelimit_log (org_key, ts);
CREATE TABLE IF NOT EXISTS kustomer_ratelimit_state (
    org_key TEXT PRIMARY KEY,
    paused_until REAL NOT NULL DEFAULT 0,
    srv_remaining REAL,
    srv_reset_at REAL NOT NULL DEFAULT 0,
    srv_limit INTEGER,
    srv_limit_until REAL NOT NULL DEFAULT 0
);
"""


class SQLiteRateLimiter(RateLimiter):
    """Embedded limiter for single-machine installs, safe across processes.

    Each decision runs in one ``BEGIN IMMEDIATE`` transaction (SQLite's write lock), so
    two processes can never both take the last slot. One connection per process and
    thread; WAL journal; a busy timeout of ``busy_timeout`` seconds.
    """

    _store_errors = (sqlite3.OperationalError, sqlite3.DatabaseError)

    def __init__(self, path: str, *, busy_timeout: float = 30.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not os.path.isabs(path):
            raise ValueError(f"sqlite rate limiter needs an absolute path, got {path!r}")
        self.path = path
        self.busy_timeout = busy_timeout
        os.makedirs(os.path.dirname(path) or "/", exist_ok=True)
        self._local = threading.local()
        self._conn().executescript(_SQLITE_SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "pid", None) != os.getpid():
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
            except sqlite3.OperationalError:  # another process is switching it right now
                pass
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
            self._local.pid = os.getpid()
        return conn

    @contextmanager
    def _tx(self, conn: sqlite3.Connection | None = None) -> Iterator[sqlite3.Connection]:
        conn = conn or self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @staticmethod
    def _load_state(conn: sqlite3.Connection, org_key: str) -> _State:
        row = conn.execute(
            "SELECT paused_until, srv_remaining, srv_reset_at, srv_limit, srv_limit_until "
            "FROM kustomer_ratelimit_state WHERE org_key = ?",
            (org_key,),
        ).fetchone()
        return _State(*row) if row else _State()

    @staticmethod
    def _save_state(conn: sqlite3.Connection, org_key: str, st: _State) -> None:
        conn.execute(
            "INSERT INTO kustomer_ratelimit_state "
            "(org_key, paused_until, srv_remaining, srv_reset_at, srv_limit, srv_limit_until) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(org_key) DO UPDATE SET "
            "paused_until = excluded.paused_until, srv_remaining = excluded.srv_remaining, "
            "srv_reset_at = excluded.srv_reset_at, srv_limit = excluded.srv_limit, "
            "srv_limit_until = excluded.srv_limit_until",
            (org_key, st.paused_until, st.srv_remaining, st.srv_reset_at, st.srv_limit,
             st.srv_limit_until),
        )

    def _try_acquire(self, org_key: str, budget: int) -> float:
        with self._tx() as conn:
            now = self._clock()
            st = self._load_state(conn, org_key)
            if st.paused_until > now:
                return st.paused_until - now
            limit = _effective_budget(budget, st, now, self.safety)
            conn.execute(
                "DELETE FROM kustomer_ratelimit_log WHERE org_key = ? AND ts <= ?",
                (org_key, now - self.window),
            )
            (count,) = conn.execute(
                "SELECT COUNT(*) FROM kustomer_ratelimit_log WHERE org_key = ?", (org_key,)
            ).fetchone()
            if count >= limit:
                (ts,) = conn.execute(
                    "SELECT ts FROM kustomer_ratelimit_log WHERE org_key = ? "
                    "ORDER BY ts LIMIT 1 OFFSET ?",
                    (org_key, count - limit),
                ).fetchone()
                return max(_MIN_SLEEP, ts + self.window - now)
            wait = _server_wait(st, now)
            if wait > 0:
                return wait
            if st.srv_remaining is not None and st.srv_reset_at > now:
                st.srv_remaining -= 1
                self._save_state(conn, org_key, st)
            conn.execute("INSERT INTO kustomer_ratelimit_log (org_key, ts) VALUES (?, ?)", (org_key, now))
            return 0.0

    def _observe(self, org_key, remaining, reset_seconds, limit) -> None:
        with self._tx() as conn:
            st = self._load_state(conn, org_key)
            _apply_observation(st, self._clock(), remaining, reset_seconds, limit, self.window)
            self._save_state(conn, org_key, st)

    def _pause(self, org_key: str, seconds: float) -> None:
        with self._tx() as conn:
            st = self._load_state(conn, org_key)
            st.paused_until = max(st.paused_until, self._clock() + seconds)
            self._save_state(conn, org_key, st)

    def _paused_for(self, org_key: str) -> float:
        conn = self._conn()
        st = self._load_state(conn, org_key)
        return st.paused_until - self._clock()

    def _used_in_window(self, org_key: str) -> int:
        (count,) = self._conn().execute(
            "SELECT COUNT(*) FROM kustomer_ratelimit_log WHERE org_key = ? AND ts > ?",
            (org_key, self._clock() - self.window),
        ).fetchone()
        return count

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


# ---------------------------------------------------------------------- factory
def build_rate_limiter(url: str, *, key_prefix: str | None = None, **kwargs: Any) -> RateLimiter:
    """Limiter for ``url``:

    - ``redis://host:port/db`` / ``rediss://...`` (optional ``?prefix=<key prefix>``),
    - ``sqlite:////abs/path.sqlite3`` (absolute path; ``sqlite:///abs/...`` also read
      as absolute),
    - ``memory://``.

    Extra keyword arguments (``safety``, ``window``, ``clock``, ``sleep``) go to the
    limiter (``window`` other than 60 s is for tests).
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("redis", "rediss", "unix"):
        import redis

        query = parse_qs(parts.query, keep_blank_values=True)
        prefix = key_prefix or (query.pop("prefix", [None])[0]) or "kustomer:ratelimit"
        clean = urlunsplit(parts._replace(query=urlencode(query, doseq=True)))
        client = redis.Redis.from_url(
            clean, socket_timeout=5.0, socket_connect_timeout=5.0, health_check_interval=30
        )
        from .ratelimit_redis import RedisRateLimiter

        return RedisRateLimiter(client, key_prefix=prefix, **kwargs)
    if scheme == "sqlite":
        path = parts.path
        if parts.netloc:  # sqlite://relative/... is not allowed
            raise ValueError(f"sqlite rate limiter URL must be sqlite:///<absolute path>: {url!r}")
        if path.startswith("//"):
            path = path[1:]
        if not path.startswith("/"):
            path = "/" + path
        return SQLiteRateLimiter(path, **kwargs)
    if scheme == "memory":
        return MemoryRateLimiter(**kwargs)
    raise ValueError(f"unsupported rate limiter URL scheme: {scheme!r}")
