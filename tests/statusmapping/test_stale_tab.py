"""Issue 13 #5: forms that edit a whole set refuse a save based on an older version of
the tenant's configuration (a stale second tab), with a clear message and the current
values; nothing they sent is saved."""
import re

import pytest
from django.test import Client

from statusmapping import services
from statusmapping.models import KustomerStatus, StatusInheritanceSettings
from tests.statusmapping.factories import KustomerStatusFactory

pytestmark = pytest.mark.django_db


def _version(page) -> str:
    return re.search(r'name="config_version" value="(\d+)"', page.content.decode()).group(1)


def _second_tab(tenant_admin) -> Client:
    tab = Client()
    tab.force_login(tenant_admin)
    return tab


def test_stale_tab_save_of_the_status_map_is_refused_with_the_current_values(admin_client, tenant, tenant_admin):
    services.cc_status_ensure_defaults(tenant=tenant)
    KustomerStatusFactory(tenant=tenant, kustomer_id="k1", name="Lunch")
    KustomerStatusFactory(tenant=tenant, kustomer_id="k2", name="Coaching")
    tab_b = _second_tab(tenant_admin)
    version_a = _version(admin_client.get("/settings/status-mapping/"))
    version_b = _version(tab_b.get("/settings/status-mapping/"))
    assert version_a == version_b

    saved = admin_client.post("/settings/status-mapping/", {"config_version": version_a, "map:k1": "Lunch",
                                                            "map:k2": ""})
    assert saved.status_code == 302
    stale = tab_b.post("/settings/status-mapping/", {"config_version": version_b, "map:k1": "", "map:k2": "Training"})
    assert stale.status_code == 409
    text = stale.content.decode()
    assert "changed since you opened this page" in text and "Nothing was saved" in text
    assert re.search(r'name="map:k1".*?<option value="Lunch"\s*selected', text, re.S)  # the current map
    assert _version(stale) != version_b  # saving again from here works
    lunch, coaching = KustomerStatus.objects.get(kustomer_id="k1"), KustomerStatus.objects.get(kustomer_id="k2")
    assert lunch.cc_status.name == "Lunch" and coaching.cc_status_id is None

    again = tab_b.post("/settings/status-mapping/", {"config_version": _version(stale), "map:k1": "Lunch",
                                                     "map:k2": "Training"})
    assert again.status_code == 302
    coaching.refresh_from_db()
    assert coaching.cc_status.name == "Training"


def test_stale_tab_save_of_the_two_way_choices_is_refused(admin_client, tenant, tenant_admin):
    services.cc_status_ensure_defaults(tenant=tenant)
    KustomerStatusFactory(tenant=tenant, kustomer_id="k1", name="Lunch")
    version = _version(admin_client.get("/settings/status-mapping/"))
    admin_client.post("/settings/status-mapping/", {"config_version": version, "push-shown": "1", "push:Lunch": "k1"})
    stale = _second_tab(tenant_admin).post("/settings/status-mapping/", {
        "config_version": version, "push-shown": "1", "push:Lunch": ""})
    assert stale.status_code == 409
    from statusmapping.models import CCStatus
    assert CCStatus.objects.get(tenant=tenant, name="Lunch").push_kustomer_status_id == "k1"


def test_stale_tab_save_of_the_agent_status_settings_is_refused(admin_client, tenant, tenant_admin):
    services.inheritance_settings_ensure(tenant=tenant)
    tab_b = _second_tab(tenant_admin)
    version = _version(admin_client.get("/settings/agent-status/"))
    form = {"priority": "LATEST_WINS", "direction": "ONE_WAY", "watch_interval_seconds": "5"}
    assert admin_client.post("/settings/agent-status/", {**form, "config_version": version,
                                                         "watch_interval_seconds": "30"}).status_code == 302
    stale = tab_b.post("/settings/agent-status/", {**form, "config_version": version, "watch_interval_seconds": "7"})
    assert stale.status_code == 409
    assert 'value="30"' in stale.content.decode()  # the current value, not the stale tab's
    assert StatusInheritanceSettings.objects.get(tenant=tenant).watch_interval_seconds == 30


def test_an_unchanged_periodic_status_refresh_does_not_make_open_forms_stale(tenant, sandbox_demo_org,
                                                                              django_capture_on_commit_callbacks):
    from integrations import services as connection_services

    with django_capture_on_commit_callbacks(execute=True):
        connection_services.kustomer_connection_save(tenant=tenant, base_url=sandbox_demo_org.base_url,
                                                     api_key=sandbox_demo_org.api_key)
    services.kustomer_statuses_refresh(tenant_id=tenant.pk)
    tenant.refresh_from_db()
    version = tenant.config_version
    services.kustomer_statuses_refresh(tenant_id=tenant.pk)
    tenant.refresh_from_db()
    assert tenant.config_version == version


def test_whole_set_forms_warn_before_leaving_with_unsaved_changes(admin_client, tenant):
    for url in ("/settings/status-mapping/", "/settings/agent-status/"):
        page = admin_client.get(url).content.decode()
        assert "data-unsaved-warn" in page and "portal/unsaved.js" in page


def test_the_api_refuses_a_stale_put_of_the_map_and_the_settings(api, tenant):
    services.cc_status_ensure_defaults(tenant=tenant)
    KustomerStatusFactory(tenant=tenant, kustomer_id="k1", name="Lunch")
    version = api.get("/api/v1/status-mapping").json()["config_version"]
    first = api.put("/api/v1/status-mapping", {"mapping": {"k1": "Lunch"}, "config_version": version}, format="json")
    assert first.status_code == 200 and first.json()["config_version"] > version
    stale = api.put("/api/v1/status-mapping", {"mapping": {"k1": None}, "config_version": version}, format="json")
    assert stale.status_code == 409 and "config_version" in stale.json()["errors"]
    assert KustomerStatus.objects.get(kustomer_id="k1").cc_status.name == "Lunch"

    settings_version = api.get("/api/v1/status-inheritance").json()["config_version"]
    assert api.put("/api/v1/status-inheritance", {"watch_interval_seconds": 9, "config_version": settings_version},
                   format="json").status_code == 200
    refused = api.put("/api/v1/status-inheritance", {"watch_interval_seconds": 3, "config_version": settings_version},
                      format="json")
    assert refused.status_code == 409
    assert StatusInheritanceSettings.objects.get(tenant=tenant).watch_interval_seconds == 9
    assert api.put("/api/v1/status-inheritance", {"watch_interval_seconds": 4}, format="json").status_code == 200
