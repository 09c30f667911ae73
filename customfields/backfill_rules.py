"""Pure decisions of R-O3 backfill (no ORM, no settings, no I/O): the days an admin may
ask for, the share of the org's request budget a backfill may use, and its progress."""
from __future__ import annotations

import math
from dataclasses import dataclass

MIN_DAYS = 1
MAX_DAYS = 90  # Kustomer keeps everything, the portal keeps events SYNC_EVENT_RETENTION_DAYS (>= 30)
# Seconds a backfill waits before it looks at the budget again when live work needs it.
BUDGET_WAIT_SECONDS = 2.0


class DaysProblem(ValueError):
    pass


def clean_days(value: object) -> int:
    """The admin's "last N days" as an int in [MIN_DAYS, MAX_DAYS]; DaysProblem otherwise."""
    try:
        days = int(str(value).strip())
    except (TypeError, ValueError):
        raise DaysProblem(f"Give a whole number of days from {MIN_DAYS} to {MAX_DAYS}.") from None
    if not MIN_DAYS <= days <= MAX_DAYS:
        raise DaysProblem(f"Give a whole number of days from {MIN_DAYS} to {MAX_DAYS} (not {days}).")
    return days


def backfill_wait_seconds(*, used: int, budget: int, paused_for: float, share: float) -> float:
    """How long a backfill request must wait (0: send it now) so that live events always
    find a reserve of the org's budget: a backfill sends only while the requests of the
    current window (every worker's, live and backfill) are below `share` of the budget,
    and never while the org is paused after a 429. Live events take their slots from
    the whole budget, so they go first whenever the window fills."""
    if paused_for > 0:
        return float(paused_for)
    allowed = max(1, math.floor(max(1, budget) * min(1.0, max(0.0, share))))
    return 0.0 if used < allowed else BUDGET_WAIT_SECONDS


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    percent: int  # 0..100
    rate_per_minute: float
    seconds_left: int | None  # None: not known yet (no rate) or finished


def backfill_progress(*, done: int, total: int, rate_per_minute: float, active: bool) -> Progress:
    total = max(total, done)
    percent = 100 if total == 0 else min(100, math.floor(100 * done / total))
    left = None
    if active and rate_per_minute > 0 and total > done:
        left = math.ceil((total - done) / rate_per_minute * 60)
    return Progress(done=done, total=total, percent=percent, rate_per_minute=round(rate_per_minute, 1),
                    seconds_left=left)


def units_per_minute(*, done_in_run: int, elapsed_seconds: float) -> float:
    """The run's rate so far; 0 until a unit is done and a second has passed."""
    if done_in_run <= 0 or elapsed_seconds < 1:
        return 0.0
    return done_in_run * 60.0 / elapsed_seconds
