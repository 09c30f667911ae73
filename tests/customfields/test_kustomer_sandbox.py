"""Custom fields against the Kustomer sandbox (real HTTP): R-F2 creation in Kustomer's
metadata, merging with what others made, adoption and type conflicts, Kustomer errors
shown with a retry that works once the cause is fixed."""
from __future__ import annotations

import pytest
import requests
import responses

from customfields import rules
from customfields.models import CustomField
from integrations.models import KustomerConnection
from core.crypto import encrypt_secret

pytestmark = pytest.mark.django_db
URL = "/api/v1/custom-fields"
PAGE = "/settings/custom-fields/"


def kustomer_metadata(sandbox_org, klass: str) -> dict:
    """The klass's attribute definitions, read back through the sandbox's Kustomer API."""
    response = sandbox_org.session().get(f"{sandbox_org.base_url}/v1/metadata/{klass}", timeout=5)
    assert response.status_code == 200, response.text
    return response.json()["data"]["attributes"]["properties"]


def put_metadata_as_someone_else(sandbox_org, klass: str, properties: dict) -> None:
    response = sandbox_org.session().put(
        f"{sandbox_org.base_url}/v1/metadata/{klass}", json={"properties": properties}, timeout=5
    )
    assert response.status_code == 200, response.text


def create(api, capture, payload) -> CustomField:
    """POST through the API and run the queued Kustomer push (Celery is eager in tests)."""
    with capture(execute=True):
        response = api.post(URL, payload, format="json")
    assert response.status_code == 201, response.json()
    return CustomField.objects.get(pk=response.json()["id"])


def metadata_writes(sandbox_org) -> list[dict]:
    return sandbox_org.requests(method="PUT", path_contains="/metadata/")


@pytest.mark.parametrize("key", [d.key for d in rules.CATALOGUE])
def test_r_f2_creating_each_catalogue_field_makes_the_attribute_in_kustomer(
    key, api, sandbox_connection, sandbox_org, django_capture_on_commit_callbacks
):
    definition = rules.CATALOGUE_BY_KEY[key]
    field = create(api, django_capture_on_commit_callbacks, {"key": key})
    assert (field.state, field.error, field.adopted, field.attempts) == ("created", "", False, 1)
    assert field.created_at is not None
    properties = kustomer_metadata(sandbox_org, definition.klass.value)
    assert definition.attribute_name in properties
    assert properties[definition.attribute_name]["displayName"] == definition.display_name
    assert properties[definition.attribute_name]["type"] == definition.value_type.kustomer_type
    shown = api.get(f"{URL}/{field.pk}").json()
    assert (shown["state"], shown["attribute_name"]) == ("created", definition.attribute_name)


def test_r_f2_an_sdk_field_is_created_with_its_derived_name_and_display_name(
    api, sandbox_connection, sandbox_org, django_capture_on_commit_callbacks
):
    field = create(api, django_capture_on_commit_callbacks, {"sdk_key": "loyalty_tier", "display_name": "Loyalty tier", "type": "Str"})
    assert field.state == "created"
    assert kustomer_metadata(sandbox_org, "message")["loyaltyTierStr"]["displayName"] == "Loyalty tier"
    assert "loyaltyTierStr" not in kustomer_metadata(sandbox_org, "customer")


@pytest.fixture
def sent_bodies(monkeypatch):
    """JSON bodies our client sends (the requests still go out to the sandbox)."""
    sent: list[tuple[str, str, object]] = []
    original = requests.Session.request

    def spy(self, method, url, *args, **kwargs):
        sent.append((method, url, kwargs.get("json")))
        return original(self, method, url, *args, **kwargs)

    monkeypatch.setattr(requests.Session, "request", spy)
    return sent


def test_r_f2_attributes_someone_else_made_survive_our_creates(
    api, sandbox_connection, sandbox_org, django_capture_on_commit_callbacks, sent_bodies
):
    put_metadata_as_someone_else(
        sandbox_org, "message", {"orderNoteTxt": {"displayName": "Order note (theirs)"}, "tierStr": {"displayName": "Tier", "enumeration": ["gold", "silver"]}}
    )
    create(api, django_capture_on_commit_callbacks, {"key": "queue_name"})
    create(api, django_capture_on_commit_callbacks, {"key": "call_duration"})
    properties = kustomer_metadata(sandbox_org, "message")
    assert set(properties) == {"orderNoteTxt", "tierStr", "queueNameStr", "callDurationNum"}
    assert properties["orderNoteTxt"]["displayName"] == "Order note (theirs)"
    assert properties["tierStr"]["enumeration"] == ["gold", "silver"]
    # Each PUT carried every attribute already there (without Kustomer's bookkeeping), so
    # it is safe whether Kustomer merges the properties or replaces them.
    puts = [body for method, url, body in sent_bodies if method == "PUT" and url.endswith("/v1/metadata/message")]
    assert len(puts) == 3  # theirs, then ours twice
    assert puts[-1]["properties"] == {
        "orderNoteTxt": {"displayName": "Order note (theirs)", "type": "text"},
        "tierStr": {"displayName": "Tier", "enumeration": ["gold", "silver"], "type": "string"},
        "queueNameStr": {"displayName": "Queue name", "type": "string"},
        "callDurationNum": {"displayName": "Call duration"},
    }


def test_an_existing_attribute_with_the_same_name_and_type_is_adopted_untouched(
    api, sandbox_connection, sandbox_org, django_capture_on_commit_callbacks
):
    put_metadata_as_someone_else(sandbox_org, "message", {"queueNameStr": {"displayName": "Queue (set up by hand)"}})
    writes_before = len(metadata_writes(sandbox_org))
    field = create(api, django_capture_on_commit_callbacks, {"key": "queue_name"})
    assert (field.state, field.adopted) == ("created", True)
    assert kustomer_metadata(sandbox_org, "message")["queueNameStr"]["displayName"] == "Queue (set up by hand)"
    assert len(metadata_writes(sandbox_org)) == writes_before  # nothing written


def test_an_existing_attribute_of_another_type_is_reported_not_overwritten(
    api, admin_client, sandbox_connection, sandbox_org, django_capture_on_commit_callbacks
):
    put_metadata_as_someone_else(sandbox_org, "message", {"queueNameTxt": {"displayName": "Queue name"}})
    writes_before = len(metadata_writes(sandbox_org))
    field = create(api, django_capture_on_commit_callbacks, {"key": "queue_name"})
    assert field.state == "failed"
    assert "Kustomer already has queueNameTxt (text)" in field.error and "queueNameStr (string)" in field.error
    assert set(kustomer_metadata(sandbox_org, "message")) == {"queueNameTxt"}
    assert len(metadata_writes(sandbox_org)) == writes_before
    page = admin_client.get(PAGE).content.decode()
    assert "Kustomer already has queueNameTxt (text)" in page


def test_a_401_from_kustomer_fails_the_field_with_kustomers_error_and_retry_works_once_the_key_is_fixed(
    api, admin_client, tenant, sandbox_org, django_capture_on_commit_callbacks
):
    connection = KustomerConnection.objects.create(
        tenant=tenant, base_url=sandbox_org.base_url, api_key_encrypted=encrypt_secret("not-the-orgs-key")
    )
    field = create(api, django_capture_on_commit_callbacks, {"key": "hold_time"})
    assert field.state == "failed"
    assert field.error.startswith("Kustomer 401 unauthorized: Unauthorized")
    assert "not-the-orgs-key" not in field.error
    connection.refresh_from_db()
    assert "401" in connection.last_error  # the connection page shows it too

    page = admin_client.get(PAGE).content.decode()
    assert "Kustomer 401 unauthorized: Unauthorized" in page
    assert f'action="/settings/custom-fields/{field.pk}/retry/"' in page

    KustomerConnection.objects.filter(pk=connection.pk).update(api_key_encrypted=encrypt_secret(sandbox_org.api_key))
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/settings/custom-fields/{field.pk}/retry/", follow=True)
    assert "Trying again to create &#x27;Hold time&#x27; in Kustomer." in response.content.decode()
    field.refresh_from_db()
    assert (field.state, field.error, field.attempts) == ("created", "", 2)
    assert kustomer_metadata(sandbox_org, "message")["holdTimeNum"]["displayName"] == "Hold time"


def test_a_400_from_kustomer_fails_the_field_with_kustomers_error_and_retry_works_once_fixed(
    api, admin_client, sandbox_connection, sandbox_org, django_capture_on_commit_callbacks
):
    # The sandbox never refuses our well-formed PUT, so Kustomer's 400 is played by
    # `responses` for that one request; everything else goes to the sandbox.
    kustomer_400 = {"errors": [{"status": 400, "code": "badparam", "title": "Too many custom attributes",
                                "source": {"parameter": "properties"}, "detail": "/properties/properties/maxProperties"}]}
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.add_passthru(sandbox_org.base_url)
        mock.add(responses.PUT, f"{sandbox_org.base_url}/v1/metadata/message", json=kustomer_400, status=400)
        field = create(api, django_capture_on_commit_callbacks, {"key": "wait_time"})
    assert field.state == "failed"
    expected = "Kustomer 400 badparam: Too many custom attributes: /properties/properties/maxProperties (parameter: properties)"
    assert field.error.startswith(expected)
    assert expected in admin_client.get(PAGE).content.decode()
    assert "waitTimeNum" not in kustomer_metadata(sandbox_org, "message")

    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(f"{URL}/{field.pk}/retry").status_code == 202
    field.refresh_from_db()
    assert (field.state, field.error) == ("created", "")
    assert "waitTimeNum" in kustomer_metadata(sandbox_org, "message")


def test_a_transient_kustomer_error_is_retried_by_the_task(
    eager_retries, api, sandbox_connection, sandbox_org, django_capture_on_commit_callbacks
):
    sandbox_org.inject_faults(error_next=2, error_status=503, methods=["PUT"], path_contains="/metadata/")
    field = create(api, django_capture_on_commit_callbacks, {"key": "session_type"})
    assert (field.state, field.attempts) == ("created", 3)
    assert "sessionTypeStr" in kustomer_metadata(sandbox_org, "message")


def test_a_kustomer_outage_past_the_retry_cap_fails_the_field_with_the_error(
    eager_retries, api, sandbox_connection, sandbox_org, django_capture_on_commit_callbacks
):
    sandbox_org.inject_faults(error_next=100, error_status=503, path_contains="/metadata/")
    field = create(api, django_capture_on_commit_callbacks, {"key": "session_id"})
    assert field.state == "failed"
    assert field.attempts == 7  # the first try and six retries
    assert field.error.startswith("Kustomer 503") and "gave up after 7 attempts" in field.error
    sandbox_org.clear_faults()
    with django_capture_on_commit_callbacks(execute=True):
        api.post(f"{URL}/{field.pk}/retry")
    field.refresh_from_db()
    assert field.state == "created"


def test_r_f4_deleting_a_created_field_leaves_kustomers_attribute_alone(
    api, sandbox_connection, sandbox_org, django_capture_on_commit_callbacks
):
    field = create(api, django_capture_on_commit_callbacks, {"key": "csat_rating"})
    calls_before = len(sandbox_org.requests())
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"{URL}/{field.pk}").status_code == 204
    assert len(sandbox_org.requests()) == calls_before  # nothing sent to Kustomer
    assert "csatRatingNum" in kustomer_metadata(sandbox_org, "message")


def test_a_field_deleted_before_its_push_ran_is_not_created_in_kustomer(
    api, sandbox_connection, sandbox_org, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        field_id = api.post(URL, {"key": "csat_comment"}, format="json").json()["id"]
    api.delete(f"{URL}/{field_id}")
    for callback in callbacks:
        callback()
    assert sandbox_org.requests(path_contains="/metadata/") == []  # the push never called Kustomer
    assert "csatCommentTxt" not in kustomer_metadata(sandbox_org, "message")
