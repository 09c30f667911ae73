"""POST /v1/customers/search: query contexts, and/or criteria, operators, sort, the 100-page cap."""
import pytest

from .helpers import assert_kustomer_error, assert_openapi_response

SEARCH = "/customers/search"


def search(kapi, body, **params):
    return kapi.post(kapi.url(SEARCH), json=body, params=params or None)


@pytest.fixture
def world(kapi):
    """Two customers; Ann has three conversations (one done), Bob one; messages and a note."""
    ann = kapi.post(kapi.url("/customers"), json={"name": "Ann", "emails": [{"email": "ann@acme.example"}]}).json()["data"]
    bob = kapi.post(kapi.url("/customers"), json={"name": "Bob", "emails": [{"email": "bob@other.example"}]}).json()["data"]
    convs = [
        kapi.post(kapi.url(f"/customers/{ann['id']}/conversations"), json={"name": f"ann {i}", "priority": i + 1}).json()["data"]
        for i in range(3)
    ]
    bob_conv = kapi.post(kapi.url(f"/customers/{bob['id']}/conversations"), json={"name": "bob 0"}).json()["data"]
    kapi.put(kapi.url(f"/conversations/{convs[0]['id']}"), json={"status": "done"})
    kapi.post(kapi.url(f"/conversations/{convs[1]['id']}/messages"),
              json={"channel": "voice", "app": "ccaip", "preview": "refund please", "direction": "in"})
    kapi.post(kapi.url(f"/conversations/{bob_conv['id']}/messages"),
              json={"channel": "sms", "app": "ccaip", "preview": "hello", "direction": "out"})
    kapi.post(kapi.url(f"/conversations/{convs[2]['id']}/notes"), json={"body": "call back tomorrow"})
    return {"ann": ann, "bob": bob, "convs": convs, "bob_conv": bob_conv}


def ids(response):
    return [item["id"] for item in response.json()["data"]]


def test_search_answers_the_files_shape_for_every_query_context(kapi, world):
    first_of_two = search(kapi, {"queryContext": "customer"}, pageSize=1)
    assert_openapi_response(first_of_two, "POST", SEARCH)  # (the file's example always had a next page)
    for context, expected in (("customer", 2), ("conversation", 4), ("message", 2), ("note", 1), ("kobject", 0)):
        response = search(kapi, {"queryContext": context})
        body = response.json()
        assert response.status_code == 200
        assert body["meta"]["total"] == expected, context
        assert {item["type"] for item in body["data"]} <= {context}


def test_criteria_on_the_context_and_on_linked_objects(kapi, world):
    ann_id = world["ann"]["id"]
    by_customer = search(kapi, {"queryContext": "conversation", "and": [{"conversation_customer_id": {"equals": ann_id}}]})
    done = search(kapi, {"queryContext": "conversation", "and": [{"conversation_status": {"equals": "done"}}]})
    high = search(kapi, {"queryContext": "conversation", "and": [{"conversation_priority": {"gte": 2}},
                                                                  {"conversation_priority": {"lte": 2}}]})
    refund = search(kapi, {"queryContext": "message", "and": [{"message_body": {"contains": "REFUND"}}]})
    by_email = search(kapi, {"queryContext": "customer", "and": [{"customer_email": {"contains": "@acme.example"}}]})
    with_open_conversation = search(kapi, {"queryContext": "customer", "and": [{"conversation_status": {"equals": "done"}}]})
    either = search(kapi, {"queryContext": "conversation", "or": [{"conversation_name": {"equals": "bob 0"}},
                                                                  {"conversation_status": {"equals": "done"}}]})

    assert sorted(ids(by_customer)) == sorted(c["id"] for c in world["convs"])
    assert ids(done) == [world["convs"][0]["id"]]
    assert ids(high) == [world["convs"][1]["id"]]
    assert len(ids(refund)) == 1
    assert ids(by_email) == [ann_id]
    assert ids(with_open_conversation) == [ann_id]  # a customer matches through their conversations
    assert sorted(ids(either)) == sorted([world["bob_conv"]["id"], world["convs"][0]["id"]])


def test_dates_compare_as_times_and_local_dates(kapi, world):
    far_past = search(kapi, {"queryContext": "conversation", "and": [{"conversation_updated_at": {"gte": "2001-01-01"}}]})
    future = search(kapi, {"queryContext": "conversation",
                           "and": [{"conversation_updated_at": {"gte": "2999-01-01T00:00:00.000Z"}}]})

    assert far_past.json()["meta"]["total"] == 4
    assert future.json()["meta"]["total"] == 0


def test_sort_by_update_time_both_ways(kapi, world):
    # touch the oldest conversation last: it becomes the most recently updated
    oldest = world["convs"][0]["id"]
    kapi.put(kapi.url(f"/conversations/{oldest}"), json={"name": "touched"})
    body = {"queryContext": "conversation", "and": [{"conversation_customer_id": {"equals": world["ann"]["id"]}}]}

    newest_first = ids(search(kapi, {**body, "sort": [{"conversation_updated_at": "desc"}]}))
    oldest_first = ids(search(kapi, {**body, "sort": [{"conversation_updated_at": "asc"}]}))

    assert newest_first[0] == oldest
    assert oldest_first == list(reversed(newest_first))


def test_paging_and_the_100_page_hard_limit(kapi, world):
    body = {"queryContext": "conversation"}
    first = search(kapi, body, page=1, pageSize=3)
    second = search(kapi, body, page=2, pageSize=3)
    # 4 conversations at 1 per page: page 4 is the last; with pageSize 1 page 100 would be
    # the cap, and page 101 is refused however many records there are
    past_cap = search(kapi, body, page=101, pageSize=1)

    assert first.json()["links"]["next"] == "/v1/customers/search?page=2&pageSize=3"
    assert len(ids(first)) == 3 and len(ids(second)) == 1
    assert second.json()["links"]["next"] is None
    assert set(ids(first)).isdisjoint(ids(second))
    assert first.json()["meta"]["totalPages"] == 2
    assert_kustomer_error(past_cap, 400, "badparam", "page")


def test_page_100_has_no_next_even_with_more_records(kapi, sandbox_org):
    customer = kapi.post(kapi.url("/customers"), json={"name": "Many"}).json()["data"]
    for i in range(101):
        assert kapi.post(kapi.url(f"/customers/{customer['id']}/conversations"),
                         json={"importedAt": "2026-01-01T00:00:00.000Z"}).status_code == 201

    page_100 = search(kapi, {"queryContext": "conversation"}, page=100, pageSize=1)

    assert page_100.json()["meta"]["total"] == 101
    assert len(ids(page_100)) == 1
    assert page_100.json()["links"]["next"] is None


@pytest.mark.parametrize("body, parameter", [
    ({}, "queryContext"),
    ({"queryContext": "planet"}, "queryContext"),
    ({"queryContext": "conversation", "and": [{"conversation_colour": {"equals": "red"}}]}, "conversation_colour"),
    ({"queryContext": "conversation", "and": [{"conversation_status": {"eq": "open"}}]}, "conversation_status"),
])
def test_bad_search_bodies_answer_badparam(kapi, body, parameter):
    assert_kustomer_error(search(kapi, body), 400, "badparam", parameter)


def test_custom_attributes_are_searchable(kapi, world):
    kapi.put(kapi.url("/metadata/conversation"), json={"properties": {"queueNameStr": {"displayName": "Queue"}}})
    target = world["convs"][2]["id"]
    kapi.put(kapi.url(f"/conversations/{target}"), json={"custom": {"queueNameStr": "billing"}})

    found = search(kapi, {"queryContext": "conversation", "and": [{"conversation_custom_queueNameStr": {"equals": "billing"}}]})

    assert ids(found) == [target]


def test_api_keys_search_at_most_100_times_a_minute(kapi, sandbox_org):
    with sandbox_org.server.state.lock:
        assert sandbox_org.org.search_limit_per_minute == 100  # Kustomer's figure for API keys
        sandbox_org.org.search_limit_per_minute = 3
    answers = [search(kapi, {"queryContext": "customer"}) for _ in range(4)]

    assert [a.status_code for a in answers[:3]] == [200] * 3
    over = assert_kustomer_error(answers[3], 429, "ratelimited")
    assert "searches" in over["detail"]
    assert 1 <= int(answers[3].headers["Retry-After"]) <= 60
    assert kapi.get(kapi.url("/users/current")).status_code == 200  # the rest of the API goes on
