"""The page Settings › Developer settings › Custom fields for Account and Record."""
from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from customfields.models import CustomField
from tests.customfields.factories import CustomFieldFactory, SdkFieldFactory

pytestmark = pytest.mark.django_db
PAGE = "/settings/custom-fields/"


def row(html: str, key: str) -> str:
    match = re.search(rf'<tr data-key="{key}".*?</tr>', html, re.S)
    assert match, f"no row for {key}"
    return match.group(0)


def test_the_page_lists_the_catalogue_in_account_and_record_groups(admin_client, connected):
    assert reverse("customfields:list") == PAGE
    html = admin_client.get(PAGE).content.decode()
    account = html[html.index('data-testid="account-fields"'):html.index('data-testid="record-fields"')]
    record = html[html.index('data-testid="record-fields"'):html.index("SDK custom data</h3>")]
    assert "Custom user ID" in account and "customUserIdStr" in account
    for name in ("Queue name", "Session type", "Session ID", "From phone number", "Call duration", "Hold time",
                 "Wait time", "CSAT rating", "CSAT comment", "Customer menu selection", "Email using In-Web"):
        assert name in record
    assert "Not created" in row(html, "queue_name") and 'data-testid="create"' in row(html, "queue_name")
    assert 'class="active">Custom fields for Account and Record' in html
    assert "Kustomer keeps the attribute and the data already in it" in html


def test_create_shows_the_field_pending_and_the_page_refreshes_itself(admin_client, connected):
    response = admin_client.post("/settings/custom-fields/create/queue_name/", follow=True)
    html = response.content.decode()
    assert "Creating &#x27;Queue name&#x27; as queueNameStr in Kustomer" in html
    assert 'badge pending' in row(html, "queue_name")
    assert 'data-pending="1"' in html
    assert CustomField.objects.get(catalogue_key="queue_name").state == "pending"


def test_r_f4_a_second_create_is_refused_with_a_clear_message(admin_client, connected):
    CustomFieldFactory(tenant=connected.tenant, catalogue_key="queue_name")
    html = admin_client.post("/settings/custom-fields/create/queue_name/", follow=True).content.decode()
    assert "The field &#x27;Queue name&#x27; already exists (created, Kustomer attribute queueNameStr)" in html
    assert CustomField.objects.filter(catalogue_key="queue_name").count() == 1


def test_created_and_failed_fields_show_their_state(admin_client, connected):
    created = CustomFieldFactory(tenant=connected.tenant, catalogue_key="hold_time")
    CustomFieldFactory(tenant=connected.tenant, catalogue_key="wait_time", state="failed", created_at=None,
                       error="Kustomer 401 unauthorized: Unauthorized [PUT /v1/metadata/message]")
    html = admin_client.get(PAGE).content.decode()
    hold = row(html, "hold_time")
    assert "badge created" in hold and "holdTimeNum" in hold
    assert created.created_at.strftime("%Y-%m-%d %H:%M:%S") in hold and 'data-testid="retry"' not in hold
    wait = row(html, "wait_time")
    assert "badge failed" in wait and "Kustomer 401 unauthorized: Unauthorized [PUT /v1/metadata/message]" in wait
    assert 'data-testid="retry"' in wait and 'data-testid="delete"' in wait
    assert 'data-pending="0"' in html


def test_sdk_form_creates_a_field(admin_client, connected):
    response = admin_client.post(PAGE, {"sdk_key": "orderId", "display_name": "Order ID", "type": "Str", "klass": "message"}, follow=True)
    html = response.content.decode()
    assert "Creating &#x27;Order ID&#x27; as orderIdStr in Kustomer" in html
    table = html[html.index('data-testid="sdk-fields"'):]
    assert "orderIdStr" in table and "badge pending" in table


def test_sdk_form_errors_show_next_to_the_field_and_keep_what_was_typed(admin_client, connected):
    response = admin_client.post(PAGE, {"sdk_key": "1stOrder", "display_name": "First order", "type": "Num", "klass": "message"})
    assert response.status_code == 400
    html = response.content.decode()
    form = html[html.index('data-testid="sdk-form"'):]
    errors = re.search(r'<ul class="errorlist" id="id_sdk_key_error">(.*?)</ul>', form, re.S)
    assert errors and "must start with a letter" in errors.group(1)
    assert 'value="1stOrder"' in form and 'value="First order"' in form
    assert '<option value="Num" selected>' in form
    assert not CustomField.objects.exists()


def test_sdk_form_duplicate_is_shown_on_the_key(admin_client, connected):
    SdkFieldFactory(tenant=connected.tenant, sdk_key="orderId")
    html = admin_client.post(PAGE, {"sdk_key": "order_id", "display_name": "Order", "type": "Str", "klass": "message"}).content.decode()
    assert "The Kustomer attribute orderIdStr of Record (Kustomer message) is already used by the field &#x27;Order ID&#x27;" in html


def test_r_f4_delete_stops_the_field_and_says_kustomer_keeps_its_data(admin_client, connected):
    field = CustomFieldFactory(tenant=connected.tenant, catalogue_key="csat_rating")
    html = admin_client.post(f"/settings/custom-fields/{field.pk}/delete/", follow=True).content.decode()
    assert "Deleted &#x27;CSAT rating&#x27;: no more values are sent to it. Kustomer keeps the attribute csatRatingNum" in html
    assert "Not created" in row(html, "csat_rating")
    field.refresh_from_db()
    assert field.deleted_at is not None


def test_retry_of_a_field_that_is_not_failed_says_why(admin_client, connected):
    field = CustomFieldFactory(tenant=connected.tenant, catalogue_key="csat_rating")
    html = admin_client.post(f"/settings/custom-fields/{field.pk}/retry/", follow=True).content.decode()
    assert "already created in Kustomer (csatRatingNum)" in html


def test_r_a1_another_tenants_field_answers_404_on_the_page(admin_client, connected, other_tenant):
    foreign = CustomFieldFactory(tenant=other_tenant, state="failed", created_at=None)
    assert admin_client.post(f"/settings/custom-fields/{foreign.pk}/retry/").status_code == 404
    assert admin_client.post(f"/settings/custom-fields/{foreign.pk}/delete/").status_code == 404
    assert f'data-field-id="{foreign.pk}"' not in admin_client.get(PAGE).content.decode()
    foreign.refresh_from_db()
    assert (foreign.state, foreign.deleted_at) == ("failed", None)


def test_without_a_kustomer_connection_the_page_says_to_connect_first(admin_client, tenant):
    html = admin_client.get(PAGE).content.decode()
    assert "This tenant has no Kustomer connection yet" in html
    assert 'data-testid="create" disabled' in row(html, "queue_name")
    refused = admin_client.post("/settings/custom-fields/create/queue_name/", follow=True).content.decode()
    assert "Connect this tenant to Kustomer first" in refused


def test_actions_need_post_and_a_signed_in_user(admin_client, connected):
    assert admin_client.get("/settings/custom-fields/create/queue_name/").status_code == 405
    assert Client().get(PAGE).status_code == 302  # to the log-in page
