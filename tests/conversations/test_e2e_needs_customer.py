"""R-O1 end to end (HTTP in, PostgreSQL, a Celery worker, the Kustomer sandbox): a number
several Kustomer customers share is never guessed: the event waits in the "needs a
customer" list with the candidates (names, emails, latest conversations, read by the
worker), counted on the dashboard; "Use this one" runs the number's events on that
customer, once; "New customer" creates one; a setting picks the most recently updated."""
from __future__ import annotations

import pytest

from conversations.models import Event
from tests.conversations.e2e_helpers import apply, event, send, state

pytestmark = pytest.mark.e2e
SHARED = "+14155550177"


def _customers_sharing_the_number(e2e) -> list[str]:
    ids = []
    for name, email, phone in (("Ann Lee", "ann@example.com", "+14155550101"),
                               ("Andy Lee", "andy@example.com", "+14155550102")):
        r = e2e.sandbox.session().post(f"{e2e.sandbox.base_url}/v1/customers", timeout=10, json={
            "name": name, "emails": [{"type": "home", "email": email}], "phones": [{"type": "mobile", "phone": phone}]})
        assert r.status_code in (200, 201), r.text
        ids.append(r.json()["data"]["id"])
    with e2e.sandbox.server.state.lock:  # Kustomer lets several customers hold one number
        for cid in ids:
            e2e.sandbox.org.customers[cid]["attributes"]["phones"] = [{"type": "mobile", "phone": SHARED}]
    return ids


def _wait_state(e2e, event_id: str, wanted: str) -> dict:
    return e2e.wait_for(lambda: (s := state(e2e, event_id))["state"] == wanted and s, timeout=45,
                        what=f"{event_id} {wanted}")


def test_r_o1_a_shared_number_waits_for_the_admins_choice_then_runs_once(e2e, client):
    from tests.tenants.factories import UserFactory

    ann, andy = _customers_sharing_the_number(e2e)
    first = event("call.answered", "s-shared", phone=SHARED, agent=None)
    later = event("session.ended", "s-shared", phone=SHARED, agent=None, data={"duration_seconds": 42})
    send(e2e, first)
    _wait_state(e2e, first["id"], "needs_customer")
    send(e2e, later)
    _wait_state(e2e, later["id"], "needs_customer")
    assert e2e.sandbox.conversations() == []  # nothing guessed

    client.force_login(UserFactory(username="e2e-admin", tenant=e2e.tenant))
    assert 'data-testid="needs-customer-count">2</span>' in client.get("/").content.decode()  # both waiting events
    page = client.get("/sync/needs-customer/").content.decode()
    assert "Ann Lee" in page and "andy@example.com" in page and f'data-testid="candidate-{andy}"' in page

    pk = Event.objects.get(tenant=e2e.tenant, event_id=first["id"]).pk
    assert client.post("/sync/needs-customer/", {"event": pk, "customer": andy}).status_code == 302
    done = _wait_state(e2e, first["id"], "done")
    _wait_state(e2e, later["id"], "done")
    assert done["kustomer"]["customer_id"] == andy
    (conversation,) = e2e.sandbox.conversations()
    assert conversation["relationships"]["customer"]["data"]["id"] == andy  # on the chosen one, once
    assert "needs-customer-count" not in client.get("/").content.decode()
    # Chosen once: the number's next calls go to Andy without asking.
    assert apply(e2e, event("call.answered", "s-shared-2", phone=SHARED, agent=None))["kustomer"]["customer_id"] == andy


def test_r_o1_new_customer_or_the_most_recently_updated_one(e2e, client):
    from tests.tenants.factories import UserFactory

    ann, andy = _customers_sharing_the_number(e2e)
    first = event("call.answered", "s-new", phone=SHARED, agent=None)
    send(e2e, first)
    _wait_state(e2e, first["id"], "needs_customer")
    client.force_login(UserFactory(username="e2e-admin2", tenant=e2e.tenant))
    pk = Event.objects.get(tenant=e2e.tenant, event_id=first["id"]).pk
    client.post("/sync/needs-customer/", {"event": pk, "customer": ""})
    done = _wait_state(e2e, first["id"], "done")
    assert done["kustomer"]["customer_id"] not in (ann, andy)  # a new customer
    assert len(e2e.sandbox.customers()) == 3

    r = e2e.api.put(e2e.url + "/api/v1/sync-settings", json={"ambiguous_pick_latest": True}, timeout=10)
    assert r.status_code == 200 and r.json()["ambiguous_pick_latest"] is True
    with e2e.sandbox.server.state.lock:
        for cid, updated in ((ann, "2026-11-30T10:00:00.000Z"), (andy, "2026-11-01T10:00:00.000Z")):
            attributes = e2e.sandbox.org.customers[cid]["attributes"]
            attributes["phones"] = [{"type": "mobile", "phone": "+14155550188"}]
            attributes["updatedAt"] = updated  # Ann was updated last
    picked = apply(e2e, event("call.answered", "s-latest", phone="+14155550188", agent=None))
    assert picked["kustomer"]["customer_id"] == ann  # updated last


def test_r_o1_the_numbers_later_events_wait_behind_the_first_then_apply_after_it_in_order(e2e, client):
    from tests.tenants.factories import UserFactory

    ann, andy = _customers_sharing_the_number(e2e)
    first = event("call.answered", "s-behind", phone=SHARED, agent=None)
    send(e2e, first)
    _wait_state(e2e, first["id"], "needs_customer")
    lookups = len(e2e.sandbox.requests(method="GET", path_contains="/customers/phone="))
    later = [event("session.ended", "s-behind", phone=SHARED, agent=None, data={"duration_seconds": 30}),
             event("call.answered", "s-behind-2", phone=SHARED, agent=None)]
    for body in later:
        send(e2e, body)
        waiting = _wait_state(e2e, body["id"], "needs_customer")
        assert waiting["error"] == f"Waits behind {first['id']}, whose number needs a customer."
    # Parked behind the first without asking Kustomer again, and nothing written.
    assert len(e2e.sandbox.requests(method="GET", path_contains="/customers/phone=")) == lookups
    assert e2e.sandbox.conversations() == []

    client.force_login(UserFactory(username="e2e-admin3", tenant=e2e.tenant))
    page = client.get("/sync/needs-customer/").content.decode()
    assert page.count('data-testid="candidate-') == 2  # one card for the number, its three events listed
    assert "3 events wait" in page and all(b["id"] in page for b in later)
    # Choosing on a later event's card is the same choice for the number.
    pk = Event.objects.get(tenant=e2e.tenant, event_id=later[1]["id"]).pk
    assert client.post("/sync/needs-customer/", {"event": pk, "customer": ann}).status_code == 302
    done = [_wait_state(e2e, b["id"], "done") for b in [first] + later]
    rows = {e.event_id: e for e in Event.objects.filter(tenant=e2e.tenant, event_id__in=[b["id"] for b in [first] + later])}
    finished = [rows[b["id"]].finished_at for b in [first] + later]
    assert finished == sorted(finished)  # after the first, in their order
    assert {d["kustomer"]["customer_id"] for d in done} == {ann}
    (conversation,) = e2e.sandbox.conversations()  # the second call joins the first's open one (R-C rules)
    assert conversation["relationships"]["customer"]["data"]["id"] == ann
    assert len({m for d in done for m in d["kustomer"]["message_ids"]}) == len(
        [m for d in done for m in d["kustomer"]["message_ids"]]) >= 2  # each event's records once
