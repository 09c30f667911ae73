"""Requests the real API rejects are rejected the same way: the OpenAPI file's schemas,
custom attributes vs the org's metadata, metadata naming rules, the body size limit."""
import pytest

from kustomer_sandbox.validation import openapi_document

from .helpers import assert_kustomer_error, assert_openapi_response


@pytest.fixture
def conversation_id(kapi):
    customer_id = kapi.post(kapi.url("/customers"), json={"name": "Ann"}).json()["data"]["id"]
    return kapi.post(kapi.url(f"/customers/{customer_id}/conversations"), json={"name": "c"}).json()["data"]["id"]


def test_openapi_document_has_its_duplicate_tag_dropped():
    names = [tag["name"] for tag in openapi_document()["tags"]]

    assert names.count("Messages") == 1


def test_unknown_top_level_property_is_badparam_additional_properties(kapi):
    response = kapi.post(kapi.url("/customers"), json={"name": "Ann", "notAnActualAttribute": 1})

    error = assert_kustomer_error(response, 400, "badparam", "notAnActualAttribute")
    assert error["title"] == "Additional properties not allowed"
    assert error["detail"] == "/additionalProperties"


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        ({"name": "x" * 257}, "name"),  # maxLength 256
        ({"emails": [{"email": "not-an-email"}]}, "email"),  # format email-relaxed
        ({"emails": [{"email": "a@b.c", "type": "mobile"}]}, "type"),  # enum home|work|other
        ({"phones": [{"phone": "call me maybe"}]}, "phone"),  # format phone-number
        ({"externalId": ""}, "externalId"),  # minLength 1
        ({"signedUpAt": "yesterday"}, "signedUpAt"),  # format date-time
    ],
)
def test_customer_fields_are_checked_against_the_openapi_schema(kapi, body, parameter):
    assert_kustomer_error(kapi.post(kapi.url("/customers"), json=body), 400, "badparam", parameter)


def test_nullable_fields_accept_null(kapi):
    response = kapi.post(kapi.url("/customers"), json={"name": None, "externalId": None, "username": None})

    assert response.status_code == 201


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        ({"status": "snoozed"}, "status"),  # create allows only open|done
        ({"direction": "sideways"}, "direction"),
        ({"priority": 9}, "priority"),
        ({"assignedUsers": ["not-an-object-id"]}, "assignedUsers"),
        ({"assignedUsers": [f"{i:024x}" for i in range(11)]}, "assignedUsers"),  # at most 10
        ({"queue": {"external": "some-other-cc"}}, "external"),
    ],
)
def test_conversation_create_is_checked_against_the_openapi_schema(kapi, body, parameter):
    customer_id = kapi.post(kapi.url("/customers"), json={"name": "Ann"}).json()["data"]["id"]

    response = kapi.post(kapi.url(f"/customers/{customer_id}/conversations"), json=body)

    assert_kustomer_error(response, 400, "badparam", parameter)


def test_message_channel_must_be_one_kustomer_knows(kapi, conversation_id):
    response = kapi.post(kapi.url(f"/conversations/{conversation_id}/messages"), json={"channel": "fax", "app": "ccaip"})

    error = assert_kustomer_error(response, 400, "badparam", "channel")
    assert error["title"].startswith("No enum match")


def test_custom_key_is_rejected_until_defined_in_metadata(kapi):
    before = kapi.post(kapi.url("/customers"), json={"name": "Ann", "custom": {"tierStr": "gold"}})

    error = assert_kustomer_error(before, 400, "badparam", "tierStr")
    assert error["title"] == "Additional properties not allowed"
    assert error["detail"] == "/properties/custom/additionalProperties"

    defined = kapi.put(kapi.url("/metadata/customer"), json={"properties": {"tierStr": {"displayName": "Tier"}}})
    assert defined.status_code == 200
    after = kapi.post(kapi.url("/customers"), json={"name": "Ann", "custom": {"tierStr": "gold"}})
    assert after.status_code == 201
    assert after.json()["data"]["attributes"]["custom"] == {"tierStr": "gold"}


def test_custom_keys_are_per_resource(kapi, conversation_id):
    kapi.put(kapi.url("/metadata/customer"), json={"properties": {"queueNameStr": {"displayName": "Queue"}}})

    response = kapi.put(kapi.url(f"/conversations/{conversation_id}"), json={"custom": {"queueNameStr": "Billing"}})

    assert_kustomer_error(response, 400, "badparam", "queueNameStr")


def test_custom_values_must_fit_the_type_suffix(kapi, conversation_id):
    kapi.put(kapi.url("/metadata/conversation"), json={"properties": {
        "callDurationNum": {"displayName": "Duration"}, "answeredAt": {"displayName": "Answered"},
        "queueNameStr": {"displayName": "Queue"},
    }})
    url = kapi.url(f"/conversations/{conversation_id}")

    assert_kustomer_error(kapi.put(url, json={"custom": {"callDurationNum": "42"}}), 400, "badparam", "callDurationNum")
    assert_kustomer_error(kapi.put(url, json={"custom": {"answeredAt": "noon"}}), 400, "badparam", "answeredAt")
    assert_kustomer_error(kapi.put(url, json={"custom": {"queueNameStr": "x" * 1025}}), 400, "badparam", "queueNameStr")
    ok = kapi.put(url, json={"custom": {"callDurationNum": 42, "answeredAt": "2026-11-23T10:00:00Z", "queueNameStr": "Billing"}})
    assert ok.status_code == 200
    assert ok.json()["data"]["attributes"]["custom"]["callDurationNum"] == 42


def test_custom_updates_merge_key_by_key(kapi, conversation_id):
    kapi.put(kapi.url("/metadata/conversation"), json={"properties": {"aStr": {}, "bStr": {}}})
    url = kapi.url(f"/conversations/{conversation_id}")

    kapi.put(url, json={"custom": {"aStr": "1"}})
    response = kapi.put(url, json={"custom": {"bStr": "2"}})

    assert response.json()["data"]["attributes"]["custom"] == {"aStr": "1", "bStr": "2"}


def test_message_custom_is_checked_against_message_metadata(kapi, conversation_id):
    url = kapi.url(f"/conversations/{conversation_id}/messages")
    body = {"channel": "voice", "app": "ccaip", "custom": {"callIdStr": "s-1"}}

    assert_kustomer_error(kapi.post(url, json=body), 400, "badparam", "callIdStr")
    kapi.put(kapi.url("/metadata/message"), json={"properties": {"callIdStr": {"displayName": "Call ID"}}})
    assert kapi.post(url, json=body).status_code == 201


def test_metadata_put_merges_properties_and_get_reads_them(kapi):
    kapi.put(kapi.url("/metadata/conversation"), json={"properties": {"queueNameStr": {"displayName": "Queue Name"}}})
    kapi.put(kapi.url("/metadata/conversation"), json={"properties": {"callDurationNum": {"displayName": "Call Duration"}}})

    response = kapi.get(kapi.url("/metadata/conversation"))

    properties = assert_openapi_response(response, "GET", "/metadata/{resource}")["data"]["attributes"]["properties"]
    assert properties["queueNameStr"]["displayName"] == "Queue Name"
    assert properties["queueNameStr"]["type"] == "string"
    assert properties["callDurationNum"]["type"] == "number"


@pytest.mark.parametrize("name", ["queue_name_str", "QueueNameStr", "queueName", "queueNameString", "queueNameInt"])
def test_metadata_attribute_names_need_camel_case_and_a_type_suffix(kapi, name):
    response = kapi.put(kapi.url("/metadata/conversation"), json={"properties": {name: {"displayName": "x"}}})

    assert_kustomer_error(response, 400, "badparam", name)
    assert name not in kapi.get(kapi.url("/metadata/conversation")).json()["data"]["attributes"]["properties"]


def test_metadata_of_unknown_resource_is_404(kapi):
    assert_kustomer_error(kapi.get(kapi.url("/metadata/widget")), 404, "notfound", "resource")


def test_metadata_put_body_is_checked_against_the_openapi_schema(kapi):
    response = kapi.put(kapi.url("/metadata/customer"), json={"fields": {}})

    assert_kustomer_error(response, 400, "badparam", "fields")


def test_body_over_100_kb_is_413_and_nothing_is_written(kapi, sandbox_org):
    response = kapi.post(kapi.url("/customers"), json={"name": "Ann", "company": "x" * (100 * 1024)})

    assert_kustomer_error(response, 413, "payloadtoolarge")
    assert sandbox_org.customers() == []


def test_body_just_under_100_kb_is_accepted(kapi, conversation_id):
    body = {"body": "x" * 10_000}  # notes cap body at 10,240 chars; the size limit is separate

    assert kapi.post(kapi.url(f"/conversations/{conversation_id}/notes"), json=body).status_code == 201
    near_limit = {"name": "Ann", "company": "y" * (100 * 1024 - 100)}
    assert kapi.post(kapi.url("/customers"), json=near_limit).status_code == 201
