"""`/api/v1/custom-fields` (CONTRACT.md): shapes, refusals (R-F4), scopes, isolation (R-A1)."""
from __future__ import annotations

import pytest

from customfields.models import CustomField
from tests.conftest import api_client_with_scopes
from tests.customfields.factories import CustomFieldFactory, SdkFieldFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/custom-fields"


def test_creating_a_catalogue_field_answers_201_pending_with_its_kustomer_attribute(api, connected):
    response = api.post(URL, {"key": "queue_name"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body | {"id": None, "requested_at": None} == {
        "id": None, "kind": "catalogue", "group": "record", "key": "queue_name", "sdk_key": None, "klass": "message",
        "attribute_name": "queueNameStr", "display_name": "Queue name", "type": "Str", "state": "pending",
        "error": "", "adopted": False, "attempts": 0, "requested_at": None, "created_at": None, "last_attempt_at": None,
    }
    assert CustomField.objects.get(pk=body["id"]).tenant == connected.tenant


def test_account_field_is_in_the_account_group(api, connected):
    body = api.post(URL, {"key": "custom_user_id"}, format="json").json()
    assert (body["group"], body["klass"], body["attribute_name"]) == ("account", "customer", "customUserIdStr")


def test_r_f4_creating_the_same_field_twice_is_refused_with_409(api, connected):
    assert api.post(URL, {"key": "csat_rating"}, format="json").status_code == 201
    again = api.post(URL, {"key": "csat_rating"}, format="json")
    assert again.status_code == 409
    body = again.json()
    assert "'CSAT rating' already exists" in body["detail"]
    assert body["errors"]["key"] == [body["detail"]]
    assert CustomField.objects.filter(catalogue_key="csat_rating").count() == 1


def test_r_f4_an_sdk_field_cannot_take_an_attribute_another_field_uses(api, connected):
    api.post(URL, {"key": "queue_name"}, format="json")
    clash = api.post(URL, {"sdk_key": "queue_name", "display_name": "Queue", "type": "Str"}, format="json")
    assert clash.status_code == 409
    assert clash.json()["errors"]["sdk_key"] == [
        "The Kustomer attribute queueNameStr of Record (Kustomer message) is already used by the field 'Queue name' (pending)."
    ]
    # the same name on the other klass is another Kustomer attribute: allowed
    other = api.post(URL, {"sdk_key": "queue_name", "display_name": "Queue", "type": "Str", "klass": "customer"}, format="json")
    assert other.status_code == 201


def test_sdk_field_is_created_with_a_derived_attribute_name(api, connected):
    response = api.post(URL, {"sdk_key": "order_total", "display_name": " Order total ", "type": "Num"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert (body["kind"], body["group"], body["sdk_key"], body["key"]) == ("sdk", "sdk", "order_total", None)
    assert (body["attribute_name"], body["display_name"], body["type"], body["klass"]) == (
        "orderTotalNum", "Order total", "Num", "message",
    )


@pytest.mark.parametrize(
    "payload, field, words",
    [
        ({"sdk_key": "1st", "display_name": "First", "type": "Str"}, "sdk_key", "must start with a letter"),
        ({"sdk_key": "!!", "display_name": "Bangs", "type": "Str"}, "sdk_key", "no letters or digits"),
        ({"sdk_key": "orderId", "display_name": "  ", "type": "Str"}, "display_name", "Enter the name"),
        ({"sdk_key": "orderId", "display_name": "Order", "type": "Id"}, "type", "not a valid choice"),
        ({"sdk_key": "orderId", "display_name": "Order"}, "type", "required for an SDK field"),
        ({"sdk_key": "orderId", "display_name": "Order", "type": "Str", "klass": "conversation"}, "klass", "not a valid choice"),
        ({"key": "queue_name", "sdk_key": "orderId"}, "key", "Send either"),
        ({}, "key", "Send either"),
        ({"key": "no_such_field"}, "key", "No catalogue field 'no_such_field'"),
    ],
)
def test_bad_input_answers_400_naming_the_field(api, connected, payload, field, words):
    response = api.post(URL, payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert words in " ".join(body["errors"][field]), body
    assert CustomField.objects.count() == 0


def test_display_name_and_key_errors_come_together(api, connected):
    body = api.post(URL, {"sdk_key": "9lives", "display_name": "", "type": "Str"}, format="json").json()
    assert set(body["errors"]) == {"sdk_key", "display_name"}


def test_creating_without_a_kustomer_connection_is_refused(api, tenant):
    response = api.post(URL, {"key": "queue_name"}, format="json")
    assert response.status_code == 400
    assert "Connect this tenant to Kustomer first" in response.json()["detail"]


def test_list_gives_the_fields_and_the_catalogue(api, tenant):
    field = CustomFieldFactory(tenant=tenant, catalogue_key="hold_time")
    SdkFieldFactory(tenant=tenant, deleted_at=field.created_at)  # deleted: not listed
    body = api.get(URL).json()
    assert [f["id"] for f in body["fields"]] == [field.pk]
    by_key = {entry["key"]: entry for entry in body["catalogue"]}
    assert len(by_key) == 12
    assert by_key["hold_time"]["field_id"] == field.pk
    assert by_key["queue_name"] == {
        "key": "queue_name", "group": "record", "klass": "message", "attribute_name": "queueNameStr",
        "display_name": "Queue name", "type": "Str", "description": by_key["queue_name"]["description"], "field_id": None,
    }


def test_get_one_field(api, tenant):
    field = CustomFieldFactory(tenant=tenant, catalogue_key="wait_time")
    body = api.get(f"{URL}/{field.pk}").json()
    assert (body["id"], body["state"], body["attribute_name"]) == (field.pk, "created", "waitTimeNum")
    assert body["created_at"] is not None


def test_r_f4_delete_answers_204_then_the_field_is_gone_and_can_be_created_again(api, connected):
    field = CustomFieldFactory(tenant=connected.tenant, catalogue_key="queue_name")
    assert api.delete(f"{URL}/{field.pk}").status_code == 204
    assert api.get(f"{URL}/{field.pk}").status_code == 404
    assert api.delete(f"{URL}/{field.pk}").status_code == 404
    field.refresh_from_db()
    assert field.deleted_at is not None and field.state == "created"  # kept as history
    again = api.post(URL, {"key": "queue_name"}, format="json")
    assert again.status_code == 201 and again.json()["id"] != field.pk


def test_retry_queues_a_failed_field_again(api, connected):
    field = CustomFieldFactory(tenant=connected.tenant, state="failed", created_at=None, error="Kustomer 401 unauthorized")
    response = api.post(f"{URL}/{field.pk}/retry")
    assert response.status_code == 202
    assert (response.json()["state"], response.json()["error"]) == ("pending", "")


@pytest.mark.parametrize("state, words", [("created", "already created"), ("pending", "being created")])
def test_retry_of_a_field_that_is_not_failed_is_refused_with_409(api, connected, state, words):
    field = CustomFieldFactory(tenant=connected.tenant, state=state)
    response = api.post(f"{URL}/{field.pk}/retry")
    assert response.status_code == 409
    assert words in response.json()["detail"]


# ------------------------------------------------------------------ R-A1 and scopes
def test_r_a1_another_tenants_field_answers_404_everywhere(api, connected, other_tenant):
    foreign = CustomFieldFactory(tenant=other_tenant, state="failed")
    assert api.get(f"{URL}/{foreign.pk}").status_code == 404
    assert api.post(f"{URL}/{foreign.pk}/retry").status_code == 404
    assert api.delete(f"{URL}/{foreign.pk}").status_code == 404
    assert foreign.pk not in [f["id"] for f in api.get(URL).json()["fields"]]
    foreign.refresh_from_db()
    assert (foreign.state, foreign.deleted_at) == ("failed", None)


def test_r_a1_support_staff_act_on_the_tenant_they_name(client, support_user, tenant, other_tenant):
    CustomFieldFactory(tenant=other_tenant, catalogue_key="session_id")
    client.force_login(support_user)
    body = client.get(URL, HTTP_X_TENANT="globex").json()
    assert [f["attribute_name"] for f in body["fields"]] == ["sessionIdStr"]
    assert client.get(URL, HTTP_X_TENANT="acme").json()["fields"] == []


def test_a_read_only_key_can_read_but_not_change(connected):
    field = CustomFieldFactory(tenant=connected.tenant, state="failed")
    reader = api_client_with_scopes(connected.tenant, "config:read")
    assert reader.get(URL).status_code == 200
    assert reader.get(f"{URL}/{field.pk}").status_code == 200
    for response in (
        reader.post(URL, {"key": "hold_time"}, format="json"),
        reader.delete(f"{URL}/{field.pk}"),
        reader.post(f"{URL}/{field.pk}/retry"),
    ):
        assert response.status_code == 403
        assert "config:write" in response.json()["detail"]
    field.refresh_from_db()
    assert (field.state, field.deleted_at) == ("failed", None)
    assert not CustomField.objects.filter(catalogue_key="hold_time").exists()


def test_an_events_key_cannot_read_configuration(tenant):
    assert api_client_with_scopes(tenant, "events:write").get(URL).status_code == 403


def test_without_credentials_the_api_answers_401_or_403(client, db):
    assert client.get(URL).status_code in (401, 403)


def test_the_openapi_document_describes_the_endpoints(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    for path in ("/api/v1/custom-fields", "/api/v1/custom-fields/{id}", "/api/v1/custom-fields/{id}/retry"):
        assert path in schema
    assert "custom_fields_create" in schema and "attribute_name" in schema


@pytest.mark.django_db
def test_r_a1_retry_of_another_tenants_field_is_404_even_without_a_connection(api, tenant, other_tenant):
    """The lookup comes before any check of the caller's own set-up: nothing about
    another tenant's ids can be learnt from the answer."""
    from tests.customfields.factories import CustomFieldFactory

    foreign = CustomFieldFactory(tenant=other_tenant, state="failed")
    response = api.post(f"/api/v1/custom-fields/{foreign.pk}/retry")
    assert response.status_code == 404
