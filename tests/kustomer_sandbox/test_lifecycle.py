"""A customer's inbound message reopens a done conversation and wakes a snoozed one;
Txt values are bounded; PATCH /conversations/{id} takes application/json-patch+json."""
import json

import pytest

from .helpers import JSON_PATCH, assert_kustomer_error

INBOUND = {"channel": "voice", "app": "ccaip", "direction": "in", "preview": "hi again"}


@pytest.fixture
def conversation(kapi):
    customer_id = kapi.post(kapi.url("/customers"), json={"name": "Ann"}).json()["data"]["id"]
    return kapi.post(kapi.url(f"/customers/{customer_id}/conversations"), json={"name": "c"}).json()["data"]


def status_after(kapi, conversation, status, message):
    url = kapi.url(f"/conversations/{conversation['id']}")
    kapi.put(url, json={"status": status})
    assert kapi.post(f"{url}/messages", json=message).status_code == 201
    return kapi.get(url).json()["data"]["attributes"]["status"]


@pytest.mark.parametrize("status", ["done", "snoozed"])
def test_an_inbound_message_reopens_the_conversation(kapi, conversation, status):
    assert status_after(kapi, conversation, status, INBOUND) == "open"


@pytest.mark.parametrize("message", [
    {**INBOUND, "direction": "out"},
    {**INBOUND, "importedAt": "2026-11-30T10:00:00.000Z"},
])
def test_outbound_or_imported_messages_leave_a_done_conversation_done(kapi, conversation, message):
    assert status_after(kapi, conversation, "done", message) == "done"


def test_txt_values_are_bounded_like_str(kapi, conversation):
    kapi.put(kapi.url("/metadata/conversation"), json={"properties": {"summaryTxt": {"displayName": "Summary"}}})
    url = kapi.url(f"/conversations/{conversation['id']}")

    fits = kapi.put(url, json={"custom": {"summaryTxt": "x" * 1024}})
    too_long = kapi.put(url, json={"custom": {"summaryTxt": "x" * 1025}})

    assert fits.status_code == 200
    assert_kustomer_error(too_long, 400, "badparam", "summaryTxt")


def test_patch_conversation_takes_json_patch_media_type_only(kapi, conversation):
    url = kapi.url(f"/conversations/{conversation['id']}")

    as_json = kapi.patch(url, json={"name": "plain json"})
    as_patch = kapi.patch(url, data=json.dumps({"name": "patched"}), headers=JSON_PATCH)

    assert_kustomer_error(as_json, 415, "unsupportedmediatype")
    assert as_patch.status_code == 200
    assert as_patch.json()["data"]["attributes"]["name"] == "patched"
    # other PATCH endpoints take application/json, as the file says
    assert kapi.patch(kapi.url(f"/customers/{conversation['relationships']['customer']['data']['id']}"),
                      json={"name": "Ann B"}).status_code == 200
