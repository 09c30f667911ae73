"""An org's Kustomer base URL: the one place that checks and normalises it.

Kustomer's hosts are ``https://<org>.api.kustomerapp.com`` and the regional
``https://api.kustomerapp.com`` / ``https://api.prod2.kustomerapp.com``; every endpoint
sits below ``<base>/v1``.
"""
from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

API_PREFIX = "/v1"
KUSTOMER_API_DOMAIN = "kustomerapp.com"
REGIONAL_HOSTS = frozenset({"api.kustomerapp.com", "api.prod2.kustomerapp.com"})

__all__ = ["API_PREFIX", "KUSTOMER_API_DOMAIN", "REGIONAL_HOSTS", "api_root", "normalize_base_url"]


def normalize_base_url(url: str, *, extra_hosts: Iterable[str] | None = None) -> str:
    """``<scheme>://<host>[:port][/prefix]``: no ``/v1``, no trailing slash, lower-case.

    With ``extra_hosts`` (what an admin typed) the URL must be a full URL, of Kustomer's
    hosts over https or of a host the operator allows in ``extra_hosts`` ("host" or
    "host:port"; a sandbox, a proxy): this keeps the API key from being sent to an
    arbitrary server. Without it (a client built by code) the scheme may be left out
    (https) and any host is taken. Raises ValueError with the reason.
    """
    raw = (url or "").strip()
    if extra_hosts is None and raw and "://" not in raw:
        raw = "https://" + raw
    parts = urlsplit(raw)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError("Enter a full URL such as https://yourorg.api.kustomerapp.com.")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError("The URL must not carry a query, a fragment or credentials.")
    scheme, host = parts.scheme.lower(), parts.hostname.lower()
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    if extra_hosts is not None:
        extra = {h.lower() for h in extra_hosts}
        if host == KUSTOMER_API_DOMAIN or host.endswith("." + KUSTOMER_API_DOMAIN):
            if scheme != "https":
                raise ValueError("Kustomer's API is served over https only.")
        elif host not in extra and netloc not in extra:
            raise ValueError(f"'{host}' is not a Kustomer API host (…{KUSTOMER_API_DOMAIN}).")
    path = parts.path.rstrip("/")
    if path.lower().endswith(API_PREFIX):
        path = path[: -len(API_PREFIX)]
    return f"{scheme}://{netloc}{path}"


def api_root(url: str) -> str:
    """The root every endpoint path is joined to: ``<normalised base>/v1``."""
    return normalize_base_url(url) + API_PREFIX
