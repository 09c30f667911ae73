"""The API's JSON parser: DRF's, plus the refusals a database needs.

- A body nested deeper than Python's parser can follow is a 400 (DRF lets the
  RecursionError out as a 500).
- Text that no database column can hold is refused with a 400 naming the field: NUL
  (PostgreSQL's text and jsonb refuse it) and unpaired UTF-16 surrogates (JSON allows the
  `\\ud800` escape; UTF-8 cannot encode it).
"""
from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import JSONParser


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
            raise ParseError("JSON parse error - the body is nested too deeply.") from None
        problem = first_unstorable_text(data)
        if problem:
            path, reason = problem
            raise ValidationError({path: [reason[0].upper() + reason[1:]]})
        return data
