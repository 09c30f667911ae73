"""Fetching files the contact center points at (recordings, SmartAction files) without
becoming an SSRF tool (SPEC §5).

Before a fetch: http(s) only, no credentials in the URL, the host on the allow-list
when one is configured, and every address the host resolves to public (no loopback,
link-local, private, multicast, reserved or unspecified address) unless the operator
allows private addresses. During the fetch: no redirects followed blindly (each hop is
checked again), a timeout, and a size cap enforced while streaming.

Settings (read with getattr so a missing one means the safe default):
- ``SYNC_FETCH_ALLOW_PRIVATE`` (bool, default False; the sandbox/demo needs True).
- ``SYNC_FETCH_ALLOWED_HOSTS`` (list of host names, ``*.example.com`` for a domain and
  its subdomains; empty: any public host).
- ``SYNC_FETCH_MAX_BYTES`` (default 25 MiB), ``SYNC_FETCH_TIMEOUT_SECONDS`` (default 20).
"""
from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings

DEFAULT_MAX_BYTES = 25 * 1024 * 1024
DEFAULT_TIMEOUT = 20.0
MAX_REDIRECTS = 3


class FetchError(Exception):
    """A file could not be fetched. ``retryable``: a later try may succeed (timeouts,
    5xx); refusals by policy and 4xx are final."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class FetchPolicy:
    allow_private: bool = False
    allowed_hosts: tuple[str, ...] = ()
    max_bytes: int = DEFAULT_MAX_BYTES
    timeout: float = DEFAULT_TIMEOUT


@dataclass(frozen=True)
class FetchedFile:
    content: bytes
    content_type: str


def policy_from_settings() -> FetchPolicy:
    hosts = settings.SYNC_FETCH_ALLOWED_HOSTS
    return FetchPolicy(
        allow_private=bool(settings.SYNC_FETCH_ALLOW_PRIVATE),
        allowed_hosts=tuple(h.strip().lower() for h in hosts),
        max_bytes=int(getattr(settings, "SYNC_FETCH_MAX_BYTES", DEFAULT_MAX_BYTES)),
        timeout=float(getattr(settings, "SYNC_FETCH_TIMEOUT_SECONDS", DEFAULT_TIMEOUT)),
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


def fetch_file(url: str, *, policy: FetchPolicy | None = None, session: requests.Session | None = None) -> FetchedFile:
    """GET ``url`` under ``policy``: checked, bounded in size and time.

    Known gap: the address is checked before requests connects, so a DNS answer that
    changes between the check and the connection (rebinding) is not caught; an egress
    proxy is the place to close that."""
    policy = policy or policy_from_settings()
    http = session or requests.Session()
    current = url
    try:
        for _ in range(MAX_REDIRECTS + 1):
            check_url(current, policy)
            try:
                response = http.get(current, stream=True, timeout=policy.timeout, allow_redirects=False,
                                    headers={"User-Agent": "cc-kustomer-portal/1.0 (file fetch)"})
            except requests.Timeout:
                raise FetchError(f"no answer from {urlsplit(current).hostname} within {policy.timeout:.0f}s",
                                 retryable=True) from None
            except requests.RequestException as exc:
                raise FetchError(f"fetch failed: {type(exc).__name__}", retryable=True) from None
            with response:
                if response.is_redirect:
                    location = response.headers.get("Location", "")
                    current = urljoin(current, location)
                    continue
                if response.status_code >= 500:
                    raise FetchError(f"file server answered {response.status_code}", retryable=True)
                if response.status_code >= 400:
                    raise FetchError(f"file server answered {response.status_code}")
                declared = response.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > policy.max_bytes:
                    raise FetchError(f"file is {int(declared)} bytes, over the {policy.max_bytes}-byte limit")
                chunks, size = [], 0
                try:
                    for chunk in response.iter_content(64 * 1024):
                        size += len(chunk)
                        if size > policy.max_bytes:
                            raise FetchError(f"file is over the {policy.max_bytes}-byte limit")
                        chunks.append(chunk)
                except requests.RequestException as exc:
                    raise FetchError(f"fetch interrupted: {type(exc).__name__}", retryable=True) from None
                content_type = response.headers.get("Content-Type", "application/octet-stream").split(";")[0].strip()
                return FetchedFile(content=b"".join(chunks), content_type=content_type or "application/octet-stream")
        raise FetchError(f"more than {MAX_REDIRECTS} redirects")
    finally:
        if session is None:
            http.close()
