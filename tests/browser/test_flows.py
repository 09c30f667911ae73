"""Each flow of the portal and the adapter walked as a person would, in headless
Chromium, against the live portal, a real Celery worker and the Kustomer sandbox.

Screenshots of the main pages go to docs/screenshots/ (shown in README.md).
"""
from __future__ import annotations

import json
import re
import time

import pytest
from django.utils import timezone

from conversations.models import Event
from kustomer_sandbox.demo import seed_statuses
from kustomer_sandbox.store import add_user
from kustomer_sandbox.work_sessions import work_session_start
from integrations.models import KustomerConnection
from core.crypto import encrypt_secret
from statusmapping import services as status_services
from statusmapping.models import KustomerStatus
from tests.browser.conftest import install_kustomer_app, log_in, open_desktop, screenshot
from tests.tenants.factories import SupportUserFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

AGENT = "agent1@example.com"
MAPPING = {"Available": "Available", "Busy": "Meeting", "Unavailable": "Unavailable", "Offline": "Offline",
           "Lunch": "Lunch", "Break": "Break", "Training": "Training"}


def wait_until(predicate, *, timeout: float = 30, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


def seed_kustomer_agent(e2e, email: str = AGENT, name: str = "Agent One") -> dict:
    """The Kustomer org has routing statuses and the agent, working, Available."""
    org = e2e.sandbox.org
    with e2e.sandbox.server.state.lock:
        statuses = seed_statuses(org)
        user = add_user(org, name=name, email=email)
        work_session_start(org, user["id"], statuses["Available"])
    return user


def create_customer(e2e, name: str, phone: str) -> str:
    """A customer Kustomer already knows (created through Kustomer's API)."""
    created = e2e.sandbox.session().post(f"{e2e.sandbox.base_url}/v1/customers", json={
        "name": name, "phones": [{"type": "mobile", "phone": phone}],
    }, timeout=10)
    assert created.status_code == 201, created.text
    return created.json()["data"]["id"]


def inheritance_on_and_mapped(e2e) -> None:
    """What the support and admin flows below set up through the pages."""
    tenant = e2e.tenant
    status_services.status_inheritance_availability_set(tenant=tenant, available=True, changed_by="support-1")
    status_services.status_inheritance_update(tenant=tenant, enabled=True)
    status_services.kustomer_statuses_refresh(tenant_id=tenant.pk)
    status_services.status_mapping_save(
        tenant=tenant, mapping={k.kustomer_id: MAPPING.get(k.name) for k in KustomerStatus.objects.filter(tenant=tenant)},
    )


def sign_in_link(admin_page, portal_url: str, email: str = AGENT) -> str:
    """The admin issues a one-time adapter sign-in link from the dashboard."""
    admin_page.goto(f"{portal_url}/")
    admin_page.get_by_test_id(f"adapter-link-{email}").click()
    return admin_page.get_by_test_id("adapter-link-url").input_value()


def open_host_page(context, e2e, portal_url: str, email: str = AGENT, *, link: str | None = None):
    """The agent opens Kustomer (the sandbox's desktop) with the tenant's app installed."""
    return open_desktop(context, e2e.sandbox, email, link=link)


@pytest.fixture(autouse=True)
def kustomer_app(request, settings):
    """Flows with a live portal start from the tenant's Kustomer app installed (R-X4)."""
    if "e2e" in request.fixturenames:
        e2e = request.getfixturevalue("e2e")
        portal_url = request.getfixturevalue("portal_url")
        return install_kustomer_app(e2e.sandbox, tenant=e2e.tenant, portal_url=portal_url, settings=settings)
    return None


@pytest.fixture
def admin(e2e):
    return UserFactory(username="e2e-admin", tenant=e2e.tenant)


def test_r_f2_admin_creates_a_custom_field_and_kustomer_has_it(e2e, admin, new_context, portal_url):
    page = log_in(new_context(), portal_url, "e2e-admin")
    page.locator("nav.side").get_by_role("link", name="Custom fields for Account and Record").click()
    row = page.locator('tr[data-key="queue_name"]')
    row.get_by_test_id("create").click()
    assert "Queue name" in page.get_by_test_id("messages").inner_text()
    # The worker creates it in Kustomer; the page shows the new state by itself.
    page.wait_for_function(
        """() => document.querySelector('tr[data-key="queue_name"] [data-testid="state"]').innerText === 'Created'""",
        timeout=30_000,
    )
    attribute = row.locator("code").inner_text()
    assert attribute.endswith("Str")
    assert attribute in json.dumps(e2e.sandbox.dump()["metadata"])
    screenshot(page, "custom_fields")


def test_r_s1_r_s2_support_makes_inheritance_available_then_admin_enables_and_maps(
    e2e, admin, new_context, portal_url
):
    seed_kustomer_agent(e2e)
    SupportUserFactory(username="support-1")

    # Step 1 (support staff): Support › Tenants › Status inheritance.
    support = log_in(new_context(), portal_url, "support-1")
    support.locator("nav.side").get_by_role("link", name="Status inheritance").click()
    support.get_by_test_id(f"tenant-{e2e.tenant.slug}").get_by_role("button", name="Make available").click()
    assert "now available to E2E Tenant" in support.get_by_test_id("messages").inner_text()
    screenshot(support, "support_status_inheritance")

    # Step 2 (tenant admin): Developer settings › Agent status.
    page = log_in(new_context(), portal_url, "e2e-admin")
    page.locator("nav.side").get_by_role("link", name="Agent status", exact=True).click()
    assert page.get_by_test_id("inheritance-state").inner_text() == "Off"
    page.check("#id_enabled")
    page.get_by_role("button", name="Save agent status settings").click()
    assert "Agent status settings saved." in page.get_by_test_id("messages").inner_text()
    assert page.get_by_test_id("inheritance-state").inner_text() == "On"
    screenshot(page, "agent_status")

    # Status mapping › Set and manage: read Kustomer's statuses, map them, save.
    page.locator("nav.side").get_by_role("link", name="Status mapping › Set and manage").click()
    page.get_by_role("button", name="Refresh statuses from Kustomer").click()
    assert "Reading the statuses from Kustomer" in page.get_by_test_id("messages").inner_text()

    def statuses_listed():
        page.reload()
        return page.locator('select[name^="map:"]').count() == len(MAPPING)

    wait_until(statuses_listed, what="Kustomer statuses on the mapping page")
    for kustomer_name, cc_name in MAPPING.items():
        page.get_by_label(f"CC status for {kustomer_name}", exact=True).select_option(cc_name)
    page.get_by_role("button", name="Save status mapping", exact=True).click()
    assert "Status mapping saved." in page.get_by_test_id("messages").inner_text()
    assert page.get_by_label("CC status for Lunch", exact=True).input_value() == "Lunch"
    saved = {k.name: k.cc_status.name for k in KustomerStatus.objects.filter(tenant=e2e.tenant).select_related("cc_status")}
    assert saved == MAPPING
    screenshot(page, "status_mapping")


def test_r_s4_r_s10_r_s6_status_changed_in_kustomer_follows_in_the_adapter_and_on_the_dashboard(
    e2e, admin, new_context, portal_url
):
    seed_kustomer_agent(e2e)
    inheritance_on_and_mapped(e2e)
    status_services.agent_create(tenant=e2e.tenant, email=AGENT, name="Agent One")
    create_customer(e2e, "Ann Lee", "+14155550123")

    browser = new_context()  # the agent works on the same machine as the admin here
    dashboard = log_in(browser, portal_url, "e2e-admin")
    host, adapter = open_host_page(browser, e2e, portal_url, link=sign_in_link(dashboard, portal_url))
    assert "Signed in as agent1@example.com" in adapter.locator(".notes").inner_text()

    # R-S4: the agent picks Lunch in Kustomer; the adapter relays it and the CC follows.
    host.get_by_test_id("kustomer-status-picker").select_option("Lunch")
    host.wait_for_function("""() => document.querySelector('[data-testid="kustomer-status-note"]').innerText.includes('Lunch')""")
    wait_until(lambda: adapter.get_by_test_id("cc-status").input_value() == "Lunch", what="adapter showing Lunch")
    wait_until(lambda: adapter.get_by_test_id("kustomer-status").inner_text() == "Kustomer: Lunch", what="Kustomer status")
    assert "Lunch" in adapter.get_by_test_id("status-note").inner_text()
    dashboard.goto(f"{portal_url}/")
    row = dashboard.get_by_test_id(f"agent-{AGENT}")
    wait_until(lambda: row.get_by_test_id("cc-status").inner_text().strip() == "Lunch", what="dashboard showing Lunch")
    assert row.get_by_test_id("kustomer-status").inner_text().strip() == "Lunch"

    # R-S10: the agent sets their CC status from the adapter's dropdown.
    adapter.get_by_test_id("cc-status").select_option("Available")
    wait_until(lambda: "Status set to Available" in adapter.get_by_test_id("status-note").inner_text(),
               what="adapter confirming Available")
    # The dashboard re-reads its live cards every few seconds, without a reload.
    wait_until(lambda: row.get_by_test_id("cc-status").inner_text().strip() == "Available", timeout=15,
               what="dashboard following Available")
    feed = dashboard.get_by_test_id("status-feed").inner_text()
    assert "CC Available" in feed and "Kustomer Lunch → CC Lunch" in feed
    host.locator('[data-customer-id]').first.click()  # a customer in view, as an agent works
    wait_until(lambda: adapter.get_by_test_id("context-customer").inner_text() == "Ann Lee", what="context update")
    screenshot(host, "host_page_with_adapter")

    # R-S6: a second Kustomer tab of the same agent: both adapters and the dashboard warn.
    host2, adapter2 = open_host_page(browser, e2e, portal_url)
    for frame in (adapter, adapter2):
        frame.get_by_test_id("several-instances").wait_for(state="visible", timeout=15_000)
    wait_until(lambda: row.get_by_test_id("several-instances").count() == 1, timeout=15,
               what="dashboard warning of two tabs")
    assert "2 tabs open" in row.inner_text()
    # While two instances are live the sync does not guess which one to follow.
    host2.get_by_test_id("kustomer-status-picker").select_option("Break")
    wait_until(lambda: "several instances" in adapter2.get_by_test_id("status-note").inner_text(),
               what="several-instances decision in the adapter")
    assert adapter.get_by_test_id("cc-status").input_value() == "Available"
    screenshot(dashboard, "dashboard")
    host2.close()


def test_r_x2_r_x3_a_phone_number_in_kustomer_fills_the_dialer_and_the_call_opens_its_conversation(
    e2e, admin, new_context, portal_url
):
    seed_kustomer_agent(e2e)
    status_services.agent_create(tenant=e2e.tenant, email=AGENT, name="Agent One")
    KustomerConnection.objects.filter(tenant=e2e.tenant).update(kustomer_org_id=e2e.sandbox.org_id)
    customer_id = create_customer(e2e, "Ann Lee", "+14155550123")

    browser = new_context()
    admin_page = log_in(browser, portal_url, "e2e-admin")
    host, adapter = open_host_page(browser, e2e, portal_url, link=sign_in_link(admin_page, portal_url))

    # R-X2: the agent clicks the customer's number in Kustomer's side panel.
    host.locator('[data-phone="+14155550123"]').click()
    # postMessage is asynchronous: the dialer fills a moment later.
    wait_until(lambda: adapter.get_by_test_id("dial-number").input_value() == "+14155550123",
               what="the dialer filled with the clicked number")
    assert adapter.get_by_test_id("dial-for").inner_text() == "for Ann Lee"
    assert adapter.get_by_test_id("context-customer").inner_text() == "Ann Lee"
    adapter.get_by_test_id("call").click()
    wait_until(lambda: "Calling +14155550123 (session ctc-" in adapter.get_by_test_id("dial-result").inner_text(),
               what="the call started")

    # The outbound call becomes a conversation of that customer in Kustomer (R-T3).
    conversation = wait_until(
        lambda: next((c for c in e2e.sandbox.conversations()
                      if c["relationships"]["customer"]["data"]["id"] == customer_id), None),
        what="the call's conversation in Kustomer",
    )
    # R-X3: the adapter shows the call and opens its conversation in Kustomer.
    assert "Outbound call with +14155550123" in adapter.get_by_test_id("current-line").inner_text()
    link = adapter.get_by_test_id("open-conversation")
    link.wait_for(timeout=30_000)
    assert link.get_attribute("data-conversation-id") == conversation["id"]
    assert link.get_attribute("href").endswith(f"/__sandbox/view/{e2e.sandbox.org_id}#conversation-{conversation['id']}")
    with browser.expect_page() as opened:  # a plain link: Kustomer's conversation in a new tab
        link.click()
    assert opened.value.url.endswith(f"#conversation-{conversation['id']}")
    opened.value.close()
    # The screen pop's history: the conversation in Kustomer, with the call's note (R-D2).
    host.locator(f'[data-conversation-id="{conversation["id"]}"].conv').click()
    history = host.locator(f'[data-conversation-id="{conversation["id"]}"].conv .item')
    wait_until(lambda: history.count() >= 1, what="the conversation's timeline in the host")
    screenshot(host, "host_page_click_to_call")

    # The minimize control folds the adapter, which tells Kustomer its height
    # (Kustomer.resize); the desktop shrinks the widget, and back.
    frame = host.locator('[data-testid="widget-frame"][data-widget="adapter"]')
    adapter.get_by_test_id("minimize").click()
    wait_until(lambda: int(frame.get_attribute("data-height") or 999) < 120, what="desktop shrinking the widget")
    assert not adapter.get_by_test_id("dialer").is_visible()
    adapter.get_by_test_id("minimize").click()
    wait_until(lambda: int(frame.get_attribute("data-height") or 0) > 200, what="desktop restoring the widget")
    assert adapter.get_by_test_id("dialer").is_visible()


def test_a_failed_event_shows_on_the_dashboard_with_its_error_and_retry_completes_it(
    e2e, admin, new_context, portal_url
):
    """§5: a failed event is visible with Kustomer's reason and a way to retry."""
    connection = KustomerConnection.objects.get(tenant=e2e.tenant)
    KustomerConnection.objects.filter(pk=connection.pk).update(api_key_encrypted=encrypt_secret("revoked-key"))
    body = {
        "id": "evt-dash-1", "type": "call.answered", "occurred_at": timezone.now().isoformat(),
        "session": {"id": "s-dash-1", "channel": "voice", "source": "ivr", "menu": "Billing", "queue": "Billing",
                    "language": "en", "recording_enabled": False},
        "end_user": {"phone": "+14155550177", "identifier": None, "name": "Bo Diaz", "email": None},
        "agent": {"email": AGENT}, "data": {},
    }
    assert e2e.post("/api/v1/events", body).status_code == 202
    wait_until(lambda: Event.objects.get(tenant=e2e.tenant, event_id="evt-dash-1").state == Event.State.FAILED,
               what="the event failing on the revoked key")

    page = log_in(new_context(), portal_url, "e2e-admin")
    row = page.get_by_test_id("failed-evt-dash-1")
    error = row.locator(".error-text").inner_text()
    assert re.search(r"401|unauthori[sz]ed|api key", error, re.I), error
    assert page.get_by_test_id("events-failed").locator(".n").inner_text() == "1"
    screenshot(page, "dashboard_failed_event")

    # The admin enters the org's valid key again, then presses Retry.
    KustomerConnection.objects.filter(pk=connection.pk).update(api_key_encrypted=encrypt_secret(e2e.sandbox.api_key))
    row.get_by_role("button", name="Retry").click()
    assert "Event evt-dash-1 queued again" in page.get_by_test_id("messages").inner_text()
    wait_until(lambda: Event.objects.get(tenant=e2e.tenant, event_id="evt-dash-1").state == Event.State.DONE,
               what="the retried event done")
    # The dashboard's live cards follow: no failed event left, one done.
    wait_until(lambda: page.get_by_test_id("events-done").locator(".n").inner_text() == "1", timeout=15,
               what="the dashboard counting the event done")
    assert page.get_by_test_id("failed-evt-dash-1").count() == 0
    assert "No failed events." in page.get_by_test_id("failed-events").inner_text()
    assert [c for c in e2e.sandbox.customers() if c["attributes"]["phones"][0]["phone"] == "+14155550177"]
