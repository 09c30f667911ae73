"""Kustomer's Apps Platform endpoints: register a version, install it, read the org's apps.

- `POST /v1/apps/available` (body: the app definition) registers a version ("Register
  and update apps", "Register and install"); 409 when that version is registered
  already, 400 for an invalid or outdated definition.
- `POST /v1/apps/install` (`{"app", "version"}`) installs or upgrades the org's app.
- `GET /v1/apps/available`: every version the org may install; `GET /v1/apps`: the apps
  the org has installed ("Get Installed Apps").
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from integrations.kustomer.client import KustomerClient

APPS_AVAILABLE = "/apps/available"
APPS_INSTALL = "/apps/install"
APPS_INSTALLED = "/apps"


@dataclass(frozen=True)
class AppVersion:
    """One app at one version, as Kustomer lists it (available or installed)."""

    app: str
    version: str
    status: str = ""

    @classmethod
    def from_resource(cls, res: Mapping[str, Any]) -> "AppVersion":
        attrs = res.get("attributes") if isinstance(res.get("attributes"), Mapping) else {}
        return cls(app=str(attrs["app"]), version=str(attrs["version"]), status=str(attrs.get("status") or ""))


def app_register(client: KustomerClient, *, definition: Mapping[str, Any]) -> AppVersion:
    """Register one version; Kustomer answers with the (namespaced) definition."""
    return client._one(AppVersion.from_resource, "POST", APPS_AVAILABLE, json_body=dict(definition))  # type: ignore[return-value]


def app_install(client: KustomerClient, *, app: str, version: str) -> AppVersion:
    return client._one(AppVersion.from_resource, "POST", APPS_INSTALL,  # type: ignore[return-value]
                       json_body={"app": app, "version": version})


def apps_available(client: KustomerClient) -> list[AppVersion]:
    return client._list(AppVersion.from_resource, APPS_AVAILABLE, page_size=None)


def apps_installed(client: KustomerClient) -> list[AppVersion]:
    return client._list(AppVersion.from_resource, APPS_INSTALLED, page_size=None)
