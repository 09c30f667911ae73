"""Sync › Events in Chromium over 1,200 events: pages, search by phone and ids,
filters that survive paging, sort, and the detail page."""
from __future__ import annotations

import pytest

from integrations.models import KustomerConnection
from core.crypto import encrypt_secret
from tests.browser.conftest import log_in, screenshot, submit
from tests.conversations.test_events_list import make_events
from tests.tenants.factories import TenantFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def rows(page) -> list[str]:
    return page.locator("[data-testid=events] tbody tr[data-event-id]").evaluate_all(
        "trs => trs.map(tr => tr.dataset.eventId)")


def test_search_and_pages_over_a_thousand_events(new_context, portal_url):
    tenant = TenantFactory(name="Acme Support", slug="acme")
    UserFactory(username="acme-admin", tenant=tenant)
    KustomerConnection.objects.create(tenant=tenant, base_url="https://acme.api.kustomerapp.com",
                                      api_key_encrypted=encrypt_secret("k" * 20))
    make_events(tenant, 1200)
    page = log_in(new_context(), portal_url, "acme-admin")
    page.locator("nav.side").get_by_role("link", name="Sync events", exact=True).click()
    page.wait_for_selector("[data-testid=events]")
    assert page.get_by_test_id("result-count").inner_text() == "Events 1–50 of 1200"
    first = rows(page)
    assert len(first) == 50 and first[0] == "evt-1199" and first[-1] == "evt-1150"

    pager = page.get_by_test_id("pager")
    pager.get_by_role("link", name="Next ›").click()
    page.wait_for_url("**page=2")
    assert rows(page)[0] == "evt-1149"
    page.get_by_test_id("pager").get_by_role("link", name="24", exact=True).click()
    page.wait_for_url("**page=24")
    assert rows(page)[-1] == "evt-0000"
    assert page.get_by_test_id("pager").get_by_role("link", name="Next ›").count() == 0

    # A phone number as a person types it finds the one event of that caller.
    page.fill("#id_q", "(415) 555-0778")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**q=*")
    assert rows(page) == ["evt-0778"]
    customer, conversation = f"{778:024x}", f"{778 + 5000:024x}"
    assert page.get_by_test_id("conversation-link").get_attribute("href") == (
        f"https://acme.kustomerapp.com/app/customers/{customer}/event/{conversation}")
    screenshot(page, "events-search")

    # A Kustomer conversation id finds it too; clearing the search shows everything again.
    page.fill("#id_q", conversation)
    submit(page, page.get_by_role("button", name="Search"))
    assert rows(page) == ["evt-0778"]
    submit(page, page.get_by_role("link", name="Clear filters"))
    assert len(rows(page)) == 50

    # Filters hold while paging: failed chats only (every 15th event: 80 of them).
    page.select_option("#id_state", "failed")
    page.select_option("#id_type", "session.started")
    submit(page, page.get_by_role("button", name="Search"))
    assert page.get_by_test_id("result-count").inner_text() == "Events 1–50 of 80"
    page.get_by_test_id("pager").get_by_role("link", name="Next ›").click()
    page.wait_for_url("**page=2")
    assert rows(page)[-1] == "evt-0000" and len(rows(page)) == 30
    assert page.locator("#id_state").input_value() == "failed"

    # Sort by receipt, oldest first.
    page.locator("th a[data-sort=received]").click()
    page.wait_for_url("**sort=received*")
    assert rows(page)[:2] == ["evt-0000", "evt-0015"]

    page.locator("[data-testid=events] a", has_text="evt-0015").click()
    page.wait_for_selector("[data-testid=event-body]")
    assert '"id": "evt-0015"' in page.get_by_test_id("event-body").inner_text()
