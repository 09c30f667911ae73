"""R-O1 in Chromium against the live portal, a real Celery worker and the Kustomer
sandbox: a number two Kustomer customers share waits in Operations › Needs a customer
with its later event behind it; the admin picks a candidate and the number's events run
once, on that customer. Screenshot: docs/screenshots/needs_customer.png."""
from __future__ import annotations

import pytest

from tests.browser.conftest import log_in, screenshot, submit
from tests.conversations.e2e_helpers import event, send, state
from tests.conversations.test_e2e_needs_customer import SHARED, _customers_sharing_the_number
from tests.tenants.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_r_o1_admin_picks_a_candidate_and_the_numbers_events_run_once(e2e, new_context, portal_url):
    UserFactory(username="e2e-admin", tenant=e2e.tenant)
    ann, andy = _customers_sharing_the_number(e2e)
    first = event("call.answered", "s-inbox", phone=SHARED, agent=None)
    later = event("session.ended", "s-inbox", phone=SHARED, agent=None, data={"duration_seconds": 61})
    for body in (first, later):
        send(e2e, body)
        e2e.wait_for(lambda: state(e2e, body["id"])["state"] == "needs_customer", timeout=45, what="parked")

    page = log_in(new_context(), portal_url, "e2e-admin")
    assert page.get_by_test_id("needs-customer-count").inner_text() == "2"
    submit(page, page.locator("nav.side").get_by_role("link", name="Needs a customer"))
    card = page.get_by_test_id(f"needs-{first['id']}")
    assert "2 events wait" in card.inner_text() and later["id"] in card.get_by_test_id("waiting-events").inner_text()
    assert "Ann Lee" in card.inner_text() and "andy@example.com" in card.inner_text()
    screenshot(page, "needs_customer")

    submit(page, card.get_by_test_id(f"candidate-{andy}").get_by_role("button", name="Use this one"))
    assert "2 events of this number run again." in page.get_by_test_id("messages").inner_text()
    for body in (first, later):
        e2e.wait_for(lambda: state(e2e, body["id"])["state"] == "done", timeout=45, what=f"{body['id']} done")
    (conversation,) = e2e.sandbox.conversations()
    assert conversation["relationships"]["customer"]["data"]["id"] == andy  # the chosen one, once
    page.reload()
    assert "No event needs a customer." in page.inner_text("main")
