"""Pure decisions about custom fields (no ORM, no settings, no I/O).

`SessionFacts` is what the conversation sync knows about one contact-center session when
it writes to Kustomer; every catalogue field computes its value from it.
"""
from __future__ import annotations

import enum
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit


def gettext_noop(text: str) -> str:
    """Marks a text for the catalogue (`make messages` knows the name): the type labels
    and the catalogue's descriptions, which forms and pages translate; rules stay pure."""
    return text


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


# ================================================================== attribute names
class ValueType(str, enum.Enum):
    """Kustomer's custom attribute types, named by the suffix Kustomer requires (R-F2)."""

    STR = "Str"
    TXT = "Txt"
    NUM = "Num"
    AT = "At"
    BOOL = "Bool"
    URL = "Url"

    @property
    def label(self) -> str:
        return _TYPE_LABELS[self]

    @property
    def kustomer_type(self) -> str:
        """The `type` Kustomer's metadata reports for an attribute with this suffix."""
        return _KUSTOMER_TYPES[self]


_TYPE_LABELS = {
    ValueType.STR: gettext_noop("Short text (up to 1,024 characters)"),
    ValueType.TXT: gettext_noop("Long text"),
    ValueType.NUM: gettext_noop("Number"),
    ValueType.AT: gettext_noop("Date and time"),
    ValueType.BOOL: gettext_noop("Yes / no"),
    ValueType.URL: gettext_noop("Link (URL)"),
}
_KUSTOMER_TYPES = {
    ValueType.STR: "string",
    ValueType.TXT: "text",
    ValueType.NUM: "number",
    ValueType.AT: "date",
    ValueType.BOOL: "boolean",
    ValueType.URL: "url",
}
# Spellings of each type that Kustomer (or an older API version) may report in metadata;
# anything else for the same name is a different type.
_KUSTOMER_TYPE_SPELLINGS = {
    ValueType.STR: {"string", "str"},
    ValueType.TXT: {"text", "txt"},
    ValueType.NUM: {"number", "num", "integer", "float", "double"},
    ValueType.AT: {"date", "datetime", "date-time", "at"},
    ValueType.BOOL: {"boolean", "bool"},
    ValueType.URL: {"url", "uri"},
}

# Every suffix Kustomer knows (ours plus `Id`, a reference to another object), longest
# first so a name is split at its real suffix.
KUSTOMER_SUFFIXES = ("Bool", "Str", "Txt", "Num", "Url", "At", "Id")
_KUSTOMER_SUFFIX_TYPES = {**{t.value: t.kustomer_type for t in ValueType}, "Id": "string"}
ATTRIBUTE_NAME_RE = re.compile(r"^[a-z][a-zA-Z0-9]*(Str|Txt|Num|At|Bool|Url|Id)$")
# Kustomer's documented names are short camelCase words; keep ours well inside any limit.
MAX_ATTRIBUTE_BASE_LENGTH = 60
MAX_STR_LENGTH = 1024  # Kustomer refuses a Str value longer than this
MAX_DISPLAY_NAME_LENGTH = 100
MAX_SDK_KEY_LENGTH = 100


def split_attribute_name(name: str) -> tuple[str, str] | None:
    """`queueNameStr` -> ("queueName", "Str"); None when the name has no Kustomer suffix."""
    if not ATTRIBUTE_NAME_RE.match(name or ""):
        return None
    for suffix in KUSTOMER_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)], suffix
    return None  # pragma: no cover - the regex guarantees a suffix


def camel_case(text: str) -> str:
    """`order_id`, `Order ID`, `order-id`, `orderId` -> `orderId`; `URL` -> `url`.

    Words are split at anything that is not an ASCII letter or digit; the first word is
    lower-cased at its start (wholly when it is an acronym), the others capitalised.
    """
    words = [w for w in re.split(r"[^A-Za-z0-9]+", text or "") if w]
    if not words:
        return ""
    first = words[0]
    first = first.lower() if first.isupper() else first[0].lower() + first[1:]
    rest = [w.lower().capitalize() if w.isupper() and len(w) > 1 else w[0].upper() + w[1:] for w in words[1:]]
    return first + "".join(rest)


def attribute_name(base: str, value_type: ValueType) -> str:
    """The Kustomer attribute name: camelCase base plus the type suffix (`queueNameStr`)."""
    return camel_case(base) + ValueType(value_type).value


class NameProblem(ValueError):
    """Why an SDK field's key, display name or type cannot become a Kustomer attribute;
    `field` names the input at fault."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def sdk_attribute_name(*, sdk_key: str, value_type: str) -> str:
    """The Kustomer attribute name of an SDK custom-data field, derived from its key.

    Raises `NameProblem` naming `sdk_key` or `type` when no valid name can be made.
    """
    try:
        vt = ValueType(value_type)
    except ValueError:
        allowed = ", ".join(t.value for t in ValueType)
        raise NameProblem(f"Choose one of the Kustomer types {allowed} (not {value_type!r}).", field="type") from None
    key = (sdk_key or "").strip()
    if not key:
        raise NameProblem("Enter the key this field has in the SDK's custom data.", field="sdk_key")
    if len(key) > MAX_SDK_KEY_LENGTH:
        raise NameProblem(f"The SDK key is longer than {MAX_SDK_KEY_LENGTH} characters.", field="sdk_key")
    base = camel_case(key)
    if not base:
        raise NameProblem(
            f"The SDK key {key!r} has no letters or digits to make a Kustomer attribute name from.", field="sdk_key"
        )
    if not base[0].isalpha():
        raise NameProblem(
            f"The SDK key {key!r} must start with a letter: Kustomer attribute names do (it would give {base + vt.value!r}).",
            field="sdk_key",
        )
    if len(base) > MAX_ATTRIBUTE_BASE_LENGTH:
        raise NameProblem(
            f"The SDK key {key!r} makes an attribute name longer than {MAX_ATTRIBUTE_BASE_LENGTH} characters.",
            field="sdk_key",
        )
    name = base + vt.value
    if not ATTRIBUTE_NAME_RE.match(name):  # pragma: no cover - guaranteed by the steps above
        raise NameProblem(f"{name!r} is not a valid Kustomer attribute name.", field="sdk_key")
    return name


def clean_display_name(display_name: str) -> str:
    """The display name as Kustomer will show it; raises `NameProblem` (field display_name)."""
    name = " ".join((display_name or "").split())
    if not name:
        raise NameProblem("Enter the name Kustomer shows for this field.", field="display_name")
    if len(name) > MAX_DISPLAY_NAME_LENGTH:
        raise NameProblem(f"Keep the display name to {MAX_DISPLAY_NAME_LENGTH} characters.", field="display_name")
    if any(ord(ch) < 32 for ch in name):
        raise NameProblem("The display name cannot hold control characters.", field="display_name")
    return name


# ================================================================== values
def _text(value: Any, *, limit: int | None = None) -> str | None:
    """A stripped non-empty string (cut to `limit`), or None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        value = str(value)
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value:
        return None
    return value[:limit] if limit else value


def _count(value: Any) -> int | None:
    """A non-negative whole number (seconds, ratings), or None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        value = round(value)
    if not isinstance(value, int) or value < 0:
        return None
    return value


def _number(value: Any) -> int | float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not _NUMBER_RE.match(text):
            return None
        value = float(text) if any(c in text for c in ".eE") else int(text)
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, int):
        return value
    return None


_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_TRUE = {"true", "yes", "1", "y", "on"}
_FALSE = {"false", "no", "0", "n", "off"}


def _boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    return None


def _timestamp(value: Any) -> str | None:
    """An ISO 8601 UTC time (`2026-11-23T10:00:00Z`). Naive times are refused: which
    zone they meant is unknowable, and a wrong hour is worse than no value."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        return None
    moment = moment.astimezone(timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _url(value: Any) -> str | None:
    text = _text(value)
    if text is None or len(text) > 2048 or any(ch.isspace() for ch in text):
        return None
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return text


def coerce_value(value: Any, value_type: ValueType) -> Any:
    """`value` as Kustomer accepts it for an attribute of `value_type`, or None when it
    cannot be one (the sync then leaves the attribute out rather than fail the write)."""
    vt = ValueType(value_type)
    if vt is ValueType.STR:
        return _text(value, limit=MAX_STR_LENGTH)
    if vt is ValueType.TXT:
        return _text(value)
    if vt is ValueType.NUM:
        return _number(value)
    if vt is ValueType.BOOL:
        return _boolean(value)
    if vt is ValueType.AT:
        return _timestamp(value)
    return _url(value)


def _custom_user_id(facts: SessionFacts) -> Any:
    return facts.end_user_identifier


def _queue_name(facts: SessionFacts) -> Any:
    return facts.queue_name


def _session_type(facts: SessionFacts) -> Any:
    return facts.session_type


def _session_id(facts: SessionFacts) -> Any:
    return facts.session_id


def _from_phone_number(facts: SessionFacts) -> Any:
    return facts.from_phone


def _call_duration(facts: SessionFacts) -> Any:
    return _count(facts.call_duration_seconds)


def _hold_time(facts: SessionFacts) -> Any:
    return _count(facts.hold_seconds)


def _wait_time(facts: SessionFacts) -> Any:
    return _count(facts.wait_seconds)


def _csat_rating(facts: SessionFacts) -> Any:
    return _count(facts.csat_rating)


def _csat_comment(facts: SessionFacts) -> Any:
    return facts.csat_comment


def _customer_menu_selection(facts: SessionFacts) -> Any:
    return facts.menu


def _email_using_in_web(facts: SessionFacts) -> Any:
    # The source's field is the email an end user typed into the web SDK ("In-Web");
    # an email known from another channel is not that and stays out.
    return facts.end_user_email if facts.source == "web_sdk" else None


# ================================================================== the catalogue (R-F1)
class Klass(str, enum.Enum):
    """The Kustomer klass whose metadata holds the attribute."""

    CUSTOMER = "customer"  # shown as "Account" in the source
    MESSAGE = "message"  # "Record": shown under "Additional info" in the message section

    @property
    def group_label(self) -> str:
        return "Account" if self is Klass.CUSTOMER else "Record"


@dataclass(frozen=True)
class CatalogueField:
    key: str
    klass: Klass
    attribute_name: str
    display_name: str
    description: str
    compute: Callable[[SessionFacts], Any] = field(repr=False, compare=False)

    @property
    def value_type(self) -> ValueType:
        parts = split_attribute_name(self.attribute_name)
        assert parts is not None, self.attribute_name
        return ValueType(parts[1])

    def value(self, facts: SessionFacts) -> Any:
        """The value this field gets for a session, already fit for its type, or None."""
        return coerce_value(self.compute(facts), self.value_type)


# The display names are the attributes' names in Kustomer (as the source document
# names them), the same in every language; the descriptions are the portal's words.
CATALOGUE: tuple[CatalogueField, ...] = (
    CatalogueField("custom_user_id", Klass.CUSTOMER, "customUserIdStr", "Custom user ID",
                   gettext_noop("The app user's identifier from the mobile or web SDK."), _custom_user_id),
    CatalogueField("queue_name", Klass.MESSAGE, "queueNameStr", "Queue name",
                   gettext_noop("The contact-center queue the session went through."), _queue_name),
    CatalogueField("session_type", Klass.MESSAGE, "sessionTypeStr", "Session type",
                   gettext_noop("call, chat or voicemail."), _session_type),
    CatalogueField("session_id", Klass.MESSAGE, "sessionIdStr", "Session ID",
                   gettext_noop("The contact-center session id."), _session_id),
    CatalogueField("from_phone_number", Klass.MESSAGE, "fromPhoneNumberStr", "From phone number",
                   gettext_noop("The end user's phone number in E.164 (+14155550123)."), _from_phone_number),
    CatalogueField("call_duration", Klass.MESSAGE, "callDurationNum", "Call duration",
                   gettext_noop("Seconds the call lasted."), _call_duration),
    CatalogueField("hold_time", Klass.MESSAGE, "holdTimeNum", "Hold time",
                   gettext_noop("Seconds the end user spent on hold."), _hold_time),
    CatalogueField("wait_time", Klass.MESSAGE, "waitTimeNum", "Wait time",
                   gettext_noop("Seconds the end user waited before an agent answered."), _wait_time),
    CatalogueField("csat_rating", Klass.MESSAGE, "csatRatingNum", "CSAT rating",
                   gettext_noop("The end user's satisfaction rating."), _csat_rating),
    CatalogueField("csat_comment", Klass.MESSAGE, "csatCommentTxt", "CSAT comment",
                   gettext_noop("The end user's comment with the rating (long text)."), _csat_comment),
    CatalogueField("customer_menu_selection", Klass.MESSAGE, "customerMenuSelectionStr", "Customer menu selection",
                   gettext_noop("The IVR or SDK menu the end user chose, e.g. Billing > Refunds."), _customer_menu_selection),
    CatalogueField("email_using_in_web", Klass.MESSAGE, "emailUsingInWebStr", "Email using In-Web",
                   gettext_noop("The email the end user gave in the web SDK."), _email_using_in_web),
)
CATALOGUE_BY_KEY: Mapping[str, CatalogueField] = {f.key: f for f in CATALOGUE}


def sdk_field_value(facts: SessionFacts, *, sdk_key: str, value_type: str) -> Any:
    """The value of an SDK custom-data field (R-D3): the session's custom data under the
    field's key, fit for its type, or None when absent or unusable."""
    custom_data = facts.custom_data or {}
    if sdk_key not in custom_data:
        return None
    return coerce_value(custom_data[sdk_key], ValueType(value_type))


# ================================================================== Kustomer metadata
class AttributeDecision(enum.Enum):
    CREATE = "create"  # Kustomer lacks the attribute: PUT it
    ADOPT = "adopt"  # Kustomer has it with the same name and type: take it as created
    CONFLICT = "conflict"  # Kustomer has the name, or its base name, with another type


@dataclass(frozen=True)
class AttributeCheck:
    decision: AttributeDecision
    message: str = ""


def check_attribute(name: str, existing: Mapping[str, Any]) -> AttributeCheck:
    """Decide what to do about attribute `name` given the klass's metadata `properties`.

    Kustomer types an attribute by its suffix, so `queueNameTxt` next to our
    `queueNameStr` is the same field name with another type: reported, never
    overwritten and never doubled (the admin would see two "Queue name" fields).
    """
    parts = split_attribute_name(name)
    if parts is None:
        raise ValueError(f"not a Kustomer attribute name: {name!r}")
    base, suffix = parts
    expected = _KUSTOMER_SUFFIX_TYPES[suffix]
    definition = existing.get(name)
    if definition is not None:
        reported = str((definition or {}).get("type") or "").strip().lower() if isinstance(definition, Mapping) else ""
        spellings = _KUSTOMER_TYPE_SPELLINGS.get(ValueType(suffix), {expected}) if suffix != "Id" else {"string", "id"}
        if reported and reported not in spellings:
            return AttributeCheck(
                AttributeDecision.CONFLICT,
                f"Kustomer already has an attribute {name} of type {reported}, not {expected}. "
                f"It was left as it is; change or remove it in Kustomer, then retry.",
            )
        return AttributeCheck(AttributeDecision.ADOPT, f"Kustomer already had {name}; it is used as it is.")
    for other_name, definition in existing.items():
        other = split_attribute_name(other_name)
        if other is None or other[0] != base or other[1] == suffix:
            continue
        other_type = _KUSTOMER_SUFFIX_TYPES[other[1]]
        if isinstance(definition, Mapping) and definition.get("type"):
            other_type = str(definition["type"])
        return AttributeCheck(
            AttributeDecision.CONFLICT,
            f"Kustomer already has {other_name} ({other_type}) under the name {base}; this field needs "
            f"{name} ({expected}). Nothing was changed in Kustomer; rename or remove {other_name} there, then retry.",
        )
    return AttributeCheck(AttributeDecision.CREATE)
