"""Schemathesis against `/api/schema/`: every documented operation, fed generated valid
and invalid input, never answers a 500 and answers every error in the documented shape
`{"detail": "...", "errors": {field: [...]}}` (CONTRACT.md).

Runs in process through the WSGI app on the test database (no server), with a bounded,
derandomised number of examples per operation so the suite's time stays modest and a
failure reproduces. `SCHEMATHESIS_EXAMPLES=300` makes the long run SECURITY.md reports;
`SCHEMATHESIS_FIGURES=<file>` writes its figures there (cases tried, answers by status,
5xx found, and what schemathesis's other checks, run besides the three that must hold,
said).
"""
from __future__ import annotations

import json
import os
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.badinput.shapes import assert_error_shape

EXAMPLES_PER_OPERATION = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "12"))
FIGURES: Counter = Counter()


def _load_schema():
    # Served by the app itself (drf-spectacular builds it without touching the database).
    from django.core.handlers.wsgi import WSGIHandler

    return schemathesis.openapi.from_wsgi("/api/schema/?format=json", WSGIHandler())


schema = _load_schema()


def error_shape(ctx, response, case):
    """Every 4xx answer is JSON `{"detail": str, "errors": {field: [str, ...]}}`."""
    if 400 <= response.status_code < 500:
        content_type = next((v for k, v in response.headers.items() if k.lower() == "content-type"), "")
        assert_error_shape(response.status_code, content_type, response.content,
                           f"{case.method} {case.formatted_path}")


@pytest.fixture(autouse=True)
def keep_db_connection():
    """Django closes the database connection when a request starts and finishes; inside a test's
    transaction that would cut the test off its own data (Django's test client does the
    same: it unplugs this signal while it serves a request)."""
    from django.core import signals
    from django.db import close_old_connections

    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


@pytest.fixture(scope="module", autouse=True)
def figures():
    yield FIGURES
    target = os.environ.get("SCHEMATHESIS_FIGURES")
    if target:
        with open(target, "w") as f:
            json.dump(dict(sorted(FIGURES.items())), f, indent=1)


def _other_checks(case, response, headers: dict) -> None:
    """Every other built-in check of schemathesis, for the figures only (given the
    headers sent, so that its authentication probes know what to take away)."""
    try:
        case.validate_response(response, headers=headers)
    except (Exception, BaseExceptionGroup) as exc:  # a FailureGroup of the checks that failed
        for failure in getattr(exc, "exceptions", [exc]):
            FIGURES[f"other check: {getattr(failure, 'title', type(failure).__name__)}"] += 1


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@pytest.mark.django_db
def test_no_500_and_errors_in_documented_shape(case, api_key):
    """Generated input (within and outside the schema) for every operation."""
    headers = {"Authorization": f"Bearer {api_key[1]}"}
    response = case.call(headers=headers)
    FIGURES["cases"] += 1
    FIGURES[f"status {response.status_code // 100}xx"] += 1
    if response.status_code >= 500:
        FIGURES["5xx found"] += 1
    if os.environ.get("SCHEMATHESIS_FIGURES"):
        _other_checks(case, response, headers)
    case.validate_response(response, checks=[not_a_server_error, error_shape, response_schema_conformance])
