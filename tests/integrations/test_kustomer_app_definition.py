"""R-X4: the tenant's Kustomer app definition, checked against the shape Kustomer's docs
give ("App definition anatomy", "Widgets", "Internationalization", "Voice / VoIP
apps"), as the sandbox's Apps Platform enforces it; and the install-state rule."""
from __future__ import annotations

import copy

import pytest

from integrations import rules
from integrations.kustomer.app_definition import build_app_definition
from kustomer_sandbox.apps_platform import SETTING_REF, TOP_LEVEL_KEYS, definition_errors

ORG_ID = "5f8481c6a22ab5b9d5f2dd8a"


def _definition(version: str = "1.0.0", org_id: str = ORG_ID) -> dict:
    plan = rules.plan_kustomer_app(tenant_slug="acme", tenant_name="Acme", org_id=org_id,
                                   portal_url="https://portal.example.com/", product_version=version,
                                   external_queue="Contact Center")
    return build_app_definition(plan)


def test_r_x4_app_definition_validates_against_the_documented_shape():
    definition = _definition()
    assert definition_errors(definition) == []
    assert set(definition) <= TOP_LEVEL_KEYS
    # "Namespacing for private apps": the name carries _<orgId>; version and titles.
    assert definition["app"] == f"ccaip_contact_center_{ORG_ID}" and definition["visibility"] == "private"
    assert definition["version"] == "1.0.0" and definition["title"]


def test_r_x4_the_widget_is_the_adapter_with_microphone_and_viewport_size():
    definition = _definition()
    (widget,) = definition["widgets"]
    assert widget["url"] == "{{{settings.default.portalUrl}}}/adapter/?tenant={{{settings.default.tenant}}}"
    settings = definition["settings"]["default"]
    assert settings["portalUrl"]["defaultValue"] == "https://portal.example.com"
    assert settings["tenant"]["defaultValue"] == "acme"
    assert {("default", "portalUrl"), ("default", "tenant")} == set(SETTING_REF.findall(widget["url"]))
    assert "microphone" in widget["iframePermissions"]
    assert widget["width"].endswith("vw") and widget["height"].endswith("vh")
    assert widget["icon"].startswith("https://portal.example.com/static/adapter/")


def test_r_x4_titles_and_descriptions_in_english_and_korean():
    definition = _definition()
    app = definition["app"]
    for locale in ("en_us", "ko_kr"):
        strings = definition["i18n"][locale]
        assert strings[f"{app}.widgets.adapter.title"]
        assert strings[f"{app}.settings.page.title"] and strings[f"{app}.settings.page.description"]
        assert strings[f"{app}.settings.path.default.portalUrl.displayName"]
    assert definition["i18n"]["ko_kr"][f"{app}.widgets.adapter.title"] == "컨택 센터"


def test_r_x4_a_voice_app_declares_its_external_queue_and_data_subscriptions():
    definition = _definition()
    assert definition["meta"]["externalQueue"] == {"name": "Contact Center"}
    assert definition["dataSubscriptions"]


@pytest.mark.parametrize("break_it, pointer", [
    (lambda d: d.update(unknownKey=1), "/unknownKey"),
    (lambda d: d.pop("title"), "/title"),
    (lambda d: d.update(version="1.0"), "/version"),
    (lambda d: d["widgets"][0].pop("icon"), "/widgets/0/icon"),
    (lambda d: d["widgets"][0].update(url="{{{settings.default.missing}}}/x"), "/widgets/0/url"),
    (lambda d: d["widgets"][0].update(width="wide"), "/widgets/0/width"),
    (lambda d: d["meta"].update(externalQueue=""), "/meta/externalQueue"),
])
def test_r_x4_the_sandbox_refuses_what_kustomer_would(break_it, pointer):
    definition = copy.deepcopy(_definition())
    break_it(definition)
    assert pointer in [p for p, _ in definition_errors(definition)]


def test_r_x4_plan_refuses_a_version_kustomer_would_refuse_and_a_bad_portal_url():
    with pytest.raises(ValueError):
        _definition(version="v2")
    with pytest.raises(ValueError):
        rules.plan_kustomer_app(tenant_slug="a", tenant_name="A", org_id="", portal_url="ftp://x",
                                product_version="1.0.0", external_queue="q")
    assert _definition(org_id="")["app"] == "ccaip_contact_center"  # Kustomer namespaces it


@pytest.mark.parametrize("product, registered, installed, state", [
    ("1.0.0", [], None, rules.AppInstallState.NOT_INSTALLED),
    ("1.0.0", ["1.0.0"], None, rules.AppInstallState.NOT_INSTALLED),
    ("1.0.0", ["1.0.0"], "1.0.0", rules.AppInstallState.CURRENT),
    ("1.1.0", ["1.0.0"], "1.0.0", rules.AppInstallState.NEW_VERSION),
    ("1.1.0", ["1.0.0", "1.1.0"], "1.0.0", rules.AppInstallState.UPGRADE_IN_KUSTOMER),
    ("1.0.0", ["1.0.0", "1.0.10"], "1.0.10", rules.AppInstallState.CURRENT),  # semver, not text order
    ("1.1.0", ["1.1.0-beta"], "1.1.0-beta", rules.AppInstallState.NEW_VERSION),
])
def test_r_x4_install_state(product, registered, installed, state):
    assert rules.decide_app_install_state(product_version=product, registered_versions=registered,
                                          installed_version=installed) is state
    assert state.upgrade_available == (state in (rules.AppInstallState.NEW_VERSION, rules.AppInstallState.UPGRADE_IN_KUSTOMER))
