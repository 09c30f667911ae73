"""Links the portal sends away (invitation and password e-mails, adapter sign-in links)
are built on PORTAL_PUBLIC_URL, the address people reach the portal at, never on the
request's Host header: behind a proxy that header is an internal name, and a forged one
("Host: evil.example", when a deployment's ALLOWED_HOSTS is loose) would put another
site's address into a password link (host header poisoning)."""
from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings


def public_url(path: str = "/") -> str:
    """PORTAL_PUBLIC_URL joined with `path` (an absolute path, as reverse() gives)."""
    base = settings.PORTAL_PUBLIC_URL.rstrip("/")
    return base + (path if path.startswith("/") else "/" + path)


def public_url_parts() -> tuple[str, str]:
    """(protocol, domain[:port]) of PORTAL_PUBLIC_URL, the two values Django's
    password-reset e-mail template takes."""
    parts = urlsplit(settings.PORTAL_PUBLIC_URL)
    return parts.scheme or "https", parts.netloc
