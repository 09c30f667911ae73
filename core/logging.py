"""Logging filter that keeps secrets out of every log line.

API keys of Kustomer and of our own clients must never reach a log (STYLE: no secret in
logs). Code should not log them in the first place; this filter is the safety net for
what a library logs on its own (e.g. a request's headers in a debug line).
"""
import contextlib
import contextvars
import json
import logging
import re
from collections.abc import Iterator
from datetime import datetime, timezone

_PATTERNS = [
    re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?bearer\s+)[^\s'\",}]+"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"(?i)((?:api[_-]?key|token|secret|password)['\"]?\s*[:=]\s*['\"]?)[^\s'\",}&]+"),
]


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(r"\1[redacted]", text)
    return text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


# ------------------------------------------------------------------ context and JSON
# Which tenant and event the code running now works for: set around each sync task
# (`log_context`), added to every log line of it by `LogContextFilter`.
_log_context: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("log_context", default={})
CONTEXT_FIELDS = ("tenant", "event")


@contextlib.contextmanager
def log_context(**fields: object) -> Iterator[None]:
    """Within the block every log line carries these fields (tenant=..., event=...)."""
    merged = {**_log_context.get(), **{k: str(v) for k, v in fields.items() if v not in (None, "")}}
    token = _log_context.set(merged)
    try:
        yield
    finally:
        _log_context.reset(token)


class LogContextFilter(logging.Filter):
    """Puts the current `log_context` on the record: as attributes (JSON lines) and as
    ``context`` text (" tenant=acme event=evt-1", for the plain format)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _log_context.get()
        for name in CONTEXT_FIELDS:
            if not hasattr(record, name):
                setattr(record, name, context.get(name, ""))
        record.context = "".join(f" {name}={getattr(record, name)}" for name in CONTEXT_FIELDS if getattr(record, name))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, tenant,
    event, and the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, "")
            if value:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)
