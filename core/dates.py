"""Timestamps read from text: always timezone-aware (STYLE.md: no naive datetimes)."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

__all__ = ["parse_datetime"]

_ISO_SHAPE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def parse_datetime(value: Any, *, strict: bool = False) -> datetime | None:
    """ISO 8601 string -> aware datetime (UTC when the string names no offset); None for
    anything else. With ``strict``, a string of the right shape that names an impossible
    time (30 February) raises ValueError instead, so the caller fails visibly."""
    if not isinstance(value, str) or not value:
        return None
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        if strict and _ISO_SHAPE.match(value.strip()):
            raise
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
