"""Pure decisions about Kustomer connections (no ORM, no settings, no I/O)."""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from urllib.parse import urlsplit


def key_may_go_to(*, base_url: str, entered_for: str) -> bool:
    """Whether a stored API key may be sent to `base_url`: only to the (normalised) base
    URL it was entered for, never to a host or org changed afterwards."""
    return bool(entered_for) and base_url == entered_for


# --- The tenant's Kustomer app (SPEC R-X4) ------------------------------------------------
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?$")
# Kustomer's "App definition basics": app names in snake_case; "Namespacing for private
# apps": Kustomer appends `_<orgId>` to a private app's name (we send it so, already).
APP_BASE_NAME = "ccaip_contact_center"


def version_key(version: str) -> tuple:
    """Sort key of a semantic version (a pre-release sorts before its release)."""
    match = SEMVER.match(version or "")
    if not match:
        raise ValueError(f"not a semantic version: {version!r}")
    major, minor, patch, pre = match.groups()
    return (int(major), int(minor), int(patch), 0 if pre else 1, pre or "")


class AppInstallState(enum.Enum):
    """What the connection page says about the tenant's Kustomer app."""

    NOT_INSTALLED = "not_installed"          # the org runs no version of it
    NEW_VERSION = "new_version"              # the product's version is not registered with the org yet
    UPGRADE_IN_KUSTOMER = "upgrade_in_kustomer"  # registered, but the org still runs an older one
    CURRENT = "current"                      # the org runs the product's version

    @property
    def upgrade_available(self) -> bool:
        return self in (AppInstallState.NEW_VERSION, AppInstallState.UPGRADE_IN_KUSTOMER)


def decide_app_install_state(*, product_version: str, registered_versions: list[str] | tuple[str, ...],
                             installed_version: str | None) -> AppInstallState:
    """R-X4: compare the product's app version with what the org holds."""
    if not installed_version:
        return AppInstallState.NOT_INSTALLED
    latest = max(registered_versions or [installed_version], key=version_key)
    if version_key(product_version) > version_key(latest):
        return AppInstallState.NEW_VERSION
    if version_key(latest) > version_key(installed_version):
        return AppInstallState.UPGRADE_IN_KUSTOMER
    return AppInstallState.CURRENT


@dataclass(frozen=True)
class KustomerAppPlan:
    """What goes into a tenant's Kustomer app (the definition's content, not its JSON)."""

    app_name: str
    version: str
    portal_url: str
    tenant_slug: str
    tenant_name: str
    external_queue: str
    # "Widgets": prefer viewport units so the widget fits laptops and wide screens.
    widget_width: str = "26vw"
    widget_height: str = "70vh"
    # A softphone needs the microphone (and autoplay for ringing): iframePermissions.
    iframe_permissions: str = "microphone *; autoplay *;"
    # Status sync and screen pop must keep running while the widget is closed.
    background_load: bool = True


def plan_kustomer_app(*, tenant_slug: str, tenant_name: str, org_id: str, portal_url: str,
                      product_version: str, external_queue: str) -> KustomerAppPlan:
    """R-X4: the tenant's app: one namespaced private app per Kustomer org, at the
    product's version, whose widget is the adapter of this portal for this tenant."""
    version_key(product_version)  # refuses a version Kustomer would refuse
    parts = urlsplit((portal_url or "").strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("The portal's public URL must be http(s), e.g. https://portal.example.com.")
    if not external_queue.strip():
        raise ValueError("A voice app names its external queue (meta.externalQueue).")
    name = f"{APP_BASE_NAME}_{org_id}" if org_id else APP_BASE_NAME
    return KustomerAppPlan(
        app_name=name, version=product_version, portal_url=f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}",
        tenant_slug=tenant_slug, tenant_name=tenant_name, external_queue=external_queue.strip(),
    )
