"""Pure decisions about Kustomer connections (no ORM, no settings, no I/O)."""
from __future__ import annotations

from urllib.parse import urlsplit

KUSTOMER_API_DOMAIN = "kustomerapp.com"


def normalize_base_url(url: str, *, extra_hosts: list[str] | tuple[str, ...] = ()) -> str:
    """The org API base an admin typed, checked and normalised (no trailing /v1, no slash).

    Kustomer's hosts are `https://<org>.api.kustomerapp.com` and the regional
    `https://api.kustomerapp.com` / `https://api.prod2.kustomerapp.com`. Any other host
    (a sandbox, a proxy) must be allowed by the operator in `extra_hosts` ("host" or
    "host:port"); this keeps the API key from being sent to an arbitrary server.
    Raises ValueError with the reason.
    """
    raw = (url or "").strip()
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("Enter a full URL such as https://yourorg.api.kustomerapp.com.")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError("The URL must not carry a query, a fragment or credentials.")
    host = parts.hostname.lower()
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    extra = {h.lower() for h in extra_hosts}
    if host == KUSTOMER_API_DOMAIN or host.endswith("." + KUSTOMER_API_DOMAIN):
        if parts.scheme != "https":
            raise ValueError("Kustomer's API is served over https only.")
    elif host not in extra and netloc not in extra:
        raise ValueError(f"'{host}' is not a Kustomer API host (…{KUSTOMER_API_DOMAIN}).")
    path = parts.path.rstrip("/")
    if path.endswith("/v1"):
        path = path[: -len("/v1")]
    return f"{parts.scheme}://{netloc}{path}"


def key_may_go_to(*, base_url: str, entered_for: str) -> bool:
    """Whether a stored API key may be sent to `base_url`: only to the (normalised) base
    URL it was entered for, never to a host or org changed afterwards."""
    return bool(entered_for) and base_url == entered_for
