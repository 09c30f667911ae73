"""Fixtures of the Kustomer client tests: a client on a fake org host, `responses` on."""
from __future__ import annotations

from typing import Any

import pytest
import responses

from integrations.kustomer.client import KustomerClient
from integrations.kustomer.ratelimit import MemoryRateLimiter

BASE = "https://acme.api.kustomerapp.com"
API = BASE + "/v1"
API_KEY = "k-test-SECRET-0123456789abcdef"
OID = "5a4d1a8a6d92880012ad2923"


def oid(n: int) -> str:
    """A 24-hex ObjectId-looking id."""
    return f"{n:024x}"


def resource(kind: str, id_: str, attributes: dict[str, Any] | None = None,
             relationships: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "type": kind,
        "id": id_,
        "attributes": attributes or {},
        "relationships": relationships or {},
        "links": {"self": f"/v1/{kind}s/{id_}"},
    }


def rel(kind: str, id_: str) -> dict[str, Any]:
    return {"data": {"type": kind, "id": id_}}


def doc(res: Any, **extra: Any) -> dict[str, Any]:
    return {"data": res, **extra}


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as r:
        yield r


class Sleeper:
    """Records sleeps instead of sleeping."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleeper() -> Sleeper:
    return Sleeper()


@pytest.fixture
def client(rsps, sleeper) -> KustomerClient:
    return KustomerClient(base_url=BASE, api_key=API_KEY, timeout=3.0, sleep=sleeper)


@pytest.fixture
def limited_client(rsps, sleeper):
    """A client with a process-local limiter whose clock the test drives."""
    clock = FakeClock()
    limiter = MemoryRateLimiter(clock=clock, sleep=clock.sleep)
    c = KustomerClient(base_url=BASE, api_key=API_KEY, timeout=3.0, rate_limiter=limiter,
                       org_key="org-acme", sleep=sleeper)
    return c, limiter, clock


class FakeClock:
    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
