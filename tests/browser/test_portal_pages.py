"""The portal and the adapter's sign-in in headless Chromium, without Kustomer: log in,
find every page by the source's paths, see only your own tenant, sign an agent in."""
from __future__ import annotations

import re

import pytest

from conversations.models import Event
from statusmapping.services import agent_create
from tests.browser.conftest import install_kustomer_app, log_in, screenshot, submit
from tests.tenants.factories import SupportUserFactory, TenantFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SOURCE_PATHS = [
    ("Kustomer connection", "Kustomer connection"),
    ("Custom fields for Account and Record", "Custom fields"),
    ("Agent status", "Agent status"),
    ("Status mapping › Set and manage", "Status mapping"),
]


def _failed_event(tenant, event_id: str, error: str) -> Event:
    from django.utils import timezone
    return Event.objects.create(
        tenant=tenant, event_id=event_id, type="call.answered", occurred_at=timezone.now(), session_id="s-1",
        customer_key="+14155550123", raw_body="{}", body_hash="x", payload={}, state=Event.State.FAILED,
        attempts=1, error=error,
    )


def test_admin_logs_in_and_finds_each_setting_by_the_sources_path(new_context, portal_url):
    tenant = TenantFactory(name="Acme Support", slug="acme")
    UserFactory(username="acme-admin", tenant=tenant)
    page = log_in(new_context(), portal_url, "acme-admin")

    assert page.locator("h1").inner_text() == "Acme Support"
    assert page.get_by_test_id("current-tenant").inner_text() == "Acme Support"
    nav = page.locator("nav.side")
    assert [h.lower() for h in nav.locator("h4").all_inner_texts()[:2]] == ["home", "settings › developer settings"]
    assert nav.locator("a.active").get_attribute("data-label") == "Dashboard"
    # Support pages are not offered to a tenant admin.
    assert nav.get_by_text("Support").count() == 0
    for label, heading in SOURCE_PATHS:
        submit(page, nav.get_by_role("link", name=label, exact=True))
        assert heading in page.locator("h1").inner_text()
        assert nav.locator("a.active").get_attribute("data-label") == label


def test_support_staff_see_support_tenants_and_open_one(new_context, portal_url):
    TenantFactory(name="Acme Support", slug="acme")
    SupportUserFactory(username="support-1")
    page = log_in(new_context(), portal_url, "support-1")
    # Support staff without an opened tenant land on Support › Tenants.
    assert page.locator("nav.side a.active").get_attribute("data-label") == "Tenants"
    assert "Open a tenant first" in page.get_by_test_id("messages").inner_text()
    # Until a tenant is open only the support pages are offered.
    assert page.locator("nav.side h4").all_inner_texts() in (["SUPPORT"], ["Support"])
    submit(page, page.get_by_test_id("tenant-acme").get_by_role("button", name="Open"))
    assert page.get_by_test_id("current-tenant").inner_text() == "Acme Support"
    page.goto(f"{portal_url}/")
    assert page.locator("h1").inner_text() == "Acme Support"
    assert page.locator("nav.side").get_by_role("link", name="Status inheritance").count() == 1
    assert page.locator("nav.side").get_by_role("link", name="Agent status", exact=True).count() == 1


def test_r_a1_dashboard_shows_only_the_admins_own_tenant(new_context, portal_url):
    acme = TenantFactory(name="Acme Support", slug="acme")
    globex = TenantFactory(name="Globex", slug="globex")
    UserFactory(username="acme-admin", tenant=acme)
    agent_create(tenant=acme, email="ann@acme.test", name="Ann")
    agent_create(tenant=globex, email="gus@globex.test", name="Gus")
    _failed_event(acme, "evt-acme-1", "Kustomer said no (acme)")
    _failed_event(globex, "evt-globex-1", "Kustomer said no (globex)")

    page = log_in(new_context(), portal_url, "acme-admin")
    body = page.locator("main").inner_text()
    assert "ann@acme.test" in body and "evt-acme-1" in body
    assert "gus@globex.test" not in body and "evt-globex-1" not in body and "globex" not in body.lower()


def test_adapter_sign_in_link_confirms_the_kustomer_email_and_works_once(new_context, portal_url):
    """R-S5: the agent signs in to the adapter with the same email as their Kustomer
    user; a wrong email is refused next to the field and what was typed stays."""
    tenant = TenantFactory(name="Acme Support", slug="acme")
    UserFactory(username="acme-admin", tenant=tenant)
    agent_create(tenant=tenant, email="agent1@example.com", name="Agent One")
    admin = log_in(new_context(), portal_url, "acme-admin")
    admin.get_by_test_id("adapter-link-agent1@example.com").click()
    admin.wait_for_selector('[data-testid="adapter-link"]')
    assert "Adapter sign-in link for agent1@example.com created" in admin.get_by_test_id("messages").inner_text()
    link = admin.get_by_test_id("adapter-link-url").input_value()
    # Issue 14 #9: the code travels in the fragment, which no server (nor its access log,
    # nor a Referer) ever sees.
    assert re.match(rf"{re.escape(portal_url)}/adapter/#code=\S+$", link)
    code = link.split("#code=", 1)[1]

    agent = new_context().new_page()  # the agent's own browser, sized like Kustomer's app widget
    agent.set_viewport_size({"width": 380, "height": 560})
    seen_by_server: list[str] = []
    agent.on("request", lambda r: seen_by_server.append(f"{r.url} {r.headers.get('referer', '')}"))
    agent.goto(link)
    assert agent.get_by_test_id("link-received").is_visible()
    assert "#code=" not in agent.url  # dropped from the address bar and history too
    agent.fill("#email", "someone.else@example.com")
    agent.click("button[type=submit]")
    assert "for another agent" in agent.get_by_test_id("error-email").inner_text()
    assert agent.input_value("#email") == "someone.else@example.com"
    screenshot(agent, "adapter_sign_in")

    agent.fill("#email", "Agent1@Example.com")
    agent.click("button[type=submit]")
    agent.wait_for_selector('[data-testid="adapter"]')
    assert "Signed in as agent1@example.com" in agent.locator(".notes").inner_text()
    assert agent.get_by_test_id("cc-status").is_visible()
    # No tenant API key reaches the browser: the page holds an agent-bound token only.
    assert "Bearer" not in agent.content()
    # Every URL and Referer the server got from the agent's browser (what an access log
    # keeps): the code is in none of them; it went in the sign-in form's POST body.
    assert seen_by_server and not [line for line in seen_by_server if code in line]

    again = new_context().new_page()
    again.goto(link)
    again.fill("#email", "agent1@example.com")
    again.click("button[type=submit]")
    assert "used already" in again.get_by_test_id("error-code").inner_text()


def test_dashboard_lists_a_failed_event_with_its_error_and_a_retry_button(new_context, portal_url):
    tenant = TenantFactory(name="Acme Support", slug="acme")
    UserFactory(username="acme-admin", tenant=tenant)
    _failed_event(tenant, "evt-9", "Kustomer 404: customer not found")
    page = log_in(new_context(), portal_url, "acme-admin")
    row = page.get_by_test_id("failed-evt-9")
    assert "Kustomer 404: customer not found" in row.inner_text()
    assert row.get_by_role("button", name="Retry").is_visible()
    assert page.get_by_test_id("events-failed").locator(".n").inner_text() == "1"


def test_r_s5_the_adapter_warns_when_kustomers_user_is_another_email(new_context, portal_url, sandbox_demo_org, settings):
    """The adapter signed in as agent1 inside the Kustomer desktop of agent2: statuses
    would follow the wrong person, so it says so."""
    tenant = TenantFactory(name="Acme Support", slug="acme")
    UserFactory(username="acme-admin", tenant=tenant)
    agent_create(tenant=tenant, email="agent1@example.com", name="Agent One")
    browser = new_context()
    admin = log_in(browser, portal_url, "acme-admin")
    admin.get_by_test_id("adapter-link-agent1@example.com").click()
    link = admin.get_by_test_id("adapter-link-url").input_value()

    install_kustomer_app(sandbox_demo_org, tenant=tenant, portal_url=portal_url, settings=settings)
    host = browser.new_page()
    host.goto(f"{sandbox_demo_org.base_url}/__sandbox/desktop/{sandbox_demo_org.org_id}?agent=agent2@example.com")
    adapter = host.frame_locator('[data-testid="widget-frame"][data-widget="adapter"]')
    adapter.locator("#code").fill(link)
    adapter.locator("#email").fill("agent1@example.com")
    adapter.get_by_role("button", name="Sign in").click()
    warning = adapter.get_by_test_id("email-mismatch")
    warning.wait_for(state="visible")
    assert "agent2@example.com" in warning.inner_text() and "agent1@example.com" in warning.inner_text()
