"""The contract's error body (CONTRACT.md), checked the same way by every bad-input test."""
from __future__ import annotations

import json


def assert_error_shape(status: int, content_type, body: bytes | str, what: str = "") -> dict:
    """`{"detail": "<text>", "errors": {"<field>": ["<text>", ...]}}` and nothing less."""
    if isinstance(content_type, (list, tuple)):
        content_type = content_type[0] if content_type else ""
    assert "json" in (content_type or ""), f"{what}: {status} answered {content_type!r}, not JSON: {body[:300]!r}"
    data = json.loads(body)
    assert isinstance(data, dict), f"{what}: {status} body is not an object: {data!r}"
    assert isinstance(data.get("detail"), str) and data["detail"], f"{what}: {status} without a detail: {data!r}"
    errors = data.get("errors")
    assert isinstance(errors, dict), f"{what}: {status} errors is not an object: {data!r}"
    for field, messages in errors.items():
        assert isinstance(field, str), f"{what}: field name {field!r}"
        assert isinstance(messages, list) and messages and all(isinstance(m, str) for m in messages), (
            f"{what}: errors[{field!r}] is not a list of texts: {messages!r}")
    return data
