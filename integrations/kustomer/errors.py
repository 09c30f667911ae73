"""Typed errors of the Kustomer client.

Every failure of a call to Kustomer ends as one ``KustomerError`` subclass, whether it
came from HTTP (an error status), from the transport (timeout, connection) or from an
answer we cannot read. Those a later try of the same request can cure (429, 5xx,
408/425, timeouts, connection failures) are ``KustomerTransientError`` subclasses: the
one thing a task names to retry (``autoretry_for=(KustomerTransientError,)``). Every
error prints Kustomer's own answer, never the API key.

Kustomer answers errors in two forms; both are read::

    {"errors": [{"status": 404, "code": "notfound", "title": "Not Found",
                 "detail": "...", "source": {"parameter": "externalId"}}]}
    {"errors": [{"code": "bad_request", "message": "...", "meta": {}}]}
"""
from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ErrorItem",
    "KustomerError",
    "KustomerTransientError",
    "KustomerAuthError",
    "KustomerNotFoundError",
    "KustomerConflictError",
    "KustomerBadRequestError",
    "KustomerPayloadTooLargeError",
    "KustomerRateLimitedError",
    "KustomerRateLimited",
    "KustomerServerError",
    "KustomerTryAgainError",
    "KustomerTimeoutError",
    "KustomerConnectionError",
    "KustomerMalformedResponseError",
    "DEFAULT_RETRY_AFTER",
    "parse_error_items",
    "retry_after_from_headers",
    "reset_seconds_from_header",
    "error_from_response",
]

#: Wait assumed after a 429 that names no wait at all (Kustomer's window is 60 s).
DEFAULT_RETRY_AFTER = 15.0
#: Longest wait we believe from a header (guards against nonsense values).
MAX_RETRY_AFTER = 3600.0
_MAX_BODY_IN_MESSAGE = 500


@dataclass(frozen=True, slots=True)
class ErrorItem:
    """One entry of Kustomer's ``errors`` array, whichever form it came in."""

    status: int | None = None
    code: str | None = None
    title: str | None = None
    detail: str | None = None
    message: str | None = None
    parameter: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

    def text(self) -> str:
        parts = [p for p in (self.code, self.title, self.message, self.detail) if p]
        out = ": ".join(dict.fromkeys(parts)) if parts else "error"
        if self.parameter:
            out += f" (parameter: {self.parameter})"
        return out


def parse_error_items(body: Any) -> list[ErrorItem]:
    """Read Kustomer's ``errors`` array in either form. Unknown shapes give ``[]``."""
    if isinstance(body, Mapping):
        errors = body.get("errors")
        if isinstance(errors, Mapping):  # a single error object instead of a list
            errors = [errors]
        if not isinstance(errors, list):
            # some gateways answer {"message": "..."} or {"error": "..."}
            msg = body.get("message") or body.get("error")
            if isinstance(msg, str):
                return [ErrorItem(message=msg)]
            return []
        items: list[ErrorItem] = []
        for e in errors:
            if isinstance(e, str):
                items.append(ErrorItem(message=e))
                continue
            if not isinstance(e, Mapping):
                continue
            source = e.get("source") if isinstance(e.get("source"), Mapping) else {}
            meta = e.get("meta") if isinstance(e.get("meta"), Mapping) else {}
            parameter = source.get("parameter") or source.get("pointer") or meta.get("parameter")
            status = e.get("status")
            try:
                status = int(status) if status is not None else None
            except (TypeError, ValueError):
                status = None
            items.append(
                ErrorItem(
                    status=status,
                    code=_str_or_none(e.get("code")),
                    title=_str_or_none(e.get("title")),
                    detail=_str_or_none(e.get("detail")),
                    message=_str_or_none(e.get("message")),
                    parameter=_str_or_none(parameter),
                    meta=dict(meta),
                )
            )
        return items
    return []


def _str_or_none(v: Any) -> str | None:
    if v is None:
        return None
    return v if isinstance(v, str) else str(v)


class KustomerError(Exception):
    """Base of every Kustomer client error.

    ``status``: HTTP status (None for transport errors); ``code``: Kustomer's error code
    (``notfound``, ``badparam``, ...); ``body``: the parsed JSON body, or the raw text
    when it was not JSON. ``retryable`` (read-only): whether it is a
    ``KustomerTransientError``, i.e. sending the same request later can help.
    """

    def __init__(
        self,
        message: str,
        status: int | None = None,
        code: str | None = None,
        body: Any = None,
        *,
        errors: list[ErrorItem] | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.body = body
        self.errors = errors or []
        self.method = method
        self.path = path

    @property
    def retryable(self) -> bool:
        return isinstance(self, KustomerTransientError)

    @property
    def parameter(self) -> str | None:
        """The offending parameter Kustomer named, if any."""
        for item in self.errors:
            if item.parameter:
                return item.parameter
        return None

    def __str__(self) -> str:
        where = f" [{self.method} {self.path}]" if self.method and self.path else ""
        status = f"{self.status} " if self.status is not None else ""
        return f"Kustomer {status}{self.message}{where}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, "
            f"message={self.message!r}, retryable={self.retryable!r})"
        )


class KustomerTransientError(KustomerError):
    """Base of the errors a later try of the same request can cure. Tasks declare their
    retries on it; nothing else is retried."""


class KustomerAuthError(KustomerError):
    """401/403: bad API key or a role the key lacks."""


class KustomerNotFoundError(KustomerError):
    """404."""


class KustomerConflictError(KustomerError):
    """409 (e.g. a duplicate unique value)."""


class KustomerBadRequestError(KustomerError):
    """400/422: Kustomer refused the request's content; see ``parameter``."""


class KustomerPayloadTooLargeError(KustomerError):
    """413: body over Kustomer's 100 kB."""


class KustomerRateLimitedError(KustomerTransientError):
    """429 from Kustomer, or no slot in the shared budget within the wait allowed.

    ``retry_after``: seconds to wait before the next try (always set).
    ``local``: True when our own limiter refused before anything was sent.
    """

    def __init__(self, message: str, *args: Any, retry_after: float = DEFAULT_RETRY_AFTER,
                 local: bool = False, **kwargs: Any) -> None:
        super().__init__(message, *args, **kwargs)
        self.retry_after = float(retry_after)
        self.local = local

    def __str__(self) -> str:
        return f"{super().__str__()} (retry after {self.retry_after:.1f}s)"


#: Short alias.
KustomerRateLimited = KustomerRateLimitedError


class KustomerServerError(KustomerTransientError):
    """5xx."""


class KustomerTryAgainError(KustomerTransientError):
    """408 Request Timeout or 425 Too Early: the same request may pass later."""


class KustomerTimeoutError(KustomerTransientError):
    """No answer within the timeout. A create may or may not have happened."""


class KustomerConnectionError(KustomerTransientError):
    """Could not reach Kustomer (DNS, refused, reset, TLS)."""


class KustomerMalformedResponseError(KustomerError):
    """A 2xx answer that is not JSON or not the shape we expect."""


# --------------------------------------------------------------------------- headers

def _parse_float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        f = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    if f != f or f in (float("inf"), float("-inf")):  # NaN / inf
        return None
    return f


def reset_seconds_from_header(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds until the rate-limit window resets, from ``x-ratelimit-reset``.

    Kustomer's reading is unconfirmed, so both are accepted: a Unix epoch (seconds, or
    milliseconds) is turned into a wait; a small number is already a wait in seconds.
    """
    f = _parse_float(value)
    if f is None:
        return None
    now = time.time() if now is None else now
    if f >= 1e12:  # epoch milliseconds
        f = f / 1000.0 - now
    elif f >= 1e9:  # epoch seconds
        f = f - now
    return min(max(f, 0.0), MAX_RETRY_AFTER)


def _retry_after_header(value: str | None, *, now: float) -> float | None:
    f = _parse_float(value)
    if f is not None:
        if f >= 1e9:  # someone sent an epoch
            f = f / 1000.0 - now if f >= 1e12 else f - now
        return min(max(f, 0.0), MAX_RETRY_AFTER)
    if value:
        try:
            dt = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if dt is None:
            return None
        return min(max(dt.timestamp() - now, 0.0), MAX_RETRY_AFTER)
    return None


def retry_after_from_headers(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait after a 429: the longer of ``Retry-After`` and ``x-ratelimit-reset``
    (each in either reading). None when neither header says anything."""
    now = time.time() if now is None else now
    get = _header_getter(headers)
    waits = [
        w
        for w in (
            _retry_after_header(get("retry-after"), now=now),
            reset_seconds_from_header(get("x-ratelimit-reset"), now=now),
        )
        if w is not None
    ]
    return max(waits) if waits else None


def _header_getter(headers: Mapping[str, str]):
    # requests' CaseInsensitiveDict is case-insensitive already; plain dicts are not.
    lowered = {str(k).lower(): v for k, v in headers.items()}
    return lambda name: lowered.get(name)


# --------------------------------------------------------------------------- mapping

def _body_and_items(text: str) -> tuple[Any, list[ErrorItem]]:
    try:
        body = json.loads(text) if text else None
    except ValueError:
        return text, []
    return body, parse_error_items(body)


def _redact(text: str, secret: str | None) -> str:
    if secret and len(secret) >= 4 and secret in text:
        text = text.replace(secret, "[redacted]")
    return text


def error_from_response(
    *,
    status: int,
    headers: Mapping[str, str],
    text: str,
    method: str | None = None,
    path: str | None = None,
    secret: str | None = None,
    now: float | None = None,
) -> KustomerError:
    """Turn a non-2xx answer into the matching ``KustomerError``."""
    text = _redact(text or "", secret)
    body, items = _body_and_items(text)
    if items:
        message = "; ".join(i.text() for i in items)
        code = next((i.code for i in items if i.code), None)
    else:
        snippet = text.strip()
        if len(snippet) > _MAX_BODY_IN_MESSAGE:
            snippet = snippet[:_MAX_BODY_IN_MESSAGE] + "..."
        message = snippet or "(empty body)"
        code = None
    common = dict(errors=items, method=method, path=path)

    if status in (401, 403):
        cls: type[KustomerError] = KustomerAuthError
    elif status == 404:
        cls = KustomerNotFoundError
    elif status == 409:
        cls = KustomerConflictError
    elif status in (400, 422):
        cls = KustomerBadRequestError
    elif status == 413:
        cls = KustomerPayloadTooLargeError
    elif status == 429:
        wait = retry_after_from_headers(headers, now=now)
        return KustomerRateLimitedError(
            message, status, code, body,
            retry_after=DEFAULT_RETRY_AFTER if wait is None else wait, **common,
        )
    elif status >= 500:
        cls = KustomerServerError
    elif status in (408, 425):
        cls = KustomerTryAgainError
    else:
        cls = KustomerError  # any other 4xx (or a 3xx): not worth another try
    return cls(message, status, code, body, **common)
