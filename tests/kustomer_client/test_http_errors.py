"""The HTTP layer turns every odd answer into the right typed, printable error."""
from __future__ import annotations

import json
import time
from email.utils import formatdate

import pytest
import requests

from integrations.kustomer.errors import (
    KustomerAuthError,
    KustomerBadRequestError,
    KustomerConflictError,
    KustomerConnectionError,
    KustomerError,
    KustomerMalformedResponseError,
    KustomerNotFoundError,
    KustomerPayloadTooLargeError,
    KustomerRateLimitedError,
    KustomerServerError,
    KustomerTimeoutError,
)

from .conftest import API, API_KEY, OID, doc, resource

CUSTOMER_URL = f"{API}/customers/{OID}"

JSONAPI_404 = {"errors": [{"status": 404, "code": "notfound", "title": "Not Found",
                           "source": {"parameter": "externalId"}}]}
JSONAPI_400 = {"errors": [{"status": 400, "code": "badparam", "title": "Additional properties not allowed",
                           "source": {"parameter": "notAnActualAttribute"},
                           "detail": "/properties/custom/additionalProperties"}]}
NEW_FORM_400 = {"errors": [{"code": "bad_request", "message": "queueNameStr is not defined", "meta": {}}]}


@pytest.mark.parametrize(
    ("status", "body", "cls", "retryable"),
    [
        (400, JSONAPI_400, KustomerBadRequestError, False),
        (422, NEW_FORM_400, KustomerBadRequestError, False),
        (401, {"errors": [{"status": 401, "code": "unauthorized", "title": "Unauthorized"}]}, KustomerAuthError, False),
        (403, {"errors": [{"code": "forbidden", "message": "missing role", "meta": {}}]}, KustomerAuthError, False),
        (404, JSONAPI_404, KustomerNotFoundError, False),
        (409, {"errors": [{"status": 409, "code": "conflict", "title": "Conflict"}]}, KustomerConflictError, False),
        (413, {"errors": [{"status": 413, "code": "too_large", "title": "Payload Too Large"}]}, KustomerPayloadTooLargeError, False),
        (500, {"errors": [{"status": 500, "code": "internal", "title": "Internal Server Error"}]}, KustomerServerError, True),
        (502, "<html>Bad Gateway</html>", KustomerServerError, True),
        (503, "", KustomerServerError, True),
    ],
)
def test_status_maps_to_typed_error(client, rsps, status, body, cls, retryable):
    kwargs = {"json": body} if isinstance(body, dict) else {"body": body}
    rsps.get(CUSTOMER_URL, status=status, **kwargs)
    with pytest.raises(cls) as info:
        client.get_customer(customer_id=OID)
    err = info.value
    assert isinstance(err, KustomerError)
    assert err.status == status
    assert err.retryable is retryable
    assert f"Kustomer {status}" in str(err)
    assert API_KEY not in str(err) and API_KEY not in repr(err)


def test_jsonapi_error_body_is_printed_with_parameter(client, rsps):
    rsps.put(CUSTOMER_URL, status=400, json=JSONAPI_400)
    with pytest.raises(KustomerBadRequestError) as info:
        client.update_customer(customer_id=OID, custom={"notAnActualAttribute": 1})
    err = info.value
    assert err.code == "badparam"
    assert err.parameter == "notAnActualAttribute"
    assert err.body == JSONAPI_400
    text = str(err)
    assert "badparam" in text and "Additional properties not allowed" in text
    assert "/properties/custom/additionalProperties" in text
    assert "notAnActualAttribute" in text
    assert f"PUT /v1/customers/{OID}" in text


def test_newer_error_body_form_is_read(client, rsps):
    rsps.put(CUSTOMER_URL, status=400, json=NEW_FORM_400)
    with pytest.raises(KustomerBadRequestError) as info:
        client.update_customer(customer_id=OID, custom={"queueNameStr": "x"})
    assert info.value.code == "bad_request"
    assert "queueNameStr is not defined" in str(info.value)
    assert info.value.errors[0].message == "queueNameStr is not defined"


def test_413_payload_too_large_is_not_retryable(client, rsps):
    rsps.post(f"{API}/conversations/{OID}/notes", status=413, body="request entity too large")
    with pytest.raises(KustomerPayloadTooLargeError) as info:
        client.create_note(conversation_id=OID, body="x" * 200_000)
    assert not info.value.retryable
    assert "request entity too large" in str(info.value)


def test_error_text_never_contains_api_key_even_if_echoed(client, rsps):
    rsps.get(CUSTOMER_URL, status=401, json={"errors": [{"code": "unauthorized", "message": f"bad token Bearer {API_KEY}"}]})
    with pytest.raises(KustomerAuthError) as info:
        client.get_customer(customer_id=OID)
    assert API_KEY not in str(info.value)
    assert API_KEY not in json.dumps(info.value.body)


def test_timeout_is_retryable_and_sent_with_a_timeout(client, rsps):
    rsps.get(CUSTOMER_URL, body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(KustomerTimeoutError) as info:
        client.get_customer(customer_id=OID)
    assert info.value.retryable
    assert info.value.status is None
    assert rsps.calls[0].request.req_kwargs["timeout"] == 3.0


def test_connection_error_is_retryable(client, rsps):
    rsps.get(CUSTOMER_URL, body=requests.exceptions.ConnectionError("refused"))
    with pytest.raises(KustomerConnectionError) as info:
        client.get_customer(customer_id=OID)
    assert info.value.retryable
    # the transport exception kept as cause holds no request (whose headers hold the key)
    assert getattr(info.value.__cause__, "request", None) is None


def test_non_json_success_is_malformed(client, rsps):
    rsps.get(CUSTOMER_URL, status=200, body="<html>login</html>", content_type="text/html")
    with pytest.raises(KustomerMalformedResponseError) as info:
        client.get_customer(customer_id=OID)
    assert not info.value.retryable


@pytest.mark.parametrize("body", [{"data": []}, {"data": {"type": "customer"}}, {"nope": 1}, [1, 2]])
def test_unexpected_shape_is_malformed(client, rsps, body):
    rsps.get(CUSTOMER_URL, status=200, json=body)
    with pytest.raises(KustomerMalformedResponseError):
        client.get_customer(customer_id=OID)


def test_truncated_json_is_malformed(client, rsps):
    rsps.get(CUSTOMER_URL, status=200, body='{"data": {"type": "customer", "id": "', content_type="application/json")
    with pytest.raises(KustomerMalformedResponseError):
        client.get_customer(customer_id=OID)


# ------------------------------------------------------------------------- 429
def _rl_body():
    return {"errors": [{"status": 429, "code": "ratelimited", "title": "Too Many Requests"}]}


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "17"}, 17.0),
        ({"x-ratelimit-reset": "23"}, 23.0),  # reading 1: seconds to wait
        ({"x-ratelimit-reset": "EPOCH+31"}, 31.0),  # reading 2: epoch seconds
        ({"x-ratelimit-reset": "EPOCHMS+12"}, 12.0),  # epoch milliseconds
        ({"Retry-After": "HTTPDATE+40"}, 40.0),  # Retry-After as an HTTP date
        ({"Retry-After": "5", "x-ratelimit-reset": "20"}, 20.0),  # the longer wins
        ({}, 15.0),  # nothing said: the default
    ],
)
def test_429_retry_after_from_either_header_reading(client, rsps, headers, expected):
    now = time.time()
    resolved = {}
    for k, v in headers.items():
        if v.startswith("EPOCHMS+"):
            v = str(int((now + float(v[8:])) * 1000))
        elif v.startswith("EPOCH+"):
            v = str(int(now + float(v[6:])))
        elif v.startswith("HTTPDATE+"):
            v = formatdate(now + float(v[9:]), usegmt=True)
        resolved[k] = v
    rsps.get(CUSTOMER_URL, status=429, json=_rl_body(), headers=resolved)
    with pytest.raises(KustomerRateLimitedError) as info:
        client.get_customer(customer_id=OID)
    err = info.value
    assert err.retryable and err.status == 429 and not err.local
    assert err.retry_after == pytest.approx(expected, abs=1.5)
    assert len(rsps.calls) == 1  # a long wait is not slept through inline


def test_short_429_is_retried_once_inline(client, rsps, sleeper):
    rsps.get(CUSTOMER_URL, status=429, json=_rl_body(), headers={"Retry-After": "1"})
    rsps.get(CUSTOMER_URL, status=200, json=doc(resource("customer", OID, {"name": "Ann"})))
    customer = client.get_customer(customer_id=OID)
    assert customer.name == "Ann"
    assert sleeper.calls == [1.0]


def test_short_429_twice_raises(client, rsps, sleeper):
    rsps.get(CUSTOMER_URL, status=429, json=_rl_body(), headers={"Retry-After": "1"})
    rsps.get(CUSTOMER_URL, status=429, json=_rl_body(), headers={"Retry-After": "1"})
    with pytest.raises(KustomerRateLimitedError):
        client.get_customer(customer_id=OID)
    assert len(rsps.calls) == 2


def test_429_pauses_the_org_in_the_limiter(limited_client, rsps):
    client, limiter, clock = limited_client
    rsps.get(CUSTOMER_URL, status=429, json=_rl_body(), headers={"x-ratelimit-reset": "30", "x-ratelimit-remaining": "0", "x-ratelimit-limit": "1000"})
    with pytest.raises(KustomerRateLimitedError) as info:
        client.get_customer(customer_id=OID)
    assert info.value.retry_after == pytest.approx(30)
    assert limiter.paused_for("org-acme") == pytest.approx(30, abs=0.5)
    # the next call does not even reach Kustomer: the limiter refuses within the wait allowed
    client.rate_limit_wait = 5
    with pytest.raises(KustomerRateLimitedError) as info2:
        client.get_customer(customer_id=OID)
    assert info2.value.local and info2.value.retry_after == pytest.approx(30, abs=0.5)
    assert len(rsps.calls) == 1


def test_short_429_with_limiter_waits_via_limiter(limited_client, rsps, sleeper):
    client, limiter, clock = limited_client
    rsps.get(CUSTOMER_URL, status=429, json=_rl_body(), headers={"Retry-After": "2"})
    rsps.get(CUSTOMER_URL, status=200, json=doc(resource("customer", OID)))
    client.get_customer(customer_id=OID)
    assert sum(clock.sleeps) >= 2.0  # the limiter slept out the pause
    assert sleeper.calls == []


def test_rate_limit_headers_are_fed_to_the_limiter(limited_client, rsps):
    client, limiter, clock = limited_client
    rsps.get(CUSTOMER_URL, status=200, json=doc(resource("customer", OID)),
             headers={"x-ratelimit-limit": "300", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "12"})
    client.get_customer(customer_id=OID)
    assert client.last_rate_limit.limit == 300
    assert client.last_rate_limit.remaining == 0
    assert client.last_rate_limit.reset_seconds == pytest.approx(12)
    # Kustomer says the window is spent: the next acquire waits for its reset
    client.rate_limit_wait = 1
    with pytest.raises(KustomerRateLimitedError) as info:
        client.get_customer(customer_id=OID)
    assert info.value.local and info.value.retry_after == pytest.approx(12, abs=0.5)


def test_redirect_is_not_followed(client, rsps):
    rsps.get(CUSTOMER_URL, status=302, headers={"Location": "https://evil.example/steal"})
    with pytest.raises(KustomerError) as info:
        client.get_customer(customer_id=OID)
    assert info.value.status == 302 and not info.value.retryable
    assert len(rsps.calls) == 1


def test_debug_logs_never_contain_the_api_key(client, rsps, caplog):
    import logging

    caplog.set_level(logging.DEBUG)  # every logger, urllib3 and requests included
    rsps.get(CUSTOMER_URL, status=200, json=doc(resource("customer", OID)))
    rsps.get(CUSTOMER_URL, status=401, json={"errors": [{"code": "unauthorized", "message": "bad key"}]})
    rsps.get(CUSTOMER_URL, body=requests.exceptions.ConnectTimeout("connect timed out"))
    client.get_customer(customer_id=OID)
    for exc in (KustomerAuthError, KustomerTimeoutError):
        with pytest.raises(exc):
            client.get_customer(customer_id=OID)
    assert caplog.records  # something was logged
    assert API_KEY not in caplog.text
    assert "Authorization" not in caplog.text
