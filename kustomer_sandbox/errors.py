"""Kustomer-shaped API errors.

Bodies follow the responses recorded from the real API:
`{"errors":[{"status":404,"code":"notfound","title":"Not Found","source":{"parameter":"externalId"}}]}`
and the `badparam` variant with `detail`. Handlers raise `ApiError`; the app renders it.
"""
from __future__ import annotations

from typing import Any


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        *,
        parameter: str | None = None,
        detail: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {title}")
        self.status = status
        self.code = code
        self.title = title
        self.parameter = parameter
        self.detail = detail
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"status": self.status, "code": self.code, "title": self.title}
        if self.parameter is not None:
            error["source"] = {"parameter": self.parameter}
        if self.detail is not None:
            error["detail"] = self.detail
        return {"errors": [error]}


def not_found(parameter: str = "id") -> ApiError:
    return ApiError(404, "notfound", "Not Found", parameter=parameter)


def bad_param(title: str, parameter: str, detail: str | None = None) -> ApiError:
    return ApiError(400, "badparam", title, parameter=parameter, detail=detail)


def unauthorized() -> ApiError:
    return ApiError(401, "unauthorized", "Unauthorized")


# Duplicates: the docs leave 400 vs 409 open; the sandbox answers 409 Conflict (the
# status the docs list for conflicts) so a client can tell "already exists" apart from a
# malformed request.
def duplicate(parameter: str, value: Any) -> ApiError:
    return ApiError(409, "duplicate", "Duplicate key", parameter=parameter, detail=f"{parameter} {value!r} already exists")


def too_large(limit: int) -> ApiError:
    return ApiError(413, "payloadtoolarge", "Payload Too Large", detail=f"request body exceeds {limit} bytes")


def rate_limited(detail: str) -> ApiError:
    return ApiError(429, "ratelimited", "Too Many Requests", detail=detail)
