"""Rate limits: the org's 60 s budget with x-ratelimit-* headers, and the per-customer
caps of 120 conversations, 120 messages and 120 notes per minute (each on its own)."""
import pytest

from .helpers import assert_kustomer_error


def test_every_answer_carries_rate_limit_headers(kapi, sandbox_org):
    first = kapi.get(kapi.url("/users/current"))
    second = kapi.get(kapi.url("/no-such-endpoint"))  # errors count and carry them too

    assert first.headers["x-ratelimit-limit"] == "1000"
    assert first.headers["x-ratelimit-remaining"] == "999"
    assert 59 <= int(first.headers["x-ratelimit-reset"]) <= 60  # seconds until the window resets
    assert second.status_code == 404
    assert second.headers["x-ratelimit-remaining"] == "998"


def test_over_budget_answers_429_with_retry_after_until_the_window_resets(kapi, sandbox_org):
    with sandbox_org.server.state.lock:
        sandbox_org.org.rate_limit_per_minute = 3

    answers = [kapi.get(kapi.url("/users/current")) for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["x-ratelimit-remaining"] for a in answers] == ["2", "1", "0", "0"]
    limited = answers[-1]
    assert_kustomer_error(limited, 429, "ratelimited")
    assert limited.headers["x-ratelimit-limit"] == "3"
    reset = int(limited.headers["x-ratelimit-reset"])
    assert 1 <= reset <= 60
    assert limited.headers["Retry-After"] == str(reset)


def test_budget_is_per_org_and_shared_by_its_keys(kustomer_sandbox, kapi, sandbox_org):
    import requests

    with kustomer_sandbox.state.lock:
        sandbox_org.org.rate_limit_per_minute = 2
    second_key_user = kustomer_sandbox.state.add_api_key(sandbox_org.org, "second-key-of-org")
    other = kustomer_sandbox.create_org("other", "key-of-other-org")

    kapi.get(kapi.url("/users/current"))
    second = requests.get(f"{sandbox_org.base_url}/v1/users/current", headers={"Authorization": "Bearer second-key-of-org"}, timeout=5)
    third = kapi.get(kapi.url("/users/current"))
    other_org = requests.get(f"{sandbox_org.base_url}/v1/users/current", headers={"Authorization": "Bearer key-of-other-org"}, timeout=5)

    assert second.status_code == 200 and second.json()["data"]["id"] == second_key_user["id"]
    assert third.status_code == 429
    assert other_org.status_code == 200
    assert other.rate_window.count == 1


def test_window_resets_after_60_seconds(sandbox_org):
    from kustomer_sandbox.limits import org_rate_take

    org = sandbox_org.org
    org.rate_limit_per_minute = 1
    assert org_rate_take(org, now=1000.0).allowed
    blocked = org_rate_take(org, now=1030.0)
    assert not blocked.allowed and blocked.reset_seconds == 30
    assert org_rate_take(org, now=1060.0).allowed


@pytest.mark.parametrize("now", [5.117, 8.772, 14.62, 1000.0])
def test_a_fresh_window_says_60_seconds_never_61(sandbox_org, now):
    """x-ratelimit-reset counts whole seconds up to 60: (now + 60) - now can come out a
    hair above 60 in floating point, which once made a fresh window answer 61."""
    from kustomer_sandbox.limits import org_rate_take

    assert (now + 60) - now > 60 or now == 1000.0  # the floating-point case, and a plain one
    assert org_rate_take(sandbox_org.org, now=now).reset_seconds == 60


@pytest.fixture
def conversation(kapi):
    customer_id = kapi.post(kapi.url("/customers"), json={"name": "Ann"}).json()["data"]["id"]
    return kapi.post(kapi.url(f"/customers/{customer_id}/conversations"), json={"name": "c"}).json()["data"]


MESSAGE = {"channel": "voice", "app": "ccaip", "preview": "m"}


def test_121st_message_for_one_customer_in_a_minute_is_429(kapi, conversation):
    """Kustomer: "up to 120 messages per minute per customer"."""
    url = kapi.url(f"/conversations/{conversation['id']}/messages")
    statuses = [kapi.post(url, json=MESSAGE).status_code for _ in range(120)]

    over = kapi.post(url, json=MESSAGE)

    assert statuses == [201] * 120
    assert_kustomer_error(over, 429, "ratelimited")
    assert 1 <= int(over.headers["Retry-After"]) <= 60
    assert over.headers["x-ratelimit-remaining"]  # the org budget headers are there too
    # other customers are not affected
    other_customer = kapi.post(kapi.url("/customers"), json={"name": "Bob"}).json()["data"]["id"]
    assert kapi.post(kapi.url(f"/customers/{other_customer}/conversations"), json={}).status_code == 201


def test_conversations_messages_and_notes_have_separate_caps(kapi, conversation):
    customer_id = conversation["relationships"]["customer"]["data"]["id"]
    url = kapi.url(f"/conversations/{conversation['id']}")
    messages = [kapi.post(f"{url}/messages", json=MESSAGE).status_code for _ in range(120)]

    assert messages == [201] * 120
    assert kapi.post(f"{url}/messages", json=MESSAGE).status_code == 429
    # the message cap is full; notes and conversations of the same customer still go in
    assert kapi.post(f"{url}/notes", json={"body": "still fine"}).status_code == 201
    assert kapi.post(kapi.url(f"/customers/{customer_id}/conversations"), json={}).status_code == 201


def test_121st_conversation_for_one_customer_is_429(kapi, conversation):
    customer_id = conversation["relationships"]["customer"]["data"]["id"]
    url = kapi.url(f"/customers/{customer_id}/conversations")
    statuses = [kapi.post(url, json={}).status_code for _ in range(119)]  # the fixture made one

    assert statuses == [201] * 119
    assert_kustomer_error(kapi.post(url, json={}), 429, "ratelimited")


def test_imported_messages_and_conversations_are_not_capped(kapi, conversation):
    """"Messages (conversations) with importedAt in their body will not be subject to the rate limit"."""
    customer_id = conversation["relationships"]["customer"]["data"]["id"]
    url = kapi.url(f"/conversations/{conversation['id']}/messages")
    imported = {**MESSAGE, "importedAt": "2026-11-30T10:00:00.000Z"}
    for _ in range(120):
        assert kapi.post(url, json=MESSAGE).status_code == 201

    assert kapi.post(url, json=MESSAGE).status_code == 429
    assert [kapi.post(url, json=imported).status_code for _ in range(5)] == [201] * 5
    conversations = kapi.url(f"/customers/{customer_id}/conversations")
    for _ in range(119):
        assert kapi.post(conversations, json={}).status_code == 201
    assert kapi.post(conversations, json={}).status_code == 429
    assert kapi.post(conversations, json={"importedAt": "2026-11-30T10:00:00.000Z"}).status_code == 201
