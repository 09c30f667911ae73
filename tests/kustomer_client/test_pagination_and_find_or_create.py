"""Lists follow relative links.next; a create whose answer was lost is found again."""
from __future__ import annotations

import pytest
import requests
from responses import matchers

from integrations.kustomer.errors import (
    KustomerBadRequestError,
    KustomerConflictError,
    KustomerMalformedResponseError,
    KustomerTimeoutError,
)

from .conftest import API, doc, oid, resource
from tests.kustomer_client.once import conversation_once, customer_once, message_once, note_once

NOT_FOUND = {"errors": [{"status": 404, "code": "notfound", "title": "Not Found", "source": {"parameter": "externalId"}}]}


def conv(n, status="open", ext=None):
    return resource("conversation", oid(n), {"status": status, "externalId": ext})


def test_customer_conversations_follow_relative_next_links(client, rsps):
    cid = oid(1)
    rsps.get(f"{API}/customers/{cid}/conversations", match=[matchers.query_param_matcher({"pageSize": "2"})], json={
        "data": [conv(10), conv(11)], "meta": {"page": 1, "pageSize": 2},
        "links": {"self": f"/v1/customers/{cid}/conversations?page=1&pageSize=2",
                  "next": f"/v1/customers/{cid}/conversations?page=2&pageSize=2"}})
    rsps.get(f"{API}/customers/{cid}/conversations", match=[matchers.query_param_matcher({"page": "2", "pageSize": "2"})], json={
        "data": [conv(12), conv(13, "done")], "meta": {"page": 2, "pageSize": 2},
        "links": {"next": f"/v1/customers/{cid}/conversations?page=3&pageSize=2"}})
    rsps.get(f"{API}/customers/{cid}/conversations", match=[matchers.query_param_matcher({"page": "3", "pageSize": "2"})], json={
        "data": [conv(14)], "meta": {"page": 3, "pageSize": 2}, "links": {"next": None}})
    convs = client.list_customer_conversations(customer_id=cid, page_size=2)
    assert [c.id for c in convs] == [oid(n) for n in (10, 11, 12, 13, 14)]
    assert convs[3].status == "done"
    assert all(call.request.headers["Authorization"].startswith("Bearer ") for call in rsps.calls)


def test_pagination_stops_on_max_pages_and_loops(client, rsps):
    cid = oid(2)
    loop = {"data": [conv(20)], "links": {"next": f"/v1/customers/{cid}/conversations?page=1&pageSize=100"}}
    rsps.get(f"{API}/customers/{cid}/conversations", json=loop)
    rsps.get(f"{API}/customers/{cid}/conversations", json=loop)
    # the second page links to itself: the loop is noticed, not followed forever
    assert len(client.list_customer_conversations(customer_id=cid)) == 2


def test_next_link_to_another_host_is_refused(client, rsps):
    cid = oid(3)
    rsps.get(f"{API}/customers/{cid}/conversations", json={
        "data": [conv(30)], "links": {"next": "https://evil.example/v1/customers?page=2"}})
    with pytest.raises(KustomerMalformedResponseError):
        client.list_customer_conversations(customer_id=cid)
    assert len(rsps.calls) == 1


def test_list_without_data_array_is_malformed(client, rsps):
    rsps.get(f"{API}/routing/statuses", json={"data": {"id": "x"}})
    with pytest.raises(KustomerMalformedResponseError):
        client.list_routing_statuses()


def test_active_work_sessions_are_paged(client, rsps):
    rsps.get(f"{API}/routing/work-sessions", match=[matchers.query_param_matcher({"active": "true", "pageSize": "100"})],
             json={"data": [resource("work_session", oid(1), {"statusType": "available"})],
                   "links": {"next": "/v1/routing/work-sessions?active=true&page=2&pageSize=100"}})
    rsps.get(f"{API}/routing/work-sessions", match=[matchers.query_param_matcher({"active": "true", "page": "2", "pageSize": "100"})],
             json={"data": [resource("work_session", oid(2), {"statusType": "busy"})], "links": {"next": None}})
    assert [w.status_type for w in client.iter_active_work_sessions()] == ["available", "busy"]


# ------------------------------------------------------------------------- find or create
EXT = "cc_acme_customer_aaaaaaaaaaaaaaaaaaaaaaaaaa"


def test_find_or_create_customer_finds_existing(client, rsps):
    rsps.get(f"{API}/customers/externalId={EXT}", json=doc(resource("customer", oid(1), {"externalId": EXT})))
    customer, created = customer_once(client, external_id=EXT, name="Ann")
    assert (customer.id, created) == (oid(1), False)
    assert len(rsps.calls) == 1


def test_find_or_create_customer_creates_when_absent(client, rsps):
    rsps.get(f"{API}/customers/externalId={EXT}", status=404, json=NOT_FOUND)
    rsps.post(f"{API}/customers", status=201, json=doc(resource("customer", oid(2), {"externalId": EXT})),
              match=[matchers.json_params_matcher({"externalId": EXT, "name": "Ann", "phones": [{"type": "other", "phone": "+14155550100"}]})])
    customer, created = customer_once(client, external_id=EXT, name="Ann", phones=["+14155550100"])
    assert (customer.id, created) == (oid(2), True)


def test_lost_create_response_is_found_by_external_id_before_resending(client, rsps):
    """SPEC §5: a create whose answer was lost is looked up by its externalId before
    it is ever sent again."""
    # first attempt: lookup misses, the create reaches Kustomer but the answer is lost
    rsps.get(f"{API}/customers/externalId={EXT}", status=404, json=NOT_FOUND)
    rsps.post(f"{API}/customers", body=requests.exceptions.ReadTimeout("lost"))
    with pytest.raises(KustomerTimeoutError) as info:
        customer_once(client, external_id=EXT, name="Ann")
    assert info.value.retryable
    # the task retries: the lookup now finds the customer the lost create made; no second POST
    rsps.get(f"{API}/customers/externalId={EXT}", json=doc(resource("customer", oid(3), {"externalId": EXT})))
    customer, created = customer_once(client, external_id=EXT, name="Ann")
    assert (customer.id, created) == (oid(3), False)
    assert [c.request.method for c in rsps.calls] == ["GET", "POST", "GET"]


@pytest.mark.parametrize("status,cls", [(409, KustomerConflictError), (400, KustomerBadRequestError)])
def test_duplicate_on_create_is_looked_up_again(client, rsps, status, cls):
    rsps.get(f"{API}/customers/externalId={EXT}", status=404, json=NOT_FOUND)
    rsps.post(f"{API}/customers", status=status, json={"errors": [{"status": status, "code": "duplicate", "title": "externalId exists"}]})
    rsps.get(f"{API}/customers/externalId={EXT}", json=doc(resource("customer", oid(4), {"externalId": EXT})))
    customer, created = customer_once(client, external_id=EXT)
    assert (customer.id, created) == (oid(4), False)


def test_duplicate_of_another_field_is_raised(client, rsps):
    rsps.get(f"{API}/customers/externalId={EXT}", status=404, json=NOT_FOUND)
    rsps.post(f"{API}/customers", status=409, json={"errors": [{"status": 409, "code": "duplicate", "title": "phone exists",
                                                                "source": {"parameter": "phones"}}]})
    rsps.get(f"{API}/customers/externalId={EXT}", status=404, json=NOT_FOUND)
    with pytest.raises(KustomerConflictError) as info:
        customer_once(client, external_id=EXT, phones=["+14155550100"])
    assert info.value.parameter == "phones"


def test_find_or_create_conversation(client, rsps):
    cid, ext = oid(5), "cc_acme_conversation_bbbbbbbbbbbbbbbbbbbbbbbbbb"
    rsps.get(f"{API}/conversations/externalId={ext}", status=404, json=NOT_FOUND)
    rsps.post(f"{API}/customers/{cid}/conversations", status=409, json={"errors": [{"status": 409, "code": "conflict"}]})
    rsps.get(f"{API}/conversations/externalId={ext}", json=doc(conv(6, ext=ext)))
    c, created = conversation_once(client, customer_id=cid, external_id=ext, name="Call", status="open")
    assert (c.id, created, c.external_id) == (oid(6), False, ext)


def test_find_or_create_message_scans_the_conversation(client, rsps):
    vid, ext = oid(7), "cc_acme_message_cccccccccccccccccccccccccc"
    rsps.get(f"{API}/conversations/{vid}/messages", json={"data": [resource("message", oid(8), {"externalId": "other"})],
                                                          "links": {"next": None}})
    rsps.post(f"{API}/conversations/{vid}/messages", status=201,
              json=doc(resource("message", oid(9), {"externalId": ext})),
              match=[matchers.json_params_matcher({"channel": "voice", "app": "ccaip", "direction": "out", "externalId": ext})])
    rsps.get(f"{API}/conversations/{vid}/messages", json={"data": [resource("message", oid(9), {"externalId": ext})],
                                                          "links": {"next": None}})
    m, created = message_once(client, conversation_id=vid, external_id=ext, channel="voice", app="ccaip", direction="out")
    assert (m.id, created) == (oid(9), True)
    again, created_again = message_once(client, conversation_id=vid, external_id=ext, channel="voice", app="ccaip", direction="out")
    assert (again.id, created_again) == (oid(9), False)


def test_find_or_create_note(client, rsps):
    vid, ext = oid(10), "cc_acme_note_dddddddddddddddddddddddddd"
    rsps.get(f"{API}/conversations/{vid}/notes", json={"data": [resource("note", oid(11), {"externalId": ext, "body": "x"})],
                                                       "links": {"next": None}})
    n, created = note_once(client, conversation_id=vid, external_id=ext, body="x")
    assert (n.id, created) == (oid(11), False)
