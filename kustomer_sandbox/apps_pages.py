"""The sandbox's "Manage Apps" pages and the Cards SDK stand-in script.

GET  /__sandbox/apps/{org}            HTML: Installed Apps (version, status; an app whose
                                      org runs an older version than the latest registered
                                      one is listed under "Attention required" with an
                                      Upgrade button) and the App Directory (registered
                                      apps not installed yet, with Install).
POST /__sandbox/apps/{org}/install    form `app`: install the latest version (303 back)
POST /__sandbox/apps/{org}/upgrade    form `app`: upgrade to the latest version (303 back)
GET  /__sandbox/card-js/kustomer-card.min.js   the Cards SDK stand-in (cards_sdk.py)

Kustomer's admins install and upgrade apps in its UI ("Register and install": admins
find apps in Settings › Apps › App Directory; an org keeps running its version until an
admin installs a newer one; the source names Manage Apps › Installed Apps › Attention
required › Upgrade). These pages are that UI; the API twins are POST /v1/apps/install,
GET /v1/apps and GET /v1/apps/available (apps_platform.py).
"""
from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from . import agent_desktop
from .apps_platform import app_install, registry, upgrade_available
from .cards_sdk import SCRIPT as CARDS_SDK_SCRIPT
from .errors import ApiError
from .html import _page

if TYPE_CHECKING:
    from .app import SandboxApp


def render_apps(app: "SandboxApp", org_id: str, note: str = "") -> str | None:
    org = app.state.orgs.get(org_id)
    if org is None:
        return None
    apps = registry(org)
    attention, rows = [], []
    for installation in apps.installed.values():
        newer = upgrade_available(org, installation)
        title = apps.versions[installation.app][installation.version].get("title") or installation.app
        row = (f'<tr data-testid="installed-app" data-app="{escape(installation.app)}" data-version="{escape(installation.version)}">'
               f"<td>{escape(title)}<div class='meta'><code>{escape(installation.app)}</code></div></td>"
               f"<td data-testid='installed-version'>{escape(installation.version)}</td><td>{escape(installation.status)}</td><td>")
        if newer:
            row += (f'<span data-testid="upgrade-available">Upgrade available: {escape(newer)}</span> '
                    f'<form method="post" action="/__sandbox/apps/{org.id}/upgrade" style="display:inline">'
                    f'<input type="hidden" name="app" value="{escape(installation.app)}">'
                    f'<button type="submit" data-testid="upgrade-button">Upgrade</button></form>')
            attention.append(row + "</td></tr>")
        else:
            rows.append(row + "Up to date</td></tr>")
    directory = []
    for name in apps.versions:
        if name in apps.installed:
            continue
        latest = apps.latest(name)
        title = apps.versions[name][latest].get("title") or name
        directory.append(
            f'<tr data-testid="directory-app" data-app="{escape(name)}"><td>{escape(title)}</td><td>{escape(latest)}</td><td>'
            f'<form method="post" action="/__sandbox/apps/{org.id}/install"><input type="hidden" name="app" value="{escape(name)}">'
            f'<button type="submit" data-testid="install-button">Install</button></form></td></tr>')
    head = "<tr><th>App</th><th>Version</th><th>Status</th><th></th></tr>"
    body = (f"<h1>Manage Apps · {escape(org.name)}</h1>"
            f'<p><a href="/__sandbox/desktop/{org.id}">Agent desktop</a> · <a href="/__sandbox/view/{org.id}">Records</a></p>'
            + (f'<p class="card" data-testid="apps-note">{escape(note)}</p>' if note else "")
            + "<h2>Installed Apps</h2>"
            + (f"<h3>Attention required</h3><table data-testid='attention-required'>{head}{''.join(attention)}</table>" if attention else "")
            + (f"<h3>Up to date</h3><table>{head}{''.join(rows)}</table>" if rows else "")
            + ("" if attention or rows else "<p class='meta' data-testid='no-installed-apps'>No apps installed.</p>")
            + "<h2>App Directory</h2>"
            + (f"<table>{''.join(directory)}</table>" if directory else "<p class='meta'>Every registered app is installed.</p>"))
    return _page(f"Manage Apps · {org.name}", body)


def apps_page(app: "SandboxApp", request: Request, org_id: str) -> Response:
    page = render_apps(app, org_id, request.args.get("note", ""))
    if page is None:
        return Response('{"error": "no org"}', status=404, content_type="application/json")
    return Response(page, content_type="text/html; charset=utf-8")


def apps_install_click(app: "SandboxApp", request: Request, org_id: str) -> Response:
    org = app.state.orgs.get(org_id)
    if org is None:
        return Response('{"error": "no org"}', status=404, content_type="application/json")
    try:
        installation = app_install(org, request.form.get("app", ""), None)
        note = f"{installation.app} {installation.version} is installed."
    except ApiError as exc:
        note = f"Not installed: {exc.title}"
    return redirect(f"/__sandbox/apps/{org_id}?{urlencode({'note': note})}", code=303)


def cards_sdk_script(app: "SandboxApp", request: Request) -> Response:
    response = Response(CARDS_SDK_SCRIPT, content_type="application/javascript; charset=utf-8")
    response.headers["Cache-Control"] = "no-cache"
    return response


_ID = r"(?P<org_id>[0-9a-f]{24})"
# Added to the control route table (kustomer_sandbox/control.py).
CONTROL_ROUTES = [
    ("GET", rf"/__sandbox/apps/{_ID}", apps_page),
    ("POST", rf"/__sandbox/apps/{_ID}/(?:install|upgrade)", apps_install_click),
    ("GET", r"/__sandbox/card-js/kustomer-card(?:\.min)?\.js", cards_sdk_script),
    ("GET", rf"/__sandbox/(?:desktop|host)/{_ID}", agent_desktop.desktop_page),
    ("GET", rf"/__sandbox/(?:desktop|host)/{_ID}/data", agent_desktop.desktop_data),
]
