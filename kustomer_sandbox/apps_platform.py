"""Kustomer's Apps Platform in the sandbox: register app versions, install, upgrade, list.

Built from Kustomer's developer docs (developer.kustomer.com), cited per rule below and in
kustomer_sandbox/README.md:

- "App definition anatomy" (docs/apps/app-definition): an app definition is one JSON
  object; `app`, `version` and `title` are required; the schema is strict, a top-level
  key Kustomer doesn't recognize fails registration.
- "Register and install" (docs/apps/register-and-install): `POST /v1/apps/available`
  registers a version (a failure answers 400/409 and creates nothing); `POST
  /v1/apps/install` installs a registered version into the org (a failed install keeps
  the previous version).
- "Versioning and updates" (docs/apps/versioning): `version` is semver; every version is
  registered once (409 "This version has already been registered. Please increment the
  version."), a new version must be greater than the latest (400 "Cannot register
  outdated version. Version must be greater than X."); orgs keep running their version
  until an admin upgrades.
- "Namespacing for private apps": a private app's name gets `_<orgId>`; registration
  takes the name with or without it and answers with the namespaced definition.
- "Widgets" (docs/apps/widgets): `url` (required; `{{{settings.<category>.<name>}}}`
  references the app's own settings only), `icon` (required), `name`, `title`, `width`,
  `height`, `iframePermissions`, `backgroundLoad`.
- "Internationalization" (docs/apps/i18n): `i18n` maps locales to keys; missing keys fall
  back to `en_us`; widget titles are `<app>.widgets.<name>.title`.
- "Get Installed Apps" (`GET /v1/apps`) and `GET /v1/apps/available` (the versions the
  org may install).
- "Voice / VoIP apps" (kustomer-apps-platform/docs/guide-voice-apps): a voice app
  declares `meta.externalQueue` and `dataSubscriptions`.

The registry lives on each `Org` object (attribute `_apps_platform`), so `reset()` and
a new org start empty like the rest of the org's records.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import ApiError, bad_param, not_found
from .store import Org, now_iso

if TYPE_CHECKING:
    from .context import ApiContext

# "App definition anatomy": every top-level key Kustomer documents; any other fails.
TOP_LEVEL_KEYS = frozenset({
    "app", "version", "title", "identifier", "visibility", "description", "iconUrl", "screenshots",
    "appDetails", "dependencies", "tags", "settings", "auth", "klasses", "kviews", "widgets", "hooks",
    "triggers", "actions", "workflows", "commands", "outboundWebhooks", "i18n", "changelog", "roles",
    "meta", "dataSubscriptions",
})
WIDGET_KEYS = frozenset({"name", "title", "url", "icon", "width", "height", "iframePermissions", "backgroundLoad"})
SETTING_TYPES = frozenset({"string", "number", "boolean", "secret"})
# Every documented example names apps in snake_case (`acme_orders`, `standard_ecomm_app`).
APP_NAME = re.compile(r"^[a-z][a-z0-9_]{1,99}$")
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?$")
SETTING_REF = re.compile(r"\{\{\{\s*settings\.([A-Za-z0-9_]+)\.([A-Za-z0-9_]+)\s*\}\}\}")
# A CSS length Kustomer sizes the widget with (the docs prefer vw/vh or calc()).
CSS_LENGTH = re.compile(r"^(\d+(\.\d+)?(px|vw|vh|%)|calc\([^;{}<>]+\))$")
LOCALE = re.compile(r"^[a-z]{2}_[a-z]{2}$")


def semver_key(version: str) -> tuple:
    """Sort key of a semver string: a pre-release sorts before its release."""
    match = SEMVER.match(version)
    if not match:
        raise ValueError(version)
    major, minor, patch, pre = match.groups()
    return (int(major), int(minor), int(patch), 0 if pre else 1, pre or "")


@dataclass
class Installation:
    app: str
    version: str
    settings: dict[str, dict[str, Any]]
    installed_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)
    status: str = "installed"


@dataclass
class AppsRegistry:
    versions: dict[str, dict[str, dict]] = field(default_factory=dict)  # app -> version -> definition
    installed: dict[str, Installation] = field(default_factory=dict)

    def latest(self, app: str) -> str | None:
        versions = self.versions.get(app) or {}
        return max(versions, key=semver_key) if versions else None


def registry(org: Org) -> AppsRegistry:
    found = org.__dict__.get("_apps_platform")
    if found is None:
        found = org.__dict__["_apps_platform"] = AppsRegistry()
    return found


# -- validation ---------------------------------------------------------------------------
def definition_errors(definition: Any) -> list[tuple[str, str]]:
    """What Kustomer would refuse in an app definition, as (pointer, message) pairs."""
    if not isinstance(definition, dict):
        return [("/", "the app definition must be a JSON object")]
    errors: list[tuple[str, str]] = []
    for key in sorted(set(definition) - TOP_LEVEL_KEYS):
        errors.append((f"/{key}", f"'{key}' is not an app definition property"))
    for key in ("app", "version", "title"):
        if not isinstance(definition.get(key), str) or not definition.get(key).strip():
            errors.append((f"/{key}", f"'{key}' is required and must be a string"))
    if isinstance(definition.get("app"), str) and not APP_NAME.match(definition["app"]):
        errors.append(("/app", "'app' must be lower-case letters, digits and underscores"))
    if isinstance(definition.get("version"), str) and not SEMVER.match(definition["version"]):
        errors.append(("/version", "'version' must be a semantic version such as 0.0.1"))
    declared = _settings_errors(definition.get("settings"), errors)
    _widgets_errors(definition.get("widgets"), declared, errors)
    _i18n_errors(definition.get("i18n"), errors)
    meta = definition.get("meta")
    if meta is not None:
        if not isinstance(meta, dict):
            errors.append(("/meta", "'meta' must be an object"))
        elif "externalQueue" in meta and not _external_queue_ok(meta["externalQueue"]):
            errors.append(("/meta/externalQueue", "'externalQueue' must name the external queue"))
    subscriptions = definition.get("dataSubscriptions")
    if subscriptions is not None and not (
        isinstance(subscriptions, list) and all(isinstance(s, str) and s for s in subscriptions)
    ):
        errors.append(("/dataSubscriptions", "'dataSubscriptions' must be a list of event names"))
    return errors


def _external_queue_ok(value: Any) -> bool:
    if isinstance(value, str):
        return bool(value.strip())
    return isinstance(value, dict) and isinstance(value.get("name"), str) and bool(value["name"].strip())


def _settings_errors(settings: Any, errors: list) -> set[tuple[str, str]]:
    declared: set[tuple[str, str]] = set()
    if settings is None:
        return declared
    if not isinstance(settings, dict):
        errors.append(("/settings", "'settings' must be an object of categories"))
        return declared
    for category, entries in settings.items():
        if not isinstance(entries, dict):
            errors.append((f"/settings/{category}", "a settings category must be an object"))
            continue
        for name, spec in entries.items():
            pointer = f"/settings/{category}/{name}"
            if not isinstance(spec, dict) or spec.get("type") not in SETTING_TYPES:
                errors.append((pointer, f"a setting needs a type ({', '.join(sorted(SETTING_TYPES))})"))
                continue
            declared.add((category, name))
    return declared


def _widgets_errors(widgets: Any, declared: set[tuple[str, str]], errors: list) -> None:
    if widgets is None:
        return
    if not isinstance(widgets, list):
        errors.append(("/widgets", "'widgets' must be a list"))
        return
    names: set[str] = set()
    for index, widget in enumerate(widgets):
        pointer = f"/widgets/{index}"
        if not isinstance(widget, dict):
            errors.append((pointer, "a widget must be an object"))
            continue
        for key in sorted(set(widget) - WIDGET_KEYS):
            errors.append((f"{pointer}/{key}", f"'{key}' is not a widget property"))
        url = widget.get("url")
        if not isinstance(url, str) or not url.strip():
            errors.append((f"{pointer}/url", "a widget needs a url"))
        else:
            for category, name in SETTING_REF.findall(url):
                if (category, name) not in declared:
                    errors.append((f"{pointer}/url", f"settings.{category}.{name} is not a setting of this app"))
            if not re.match(r"^(https?://|\{\{\{)", url.strip()):
                errors.append((f"{pointer}/url", "a widget url must be http(s)"))
        if not isinstance(widget.get("icon"), str) or not re.match(r"^https?://", widget.get("icon", "")):
            errors.append((f"{pointer}/icon", "a widget needs an icon URL"))
        for size in ("width", "height"):
            value = widget.get(size)
            if value is not None and not (
                (isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0)
                or (isinstance(value, str) and CSS_LENGTH.match(value.strip()))
            ):
                errors.append((f"{pointer}/{size}", f"'{size}' must be pixels or a CSS length (vw, vh, calc())"))
        if "iframePermissions" in widget and not isinstance(widget["iframePermissions"], str):
            errors.append((f"{pointer}/iframePermissions", "'iframePermissions' must be a string"))
        if "backgroundLoad" in widget and not isinstance(widget["backgroundLoad"], bool):
            errors.append((f"{pointer}/backgroundLoad", "'backgroundLoad' must be true or false"))
        name = widget.get("name")
        if name is not None:
            if name in names:
                errors.append((f"{pointer}/name", f"two widgets are named '{name}'"))
            names.add(name)


def _i18n_errors(i18n: Any, errors: list) -> None:
    if i18n is None:
        return
    if not isinstance(i18n, dict):
        errors.append(("/i18n", "'i18n' must be an object of locales"))
        return
    for locale, strings in i18n.items():
        if not LOCALE.match(str(locale)):
            errors.append((f"/i18n/{locale}", "a locale looks like en_us"))
        if not isinstance(strings, dict) or not all(isinstance(v, str) for v in strings.values()):
            errors.append((f"/i18n/{locale}", "a locale maps keys to strings"))


# -- namespacing --------------------------------------------------------------------------
def namespaced(definition: dict, org_id: str) -> dict:
    """The definition with the app name (and the i18n keys naming it) namespaced with
    `_<orgId>`, as Kustomer does for private apps; an already namespaced name is kept."""
    suffix = f"_{org_id}"
    base = definition["app"]
    if definition.get("visibility") == "public" or base.endswith(suffix):
        return definition
    name = base + suffix
    result = dict(definition, app=name)
    if isinstance(definition.get("i18n"), dict):
        result["i18n"] = {
            locale: {(name + key[len(base):] if key.startswith(base + ".") else key): text for key, text in strings.items()}
            for locale, strings in definition["i18n"].items()
        }
    return result


# -- rendering ----------------------------------------------------------------------------
def render_available(definition: dict) -> dict:
    return {"type": "app", "id": f"{definition['app']}-{definition['version']}", "attributes": definition}


def render_installed(org: Org, installation: Installation) -> dict:
    apps = registry(org)
    definition = apps.versions[installation.app][installation.version]
    return {
        "type": "app",
        "id": installation.app,
        "attributes": {
            "app": installation.app, "version": installation.version, "title": definition.get("title"),
            "status": installation.status, "settings": installation.settings,
            "createdAt": installation.installed_at, "updatedAt": installation.updated_at,
        },
    }


def upgrade_available(org: Org, installation: Installation) -> str | None:
    """The newer registered version an installed app could move to ("Attention required")."""
    latest = registry(org).latest(installation.app)
    return latest if latest and semver_key(latest) > semver_key(installation.version) else None


# -- state changes ------------------------------------------------------------------------
def app_register(org: Org, body: Any) -> dict:
    errors = definition_errors(body)
    if errors:
        pointer, message = errors[0]
        raise ApiError(400, "badrequest", "Invalid app definition", parameter=pointer,
                       detail="; ".join(f"{p}: {m}" for p, m in errors)[:2000])
    definition = namespaced(body, org.id)
    apps = registry(org)
    versions = apps.versions.setdefault(definition["app"], {})
    version = definition["version"]
    if version in versions:
        raise ApiError(409, "conflict", "This version has already been registered. Please increment the version.",
                       parameter="version")
    latest = apps.latest(definition["app"])
    if latest and semver_key(version) < semver_key(latest):
        raise bad_param(f"Cannot register outdated version. Version must be greater than {latest}.", "version")
    versions[version] = definition
    return definition


def _default_settings(definition: dict, current: dict[str, dict[str, Any]] | None) -> dict[str, dict[str, Any]]:
    """An upgrade keeps the org's values and adds the defaults of new settings."""
    values: dict[str, dict[str, Any]] = {}
    for category, entries in (definition.get("settings") or {}).items():
        for name, spec in entries.items():
            kept = (current or {}).get(category, {})
            values.setdefault(category, {})[name] = kept[name] if name in kept else spec.get("defaultValue")
    return values


def app_install(org: Org, app: str, version: str | None) -> Installation:
    """Install `version` (default: the latest) of a registered app, or upgrade to it."""
    apps = registry(org)
    if app not in apps.versions:
        # Kustomer namespaces private apps; callers may name them either way.
        app = app if app.endswith(f"_{org.id}") else f"{app}_{org.id}"
    if app not in apps.versions:
        raise not_found("app")
    version = version or apps.latest(app)
    definition = apps.versions[app].get(version)
    if definition is None:
        raise not_found("version")
    current = apps.installed.get(app)
    if current is not None and semver_key(version) < semver_key(current.version):
        raise bad_param(f"Version {current.version} is installed; install a greater version.", "version")
    if current is None:
        current = apps.installed[app] = Installation(app=app, version=version, settings=_default_settings(definition, None))
    else:
        current.settings = _default_settings(definition, current.settings)
        current.version = version
        current.updated_at = now_iso()
    return current


# -- /v1/ handlers ------------------------------------------------------------------------
def api_available_register(ctx: "ApiContext") -> tuple[int, dict]:
    return 200, {"data": render_available(app_register(ctx.org, ctx.body))}


def api_available_list(ctx: "ApiContext") -> tuple[int, dict]:
    apps = registry(ctx.org)
    items = [render_available(d) for versions in apps.versions.values()
             for _, d in sorted(versions.items(), key=lambda pair: semver_key(pair[0]))]
    return 200, {"data": items, "links": {"self": "/v1/apps/available", "next": None}}


def api_install(ctx: "ApiContext") -> tuple[int, dict]:
    body = ctx.body if isinstance(ctx.body, dict) else {}
    app, version = body.get("app"), body.get("version")
    if not isinstance(app, str) or not app:
        raise bad_param("'app' is required", "app")
    if version is not None and not (isinstance(version, str) and SEMVER.match(version)):
        raise bad_param("'version' must be a semantic version", "version")
    return 200, {"data": render_installed(ctx.org, app_install(ctx.org, app, version))}


def api_installed_list(ctx: "ApiContext") -> tuple[int, dict]:
    installed = registry(ctx.org).installed.values()
    return 200, {"data": [render_installed(ctx.org, i) for i in installed], "links": {"self": "/v1/apps", "next": None}}


def api_installed_get(ctx: "ApiContext") -> tuple[int, dict]:
    app = ctx.params["app"]
    installation = registry(ctx.org).installed.get(app) or registry(ctx.org).installed.get(f"{app}_{ctx.org.id}")
    if installation is None:
        raise not_found("app")
    return 200, {"data": render_installed(ctx.org, installation)}


# Added to the `/v1/` route table (kustomer_sandbox/api.py), before its catch-alls.
API_ROUTES = [
    ("POST", r"/v1/apps/available", api_available_register),
    ("GET", r"/v1/apps/available", api_available_list),
    ("POST", r"/v1/apps/install", api_install),
    ("GET", r"/v1/apps", api_installed_list),
    ("GET", r"/v1/apps/(?P<app>[a-z][a-z0-9_]*)", api_installed_get),
]
