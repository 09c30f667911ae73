"""The API's JSON parser: DRF's, plus the refusals a database needs.

- A body nested deeper than `MAX_JSON_DEPTH` is a 400: no payload of the contract comes
  close, and deeper ones only reach Python's recursion limit somewhere later (DRF lets the
  parser's RecursionError out as a 500). `json_body_loads` applies the same to bodies
  parsed outside DRF (Kustomer's webhooks).
- Text that no database column can hold is refused with a 400 naming the field: NUL
  (PostgreSQL's text and jsonb refuse it) and unpaired UTF-16 surrogates (JSON allows the
  `\\ud800` escape; UTF-8 cannot encode it).
"""
from __future__ import annotations

import json
from typing import Any

from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import JSONParser

MAX_JSON_DEPTH = 64
TOO_DEEP = f"JSON parse error - the body is nested too deeply (more than {MAX_JSON_DEPTH} levels)."


class JSONBodyError(ValueError):
    """A body that is not JSON, or nested too deeply; the message suits a 400."""


def nested_too_deeply(data: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    stack: list[tuple[int, Any]] = [(1, data)]
    while stack:
        depth, value = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((depth + 1, child) for child in children)
    return False


def json_body_loads(raw: bytes | str) -> Any:
    """Parse a request body read by hand; JSONBodyError when it is not JSON or nested
    deeper than `MAX_JSON_DEPTH`."""
    try:
        data = json.loads(raw)
    except RecursionError:
        raise JSONBodyError(TOO_DEEP) from None
    except ValueError:  # JSONDecodeError and UnicodeDecodeError both are
        raise JSONBodyError("The body is not JSON.") from None
    if nested_too_deeply(data):
        raise JSONBodyError(TOO_DEEP)
    return data


def _unstorable(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character (\\u0000), which cannot be stored."
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains an unpaired surrogate (\\ud800-\\udfff), which is not valid Unicode text."
    return None


def first_unstorable_text(data: Any) -> tuple[str, str] | None:
    """(dotted path, reason) of the first string, or object key, no database can store."""
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            reason = _unstorable(value)
            if reason:
                return path or "non_field_errors", reason
        elif isinstance(value, dict):
            for key, item in value.items():
                child = f"{path}.{key}" if path else str(key)
                reason = _unstorable(key)
                if reason:
                    return (path or "non_field_errors"), f"A key {reason[0].lower()}{reason[1:]}"
                stack.append((child, item))
        elif isinstance(value, list):
            stack.extend((f"{path}.{index}" if path else str(index), item) for index, item in enumerate(value))
    return None


class StrictJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
        if nested_too_deeply(data):
            raise ParseError(TOO_DEEP)
        problem = first_unstorable_text(data)
        if problem:
            path, reason = problem
            raise ValidationError({path: [reason[0].upper() + reason[1:]]})
        return data
