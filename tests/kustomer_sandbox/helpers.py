"""Assertions shared by the sandbox tests."""
from __future__ import annotations

import re

import requests

from kustomer_sandbox.validation import response_schema_errors

OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")
# `PATCH /v1/conversations/{id}` takes this media type only (Kustomer's OpenAPI file).
JSON_PATCH = {"Content-Type": "application/json-patch+json"}


def assert_openapi_response(response: requests.Response, method: str, template: str) -> dict:
    """The answer fits the response schema Kustomer's OpenAPI file gives for it.

    `template` is the file's path, e.g. "/customers/{id}". Returns the parsed body.
    """
    body = response.json()
    errors = response_schema_errors(method, template, response.status_code, body)
    assert errors == [], f"{method} {template} {response.status_code} breaks the OpenAPI file: {errors}"
    return body


def assert_kustomer_error(response: requests.Response, status: int, code: str, parameter: str | None = None) -> dict:
    """A Kustomer-shaped error body: {"errors":[{"status","code","title","source"?}]}."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"errors"}
    error = body["errors"][0]
    assert error["status"] == status
    assert error["code"] == code
    assert isinstance(error["title"], str) and error["title"]
    if parameter is not None:
        assert error["source"] == {"parameter": parameter}, error
    return error
