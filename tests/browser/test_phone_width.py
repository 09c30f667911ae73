"""Every page at a phone's width (360 px): nothing runs off the screen sideways, the
menu folds away behind a button and opens on demand; and no page shows the
specification's rule codes."""
from __future__ import annotations

import re

import pytest
from django.utils import timezone

from conversations.models import Event
from statusmapping.services import agent_create
from tests.browser.conftest import PASSWORD, screenshot
from tests.tenants.factories import SupportUserFactory, TenantFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 360, "height": 740}
RULE_CODE = re.compile(r"\bR-[A-Z]{1,2}\d+\b")


def _phone_page(playwright_browser, portal_url: str, username: str):
    context = playwright_browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{portal_url}/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("header.top")
    return context, page


def _fits(page, path: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{path} is {width} px wide at {PHONE['width']} px"
    text = page.locator("body").inner_text()
    assert not RULE_CODE.search(text), f"{path} shows a rule code: {RULE_CODE.search(text).group(0)}"


def _seed(tenant) -> Event:
    agent_create(tenant=tenant, email="ann.longname.of.an.agent@acme-support.example", name="Ann")
    return Event.objects.create(
        tenant=tenant, event_id="evt-with-a-rather-long-identifier-0001", type="call.answered",
        occurred_at=timezone.now(), session_id="s-1", customer_key="+14155550123",
        raw_body='{"id": "evt-with-a-rather-long-identifier-0001", "note": "' + "x" * 200 + '"}',
        body_hash="x", payload={}, state=Event.State.FAILED, attempts=1, error="Kustomer said no " * 10,
    )


def test_every_admin_page_fits_a_phone_and_the_menu_folds(playwright_browser, portal_url):
    tenant = TenantFactory(name="Acme Support", slug="acme")
    UserFactory(username="acme-admin", tenant=tenant)
    event = _seed(tenant)
    context, page = _phone_page(playwright_browser, portal_url, "acme-admin")
    try:
        nav = page.locator("nav.side")
        assert not nav.is_visible()
        page.get_by_role("button", name="Menu").click()
        assert nav.is_visible()
        screenshot(page, "phone-menu-open", full_page=False)
        paths = nav.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
        paths.append(f"/sync/events/{event.pk}/")
        page.goto(portal_url + "/agents/")
        paths += page.locator("[data-testid=agents] tbody a").evaluate_all(
            "links => links.map(a => a.getAttribute('href'))")  # the agent's history and edit pages
        assert len(paths) >= 10
        for path in paths:
            page.goto(portal_url + path)
            page.wait_for_load_state()
            assert page.locator("h1").count() == 1, path
            assert not page.locator("nav.side").is_visible(), path
            _fits(page, path)
        page.goto(portal_url + "/")
        screenshot(page, "phone-dashboard")
        page.goto(portal_url + "/sync/events/")
        screenshot(page, "phone-events")
    finally:
        context.close()


def test_support_pages_and_sign_in_fit_a_phone(playwright_browser, portal_url):
    TenantFactory(name="Acme Support", slug="acme")
    SupportUserFactory(username="support-1")
    context = playwright_browser.new_context(viewport=PHONE, is_mobile=True)
    page = context.new_page()
    try:
        page.goto(portal_url + "/login/")
        _fits(page, "/login/")
        context.close()
        context, page = _phone_page(playwright_browser, portal_url, "support-1")
        page.get_by_role("button", name="Menu").click()
        paths = page.locator("nav.side a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
        assert paths
        for path in paths:
            page.goto(portal_url + path)
            page.wait_for_load_state()
            _fits(page, path)
    finally:
        context.close()


def test_the_sign_in_link_fits_the_agents_card_and_copies(playwright_browser, portal_url):
    tenant = TenantFactory(name="Acme Support", slug="acme")
    UserFactory(username="acme-admin", tenant=tenant)
    agent_create(tenant=tenant, email="ann@acme.test", name="Ann")
    context, page = _phone_page(playwright_browser, portal_url, "acme-admin")
    try:
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=portal_url)
        page.get_by_test_id("adapter-link-ann@acme.test").click()
        page.wait_for_selector("[data-testid=adapter-link]")
        _fits(page, "/ (sign-in link issued)")
        # Every button of the agents card stays inside the card.
        card = page.locator("[data-testid=agents]").bounding_box()
        for box in page.locator("[data-testid=agents] button").evaluate_all(
                "bs => bs.map(b => { const r = b.getBoundingClientRect(); return [r.left, r.right]; })"):
            assert card["x"] - 1 <= box[0] and box[1] <= card["x"] + card["width"] + 1, box
        url = page.get_by_test_id("adapter-link-url").input_value()
        page.get_by_test_id("copy-adapter-link").click()
        # The clipboard write is a promise: wait for the button to say it is done.
        page.wait_for_function(
            "() => document.querySelector('[data-testid=copy-adapter-link]').textContent.trim() === 'Copied'",
            timeout=10_000)
        assert page.evaluate("navigator.clipboard.readText()") == url
        screenshot(page, "phone-sign-in-link", full_page=False)
    finally:
        context.close()
