"""Pure decisions about custom fields (no ORM, no settings, no I/O).

`SessionFacts` is what the conversation sync knows about one contact-center session when
it writes to Kustomer; every catalogue field computes its value from it.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class SessionFacts:
    session_id: str
    session_type: str  # "call" | "chat" | "voicemail"
    channel: str  # "voice" | "chat"
    source: str  # "ivr" | "mobile_sdk" | "web_sdk" | "outbound"
    started_at: datetime  # R-F3: only fields created before this get values
    queue_name: str | None = None
    menu: str | None = None  # inbound menu selection, e.g. "Billing > Refunds"
    from_phone: str | None = None  # E.164
    end_user_identifier: str | None = None  # app user id (the "Custom user ID")
    end_user_email: str | None = None  # email given in the web SDK ("Email using In-Web")
    call_duration_seconds: int | None = None
    hold_seconds: int | None = None
    wait_seconds: int | None = None
    csat_rating: int | None = None
    csat_comment: str | None = None
    custom_data: Mapping[str, Any] = field(default_factory=dict)  # SDK custom data (R-D3)
