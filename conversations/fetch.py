"""Fetching files the contact center points at (recordings, SmartAction files) without
becoming an SSRF tool (SPEC §5).

Before a fetch: http(s) only, no credentials in the URL, the host on the allow-list
when one is configured, and every address the host resolves to public (no loopback,
link-local, private, multicast, reserved or unspecified address) unless the operator
allows private addresses. During the fetch: no redirects followed blindly (each hop is
checked again), a size cap enforced while streaming, and time bounds that a slow or
dripping server cannot stretch: a total deadline for the whole fetch (redirects
included), a minimum transfer rate, and a per-read timeout no longer than the time left.
A fetch that breaks one is a retryable FetchError, so the executor counts it as a failure.

One tenant's slow file server must not take every worker: each tenant has at most
``SYNC_FETCH_PER_TENANT`` fetches under way at once, counted in the shared cache (every
worker on every machine sees the same slots). A fetch beyond that is refused at once with
``FetchBusy`` (retry soon, not a failure of the event), which frees the worker for others.

Settings (read with getattr so a missing one means the safe default):
- ``SYNC_FETCH_ALLOW_PRIVATE`` (bool, default False; the sandbox/demo needs True).
- ``SYNC_FETCH_ALLOWED_HOSTS`` (list of host names, ``*.example.com`` for a domain and
  its subdomains; empty: any public host).
- ``SYNC_FETCH_MAX_BYTES`` (default 25 MiB), ``SYNC_FETCH_TIMEOUT_SECONDS`` (default 20, per
  connect or read), ``SYNC_FETCH_DEADLINE_SECONDS`` (default 60, the whole fetch),
  ``SYNC_FETCH_MIN_BYTES_PER_SECOND`` (default 8 KiB/s, judged after the first
  ``RATE_GRACE_SECONDS``), ``SYNC_FETCH_PER_TENANT`` (default 2 concurrent fetches).
"""
from __future__ import annotations

import ipaddress
import secrets
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from django.core.cache import cache

DEFAULT_MAX_BYTES = 25 * 1024 * 1024
DEFAULT_TIMEOUT = 20.0
DEFAULT_DEADLINE = 60.0
DEFAULT_MIN_RATE = 8 * 1024
DEFAULT_PER_TENANT = 2
#: The transfer rate is judged only after this long (a connection's slow start).
RATE_GRACE_SECONDS = 5.0
MAX_REDIRECTS = 3
CHUNK = 64 * 1024


class FetchError(Exception):
    """A file could not be fetched. ``retryable``: a later try may succeed (timeouts,
    5xx); refusals by policy and 4xx are final."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class FetchBusy(FetchError):
    """Every fetch slot of the tenant is in use: try again shortly. Not the event's
    failure; the worker is freed for other tenants instead of waiting."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=True)


@dataclass(frozen=True)
class FetchPolicy:
    allow_private: bool = False
    allowed_hosts: tuple[str, ...] = ()
    max_bytes: int = DEFAULT_MAX_BYTES
    timeout: float = DEFAULT_TIMEOUT
    deadline: float = DEFAULT_DEADLINE
    min_bytes_per_second: int = DEFAULT_MIN_RATE
    per_tenant: int = DEFAULT_PER_TENANT


@dataclass(frozen=True)
class FetchedFile:
    content: bytes
    content_type: str


def policy_from_settings() -> FetchPolicy:
    hosts = settings.SYNC_FETCH_ALLOWED_HOSTS
    return FetchPolicy(
        allow_private=bool(settings.SYNC_FETCH_ALLOW_PRIVATE),
        allowed_hosts=tuple(h.strip().lower() for h in hosts),
        max_bytes=settings.SYNC_FETCH_MAX_BYTES,
        timeout=settings.SYNC_FETCH_TIMEOUT_SECONDS,
        deadline=settings.SYNC_FETCH_DEADLINE_SECONDS,
        min_bytes_per_second=settings.SYNC_FETCH_MIN_BYTES_PER_SECOND,
        per_tenant=max(1, settings.SYNC_FETCH_PER_TENANT),
    )


def host_allowed(host: str, allowed: Iterable[str]) -> bool:
    allowed = tuple(allowed)
    if not allowed:
        return True
    host = host.lower().rstrip(".")
    for pattern in allowed:
        if pattern.startswith("*."):
            domain = pattern[2:]
            if host == domain or host.endswith("." + domain):
                return True
        elif host == pattern:
            return True
    return False


def address_is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (ip.is_loopback or ip.is_link_local or ip.is_private or ip.is_multicast or ip.is_reserved
                or ip.is_unspecified or not ip.is_global)


def check_url(url: str, policy: FetchPolicy,
              resolve: Callable[[str, int], list[str]] | None = None) -> None:
    """Raise FetchError unless ``url`` may be fetched under ``policy``."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise FetchError(f"not a valid URL: {url[:200]!r}") from None
    if parts.scheme not in ("http", "https"):
        raise FetchError(f"only http(s) URLs are fetched, not {parts.scheme or 'no scheme'!r}")
    if parts.username or parts.password:
        raise FetchError("URLs with credentials are not fetched")
    host = (parts.hostname or "").lower()
    if not host:
        raise FetchError("URL has no host")
    if not host_allowed(host, policy.allowed_hosts):
        raise FetchError(f"host {host} is not on the allowed list")
    port = port or (443 if parts.scheme == "https" else 80)
    addresses = (resolve or _resolve)(host, port)
    if not addresses:
        raise FetchError(f"host {host} does not resolve", retryable=True)
    if not policy.allow_private:
        for address in addresses:
            if not address_is_public(address):
                raise FetchError(f"host {host} resolves to a non-public address ({address}); refused")


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except socket.gaierror:
        return []
    return sorted({info[4][0] for info in infos})


@contextmanager
def tenant_fetch_slot(tenant_id: int | str | None, policy: FetchPolicy) -> Iterator[None]:
    """Hold one of the tenant's `policy.per_tenant` fetch slots for the fetch's duration;
    FetchBusy when all are held. A slot lapses by itself after the longest a fetch can
    take, so a killed worker cannot keep one."""
    if tenant_id is None:
        yield
        return
    token = secrets.token_hex(8)
    lapse = int(policy.deadline + policy.timeout) + 30
    for index in range(policy.per_tenant):
        key = f"fetch-slot:{tenant_id}:{index}"
        if cache.add(key, token, timeout=lapse):
            break
    else:
        raise FetchBusy(f"the tenant's {policy.per_tenant} concurrent file fetches are all under way")
    try:
        yield
    finally:
        if cache.get(key) == token:
            cache.delete(key)


def fetch_file(url: str, *, policy: FetchPolicy | None = None, session: requests.Session | None = None,
               tenant_id: int | str | None = None) -> FetchedFile:
    """GET ``url`` under ``policy``: checked, bounded in size, time and rate, and counted
    against the tenant's concurrent fetches when ``tenant_id`` is given.

    Known gap: the address is checked before requests connects, so a DNS answer that
    changes between the check and the connection (rebinding) is not caught; an egress
    proxy is the place to close that."""
    policy = policy or policy_from_settings()
    with tenant_fetch_slot(tenant_id, policy):
        http = session or requests.Session()
        try:
            return _fetch(url, policy, http, deadline=time.monotonic() + policy.deadline)
        finally:
            if session is None:
                http.close()


def _fetch(url: str, policy: FetchPolicy, http: requests.Session, *, deadline: float) -> FetchedFile:
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        check_url(current, policy)
        host = urlsplit(current).hostname
        wait = _time_left(deadline, policy, host)
        try:
            response = http.get(current, stream=True, timeout=(wait, wait), allow_redirects=False,
                                headers={"User-Agent": "cc-kustomer-portal/1.0 (file fetch)"})
        except requests.Timeout:
            raise FetchError(f"no answer from {host} within {wait:.0f}s", retryable=True) from None
        except requests.RequestException as exc:
            raise FetchError(f"fetch failed: {type(exc).__name__}", retryable=True) from None
        with response:
            if response.is_redirect:
                current = urljoin(current, response.headers.get("Location", ""))
                continue
            if response.status_code >= 500:
                raise FetchError(f"file server answered {response.status_code}", retryable=True)
            if response.status_code >= 400:
                raise FetchError(f"file server answered {response.status_code}")
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > policy.max_bytes:
                raise FetchError(f"file is {int(declared)} bytes, over the {policy.max_bytes}-byte limit")
            content = _read_body(response, policy, host, deadline=deadline)
            content_type = response.headers.get("Content-Type", "application/octet-stream").split(";")[0].strip()
            return FetchedFile(content=content, content_type=content_type or "application/octet-stream")
    raise FetchError(f"more than {MAX_REDIRECTS} redirects")


def _time_left(deadline: float, policy: FetchPolicy, host: str | None) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchError(f"fetch from {host} took longer than {policy.deadline:.0f}s", retryable=True)
    return min(policy.timeout, left)


def _read_body(response: requests.Response, policy: FetchPolicy, host: str | None, *, deadline: float) -> bytes:
    """The body, read as it arrives (read1: whatever one receive brings, so a dripping
    server is looked at after every drop), checked against size, deadline and rate."""
    raw = response.raw
    chunks, size = [], 0
    started = time.monotonic()
    try:
        while True:
            _set_read_timeout(raw, _time_left(deadline, policy, host))
            chunk = raw.read1(CHUNK, decode_content=True)
            if not chunk:
                break
            size += len(chunk)
            if size > policy.max_bytes:
                raise FetchError(f"file is over the {policy.max_bytes}-byte limit")
            chunks.append(chunk)
            elapsed = time.monotonic() - started
            if elapsed > RATE_GRACE_SECONDS and size / elapsed < policy.min_bytes_per_second:
                raise FetchError(f"{host} sends slower than {policy.min_bytes_per_second} bytes/s "
                                 f"({size} bytes in {elapsed:.0f}s)", retryable=True)
    except (requests.RequestException, OSError, _urllib3_errors()) as exc:
        raise FetchError(f"fetch interrupted: {type(exc).__name__}", retryable=True) from None
    return b"".join(chunks)


def _set_read_timeout(raw, seconds: float) -> None:
    """Narrow the socket's read timeout to the time left (urllib3 keeps the socket on the
    response's connection; a mocked response has none)."""
    sock = getattr(getattr(raw, "connection", None), "sock", None)
    if sock is not None:
        sock.settimeout(seconds)


def _urllib3_errors():
    from urllib3.exceptions import HTTPError

    return HTTPError
