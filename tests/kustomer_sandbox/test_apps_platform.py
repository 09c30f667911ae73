"""The sandbox's Apps Platform: registering app versions, installing and upgrading them,
listing them, and the agent desktop rendering installed widgets (kustomer_sandbox/README.md)."""
from __future__ import annotations

import json
import re

import requests

APP = {
    "app": "voice_demo", "version": "0.0.1", "title": "Voice demo",
    "settings": {"default": {"host": {"type": "string", "defaultValue": "http://127.0.0.1:9", "required": True}}},
    "widgets": [{"name": "phone", "url": "{{{settings.default.host}}}/phone/", "icon": "http://127.0.0.1:9/i.png",
                 "width": "25vw", "height": "60vh", "iframePermissions": "microphone *;"}],
    "i18n": {"en_us": {"voice_demo.widgets.phone.title": "Phone"}, "ko_kr": {"voice_demo.widgets.phone.title": "전화"}},
    "meta": {"externalQueue": {"name": "Contact Center"}},
}


def _post(org, path, body):
    return org.session().post(f"{org.base_url}{path}", json=body, timeout=10)


def _get(org, path):
    return org.session().get(f"{org.base_url}{path}", timeout=10)


def test_register_namespaces_a_private_app_and_refuses_a_version_twice_or_an_older_one(sandbox_org):
    first = _post(sandbox_org, "/v1/apps/available", APP)
    assert first.status_code == 200, first.text
    name = first.json()["data"]["attributes"]["app"]
    assert name == f"voice_demo_{sandbox_org.org_id}"
    assert f"{name}.widgets.phone.title" in first.json()["data"]["attributes"]["i18n"]["en_us"]
    again = _post(sandbox_org, "/v1/apps/available", APP)
    assert again.status_code == 409 and "already been registered" in again.json()["errors"][0]["title"]
    assert _post(sandbox_org, "/v1/apps/available", dict(APP, version="0.1.0")).status_code == 200
    older = _post(sandbox_org, "/v1/apps/available", dict(APP, version="0.0.5"))
    assert older.status_code == 400 and "greater than 0.1.0" in older.json()["errors"][0]["title"]
    versions = [a["attributes"]["version"] for a in _get(sandbox_org, "/v1/apps/available").json()["data"]]
    assert versions == ["0.0.1", "0.1.0"]


def test_an_invalid_definition_is_refused_and_nothing_is_registered(sandbox_org):
    bad = _post(sandbox_org, "/v1/apps/available", dict(APP, colour="red", widgets=[{"url": "x"}]))
    assert bad.status_code == 400
    detail = bad.json()["errors"][0]["detail"]
    assert "/colour" in detail and "/widgets/0/icon" in detail
    assert _get(sandbox_org, "/v1/apps/available").json()["data"] == []


def test_install_then_upgrade_keeps_the_orgs_settings_and_lists_the_installed_version(sandbox_org):
    name = _post(sandbox_org, "/v1/apps/available", APP).json()["data"]["attributes"]["app"]
    assert _get(sandbox_org, "/v1/apps").json()["data"] == []
    assert _post(sandbox_org, "/v1/apps/install", {"app": "nope", "version": "0.0.1"}).status_code == 404
    installed = _post(sandbox_org, "/v1/apps/install", {"app": name, "version": "0.0.1"})
    assert installed.status_code == 200, installed.text
    assert installed.json()["data"]["attributes"]["settings"] == {"default": {"host": "http://127.0.0.1:9"}}
    _post(sandbox_org, "/v1/apps/available", dict(APP, version="0.2.0"))
    page = requests.get(f"{sandbox_org.base_url}/__sandbox/apps/{sandbox_org.org_id}", timeout=10).text
    assert "Attention required" in page and "Upgrade available: 0.2.0" in page
    # The admin presses Upgrade in Manage Apps (Kustomer's UI).
    requests.post(f"{sandbox_org.base_url}/__sandbox/apps/{sandbox_org.org_id}/upgrade", data={"app": name}, timeout=10)
    (app,) = _get(sandbox_org, "/v1/apps").json()["data"]
    assert app["attributes"]["version"] == "0.2.0" and app["attributes"]["status"] == "installed"
    assert _post(sandbox_org, "/v1/apps/install", {"app": name, "version": "0.0.1"}).status_code == 400  # no downgrade


def test_the_agent_desktop_renders_installed_widgets_from_their_definitions(sandbox_org):
    desktop = f"{sandbox_org.base_url}/__sandbox/desktop/{sandbox_org.org_id}"
    assert 'data-testid="no-widgets"' in requests.get(desktop, timeout=10).text
    name = _post(sandbox_org, "/v1/apps/available", APP).json()["data"]["attributes"]["app"]
    _post(sandbox_org, "/v1/apps/install", {"app": name})
    page = requests.get(desktop, params={"locale": "ko_kr"}, timeout=10).text
    config = json.loads(re.search(r'id="desktop-config">(.*?)</script>', page, re.S).group(1))
    (widget,) = config["widgets"]
    assert widget["src"] == "http://127.0.0.1:9/phone/" and widget["origin"] == "http://127.0.0.1:9"
    assert widget["title"] == "전화" and widget["version"] == "0.0.1"
    assert 'allow="microphone *;"' in page and "width:25vw;height:60vh" in page
    sdk = requests.get(f"{sandbox_org.base_url}/__sandbox/card-js/kustomer-card.min.js", timeout=10)
    assert sdk.headers["Content-Type"].startswith("application/javascript")
    for method in ("initialize", "on", "resize", "close", "request"):
        assert f"    {method}: function" in sdk.text


def test_registering_needs_the_org_admin_apps_role_and_reading_an_apps_read_role(sandbox_org):
    reader = sandbox_org.add_api_key(["org.permission.apps.read"])
    admin = sandbox_org.add_api_key(["org.admin.apps"])
    url = f"{sandbox_org.base_url}/v1/apps/available"
    refused = requests.post(url, json=APP, headers={"Authorization": f"Bearer {reader}"}, timeout=10)
    assert refused.status_code == 403 and "org.admin.apps" in refused.text
    assert requests.post(url, json=APP, headers={"Authorization": f"Bearer {admin}"}, timeout=10).status_code == 200
    listed = requests.get(f"{sandbox_org.base_url}/v1/apps", headers={"Authorization": f"Bearer {reader}"}, timeout=10)
    assert listed.status_code == 200
