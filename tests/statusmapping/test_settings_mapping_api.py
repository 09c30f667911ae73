"""R-S1 availability and settings, R-S2/R-S3 map and CC statuses through the API."""
from rest_framework.test import APIClient

from statusmapping.models import CCStatus, KustomerStatus
from tests.statusmapping.factories import KustomerStatusFactory, inheritance_on

AVAILABILITY = "/api/v1/support/tenants/{}/status-inheritance-availability"


def test_r_s1_tenant_admin_cannot_enable_until_support_makes_it_available(api, tenant, support_user, admin_client):
    response = api.put("/api/v1/status-inheritance", {"enabled": True}, format="json")
    assert response.status_code == 400 and "enabled" in response.json()["errors"]
    assert api.get("/api/v1/status-inheritance").json()["enabled"] is False

    # Only support staff: an API key and a tenant admin are refused.
    assert api.post(AVAILABILITY.format("acme"), {"available": True}, format="json").status_code in (401, 403)
    assert admin_client.post(AVAILABILITY.format("acme"), {"available": True},
                             content_type="application/json").status_code == 403
    support = APIClient()
    support.force_login(support_user)
    assert support.post(AVAILABILITY.format("nope"), {"available": True}, format="json").status_code == 404
    answer = support.post(AVAILABILITY.format("acme"), {"available": True}, format="json")
    assert answer.status_code == 200 and answer.json() == {"tenant": "acme", "available": True, "enabled": False}

    response = api.put("/api/v1/status-inheritance",
                       {"enabled": True, "priority": "CRM_OVERRIDES", "inherit_on_login": True}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["enabled"], body["priority"], body["direction"], body["inherit_on_login"]) == (
        True, "CRM_OVERRIDES", "ONE_WAY", True)

    # Taking availability away turns inheritance off.
    support.post(AVAILABILITY.format("acme"), {"available": False}, format="json")
    assert api.get("/api/v1/status-inheritance").json()["enabled"] is False


def test_settings_put_validates_choices(api, tenant):
    response = api.put("/api/v1/status-inheritance", {"priority": "WHATEVER"}, format="json")
    assert response.status_code == 400 and "priority" in response.json()["errors"]


def test_default_cc_statuses_and_admins_add_their_own(api, tenant):
    listed = api.get("/api/v1/cc-statuses").json()["results"]
    routable = {s["name"] for s in listed if s["routable"]}
    assert routable == {"Available", "In-chat"}
    assert {"Unavailable", "Break", "Lunch", "Meeting", "Training", "Wrap-up", "Offline"} <= {s["name"] for s in listed}
    assert {s["name"]: s["activity"] for s in listed}["Wrap-up"] == "wrap_up"
    created = api.post("/api/v1/cc-statuses", {"name": "Email work", "routable": False}, format="json")
    assert created.status_code == 201
    dup = api.post("/api/v1/cc-statuses", {"name": "email WORK"}, format="json")
    assert dup.status_code == 409 and "name" in dup.json()["errors"]


def test_r_s3_whole_map_saved_at_once_with_warnings(api, tenant):
    KustomerStatusFactory(tenant=tenant, kustomer_id="k-av", name="Available", status_type="available")
    KustomerStatusFactory(tenant=tenant, kustomer_id="k-off", name="Offline", status_type="offline")
    KustomerStatusFactory(tenant=tenant, kustomer_id="k-email", name="Email", status_type="busy")
    body = {"mapping": {"k-av": "Available", "k-off": "In-chat", "k-email": "Available"}}
    answer = api.put("/api/v1/status-mapping", body, format="json")
    assert answer.status_code == 200
    data = answer.json()
    assert data["mapping"] == {"k-av": "Available", "k-off": "In-chat", "k-email": "Available"}
    codes = {(w["kustomer_status_id"], w["code"]) for w in data["warnings"]}
    assert ("k-off", "routable_when_away") in codes and ("k-email", "routable_when_away") in codes

    # The whole map: a status left out is unmapped, and warned about.
    data = api.put("/api/v1/status-mapping", {"mapping": {"k-av": "Available"}}, format="json").json()
    assert data["mapping"] == {"k-av": "Available", "k-off": None, "k-email": None}
    assert {w["kustomer_status_id"] for w in data["warnings"] if w["code"] == "unmapped"} == {"k-off", "k-email"}


def test_r_s3_bad_map_is_refused_whole(api, tenant):
    KustomerStatusFactory(tenant=tenant, kustomer_id="k1", name="One", status_type="available")
    api.put("/api/v1/status-mapping", {"mapping": {"k1": "Available"}}, format="json")
    response = api.put("/api/v1/status-mapping", {"mapping": {"k1": "Break", "k-unknown": "Break"}}, format="json")
    assert response.status_code == 400 and "mapping.k-unknown" in response.json()["errors"]
    response = api.put("/api/v1/status-mapping", {"mapping": {"k1": "No such"}}, format="json")
    assert response.status_code == 400 and "mapping.k1" in response.json()["errors"]
    assert KustomerStatus.objects.get(kustomer_id="k1").cc_status.name == "Available"


def test_r_s9_push_choice_per_cc_status(api, tenant):
    KustomerStatusFactory(tenant=tenant, kustomer_id="k1", name="Available", status_type="available")
    KustomerStatusFactory(tenant=tenant, kustomer_id="k2", name="Away", status_type="unavailable")
    body = {"mapping": {"k1": "Available", "k2": "Break"}, "push": {"Available": "k1", "Lunch": "k2", "Break": "k2"}}
    data = api.put("/api/v1/status-mapping", body, format="json").json()
    assert data["push"]["Lunch"] == "k2" and data["push"]["Available"] == "k1" and data["push"]["Meeting"] is None
    # Leaving `push` out keeps the choices.
    api.put("/api/v1/status-mapping", {"mapping": {"k1": "Available"}}, format="json")
    assert CCStatus.objects.get(tenant=tenant, name="Lunch").push_kustomer_status_id == "k2"


def test_refresh_without_connection_is_a_clear_400(api, tenant):
    response = api.post("/api/v1/kustomer-statuses/refresh")
    assert response.status_code == 400 and "Kustomer" in response.json()["detail"]


def test_settings_of_other_tenant_not_reachable(api, tenant, other_tenant):
    inheritance_on(other_tenant)
    assert api.get("/api/v1/status-inheritance").json()["available"] is False
