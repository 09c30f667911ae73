"""Short texts every page shares."""
from __future__ import annotations

from datetime import timedelta


def duration_text(age: timedelta) -> str:
    """'42 s', '3 min 5 s', '2 h 10 min': short enough for a dashboard line."""
    seconds = max(0, int(age.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"
