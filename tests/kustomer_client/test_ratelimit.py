"""The shared per-org budget: memory, SQLite (across processes) and Redis back ends."""
from __future__ import annotations

import multiprocessing
import time
import uuid

import pytest

from integrations.kustomer.errors import KustomerRateLimitedError
from integrations.kustomer.ratelimit import (
    MemoryRateLimiter,
    SQLiteRateLimiter,
    build_rate_limiter,
)
from integrations.kustomer.ratelimit_redis import RedisRateLimiter

from .conftest import FakeClock

REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_available() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except Exception:
        return False


needs_redis = pytest.mark.skipif(not _redis_available(), reason="no Redis on 127.0.0.1:6379")


@pytest.fixture
def redis_prefix():
    """A unique key prefix per test; every key under it is deleted afterwards."""
    import redis

    prefix = f"test-kustomer-rl-{uuid.uuid4().hex}"
    yield prefix
    r = redis.Redis.from_url(REDIS_URL)
    keys = list(r.scan_iter(match=f"{prefix}:*"))
    if keys:
        r.delete(*keys)
    assert not list(r.scan_iter(match=f"{prefix}:*"))


# ---------------------------------------------------------------- fake-clock back ends
@pytest.fixture(params=["memory", "sqlite"])
def limiter(request, tmp_path):
    clock = FakeClock()
    if request.param == "memory":
        lim = build_rate_limiter("memory://", clock=clock, sleep=clock.sleep)
        assert isinstance(lim, MemoryRateLimiter)
    else:
        lim = build_rate_limiter(f"sqlite:///{tmp_path}/rl.sqlite3", clock=clock, sleep=clock.sleep)
        assert isinstance(lim, SQLiteRateLimiter)
    return lim, clock


def take(lim, n, *, org="org-a", limit=10, timeout=0.0):
    granted = 0
    for _ in range(n):
        try:
            lim.acquire(org, limit_per_minute=limit, timeout=timeout)
        except KustomerRateLimitedError:
            break
        granted += 1
    return granted


def test_budget_is_limit_times_safety(limiter):
    lim, clock = limiter
    assert take(lim, 20, limit=10) == 9  # floor(10 * 0.9)
    with pytest.raises(KustomerRateLimitedError) as info:
        lim.acquire("org-a", limit_per_minute=10, timeout=5)
    err = info.value
    assert err.local and err.retryable and err.status is None
    assert err.retry_after == pytest.approx(60, abs=0.1)
    assert clock.sleeps == []  # a wait longer than the timeout is refused at once, not slept


def test_orgs_have_separate_budgets(limiter):
    lim, _ = limiter
    assert take(lim, 20, org="org-a") == 9
    assert take(lim, 20, org="org-b") == 9


def test_window_slides(limiter):
    lim, clock = limiter
    assert take(lim, 5) == 5
    clock.now += 30
    assert take(lim, 10) == 4
    clock.now += 30.5  # the first 5 are now older than 60 s
    assert take(lim, 10) == 5
    assert take(lim, 1) == 0


def test_acquire_without_timeout_sleeps_until_a_slot_frees(limiter):
    lim, clock = limiter
    start = clock.now
    assert take(lim, 9) == 9
    lim.acquire("org-a", limit_per_minute=10, timeout=None)
    assert clock.now - start >= 60
    assert sum(clock.sleeps) >= 60


def test_pause_stops_everyone_and_only_extends(limiter):
    lim, clock = limiter
    lim.pause("org-a", 30)
    lim.pause("org-a", 5)  # a shorter pause never shortens a longer one
    assert lim.paused_for("org-a") == pytest.approx(30)
    with pytest.raises(KustomerRateLimitedError) as info:
        lim.acquire("org-a", limit_per_minute=10, timeout=1)
    assert info.value.retry_after == pytest.approx(30)
    assert take(lim, 1, org="org-b") == 1  # other orgs are not paused
    clock.now += 30.01
    assert take(lim, 1) == 1


def test_observed_remaining_zero_waits_for_reset(limiter):
    lim, clock = limiter
    lim.observe("org-a", remaining=0, reset_seconds=12, limit=None)
    with pytest.raises(KustomerRateLimitedError) as info:
        lim.acquire("org-a", limit_per_minute=1000, timeout=1)
    assert info.value.retry_after == pytest.approx(12)
    clock.now += 12.01
    assert take(lim, 3, limit=1000) == 3


def test_observed_remaining_is_counted_down(limiter):
    lim, clock = limiter
    lim.observe("org-a", remaining=3, reset_seconds=20, limit=None)
    assert take(lim, 10, limit=1000) == 3  # other keys spent the org's budget: 3 left


def test_out_of_order_observations_keep_the_lowest_in_one_window(limiter):
    lim, clock = limiter
    lim.observe("org-a", remaining=2, reset_seconds=20, limit=None)
    lim.observe("org-a", remaining=50, reset_seconds=20, limit=None)  # an older answer arriving late
    assert take(lim, 10, limit=1000) == 2


def test_new_window_observation_replaces_old(limiter):
    lim, clock = limiter
    lim.observe("org-a", remaining=0, reset_seconds=5, limit=None)
    clock.now += 6
    lim.observe("org-a", remaining=500, reset_seconds=60, limit=None)
    assert take(lim, 5, limit=1000) == 5


def test_a_raised_limit_within_one_window_replaces_the_old_limit_count(limiter):
    """A plan change mid-window: the few requests left under the old limit must not cap
    the rest of the window under the new one (the limiter once kept the lowest count)."""
    lim, clock = limiter
    lim.observe("org-a", remaining=3, reset_seconds=40, limit=1000)
    lim.observe("org-a", remaining=998_000, reset_seconds=40, limit=1_000_000)
    assert take(lim, 50, limit=1_000_000) == 50


def test_observed_lower_limit_wins(limiter):
    lim, clock = limiter
    lim.observe("org-a", remaining=None, reset_seconds=None, limit=5)
    assert take(lim, 10, limit=1000) == 4  # floor(5 * 0.9)


def test_bad_arguments(limiter):
    lim, _ = limiter
    with pytest.raises(ValueError):
        lim.acquire("org-a", limit_per_minute=0)


def test_sqlite_creates_missing_directory(tmp_path):
    lim = build_rate_limiter(f"sqlite:///{tmp_path}/var/sub/rl.sqlite3")
    lim.acquire("org-a", limit_per_minute=10, timeout=0)
    assert (tmp_path / "var" / "sub" / "rl.sqlite3").exists()


def test_unknown_scheme_and_relative_sqlite_path():
    with pytest.raises(ValueError):
        build_rate_limiter("memcached://x")
    with pytest.raises(ValueError):
        build_rate_limiter("sqlite://relative/path.sqlite3")


# ---------------------------------------------------------------- across processes
def _worker(url: str, org: str, attempts: int, limit: int, timeout, window: float, out) -> None:
    lim = build_rate_limiter(url, window=window, safety=1.0)
    times = []
    for _ in range(attempts):
        try:
            lim.acquire(org, limit_per_minute=limit, timeout=timeout)
        except KustomerRateLimitedError:
            continue
        times.append(time.time())
    out.put(times)


def _run_workers(url, org, *, workers=2, attempts, limit, timeout, window):
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(url, org, attempts, limit, timeout, window, out))
             for _ in range(workers)]
    for p in procs:
        p.start()
    results = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    return sorted(t for r in results for t in r), results


def _max_in_any_window(times: list[float], window: float) -> int:
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


def _shared_budget_checks(url, org):
    # 1. non-blocking: two processes racing for 50 slots get exactly 50 between them
    times, results = _run_workers(url, org, attempts=40, limit=50, timeout=0, window=60.0)
    assert len(times) == 50
    assert all(len(r) > 0 for r in results)
    # 2. blocking: 2 x 8 requests at 10 per (0.5 s) window: never more than 10 in any window
    times, _ = _run_workers(url, org + "-blocking", attempts=8, limit=10, timeout=None, window=0.5)
    assert len(times) == 16
    assert _max_in_any_window(times, 0.5 - 0.1) <= 10  # slack for recording delays
    assert times[-1] - times[0] >= 0.4  # somebody had to wait for the window


def test_sqlite_budget_is_shared_between_processes(tmp_path):
    _shared_budget_checks(f"sqlite:///{tmp_path}/shared.sqlite3", "org-shared")


@needs_redis
def test_redis_budget_is_shared_between_processes(redis_prefix):
    _shared_budget_checks(f"{REDIS_URL}?prefix={redis_prefix}", "org-shared")


def test_sqlite_pause_is_seen_by_another_process(tmp_path):
    url = f"sqlite:///{tmp_path}/p.sqlite3"
    build_rate_limiter(url).pause("org-p", 30)
    times, _ = _run_workers(url, "org-p", workers=1, attempts=1, limit=10, timeout=0.1, window=60.0)
    assert times == []


# ---------------------------------------------------------------- redis specifics
@needs_redis
def test_redis_acquire_observe_pause(redis_prefix):
    lim = build_rate_limiter(f"{REDIS_URL}?prefix={redis_prefix}")
    assert isinstance(lim, RedisRateLimiter)
    assert take(lim, 20, limit=10) == 9
    with pytest.raises(KustomerRateLimitedError) as info:
        lim.acquire("org-a", limit_per_minute=10, timeout=1)
    assert 59 < info.value.retry_after <= 60.01

    lim.observe("org-b", remaining=2, reset_seconds=30, limit=None)
    lim.observe("org-b", remaining=40, reset_seconds=30, limit=None)
    assert take(lim, 10, org="org-b", limit=1000) == 2
    with pytest.raises(KustomerRateLimitedError) as info:
        lim.acquire("org-b", limit_per_minute=1000, timeout=1)
    assert 29 < info.value.retry_after <= 30.01

    lim.observe("org-c", remaining=None, reset_seconds=None, limit=5)
    assert take(lim, 10, org="org-c", limit=1000) == 4

    lim.observe("org-e", remaining=3, reset_seconds=40, limit=1000)  # a plan change mid-window
    lim.observe("org-e", remaining=998_000, reset_seconds=40, limit=1_000_000)
    assert take(lim, 50, org="org-e", limit=1_000_000) == 50

    lim.pause("org-d", 20)
    lim.pause("org-d", 1)
    assert 19 < lim.paused_for("org-d") <= 20
    with pytest.raises(KustomerRateLimitedError):
        lim.acquire("org-d", limit_per_minute=10, timeout=0.5)
    keys = lim.keys("org-a")
    assert all(k.startswith(redis_prefix) for k in keys)
    assert lim.redis.ttl(keys[0]) > 0  # every key expires on its own


@needs_redis
def test_redis_blocking_acquire_waits_for_pause(redis_prefix):
    lim = build_rate_limiter(f"{REDIS_URL}?prefix={redis_prefix}")
    lim.pause("org-w", 0.3)
    start = time.monotonic()
    lim.acquire("org-w", limit_per_minute=10, timeout=5)
    assert time.monotonic() - start >= 0.29


def test_store_failure_lets_requests_through(caplog):
    lim = build_rate_limiter("redis://127.0.0.1:1/0?prefix=unreachable")
    lim.acquire("org-x", limit_per_minute=10, timeout=1)  # no exception: fail open
    lim.observe("org-x", remaining=1, reset_seconds=1, limit=10)
    lim.pause("org-x", 1)
    assert "rate limiter store failed" in caplog.text
