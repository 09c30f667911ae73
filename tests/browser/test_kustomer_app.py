"""R-X4 walked in Chromium: an admin connects a sandbox org and installs the tenant's
Kustomer app from the portal; the agent opens Kustomer (the sandbox's agent desktop)
where the adapter is the installed app's widget, signs in, changes status and calls a
customer through the Cards SDK; then the product's app version changes, the portal and
Kustomer both say "upgrade available", and the upgrade takes the new version."""
from __future__ import annotations

import pytest

from integrations.models import KustomerConnection
from statusmapping import services as status_services
from tests.browser.conftest import log_in, open_desktop, screenshot
from tests.browser.test_flows import AGENT, create_customer, inheritance_on_and_mapped, seed_kustomer_agent, sign_in_link, wait_until
from tests.tenants.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def _status_text(page) -> str:
    return page.get_by_test_id("kustomer-app-status").inner_text()


def test_r_x4_install_the_app_use_the_adapter_in_kustomer_then_upgrade_it(e2e, new_context, portal_url, settings):
    settings.PORTAL_PUBLIC_URL = portal_url
    settings.KUSTOMER_CARDS_SDK_URL = f"{e2e.sandbox.base_url}/__sandbox/card-js/kustomer-card.min.js"
    settings.KUSTOMER_APP_VERSION = "1.0.0"
    UserFactory(username="e2e-admin", tenant=e2e.tenant)
    seed_kustomer_agent(e2e)
    inheritance_on_and_mapped(e2e)
    status_services.agent_create(tenant=e2e.tenant, email=AGENT, name="Agent One")
    KustomerConnection.objects.filter(tenant=e2e.tenant).update(kustomer_org_id=e2e.sandbox.org_id)
    create_customer(e2e, "Ann Lee", "+14155550123")

    browser = new_context()
    admin = log_in(browser, portal_url, "e2e-admin")
    admin.goto(f"{portal_url}/settings/kustomer/")
    assert "Not installed" in _status_text(admin)
    assert "Settings › Apps › App Directory" in admin.get_by_test_id("kustomer-app-next").inner_text()
    admin.get_by_test_id("kustomer-app-install").click()
    # The worker registers the app with the org (POST /v1/apps/available) and installs it;
    # the page re-reads itself while it is pending.
    wait_until(lambda: admin.get_by_test_id("kustomer-app").get_attribute("data-state") == "current",
               what="the portal showing the app installed")
    assert "Installed v1.0.0" in _status_text(admin)
    screenshot(admin, "kustomer_app_installed")
    app_name = f"ccaip_contact_center_{e2e.sandbox.org_id}"
    (installed,) = e2e.sandbox.session().get(f"{e2e.sandbox.base_url}/v1/apps", timeout=10).json()["data"]
    assert installed["attributes"]["app"] == app_name and installed["attributes"]["version"] == "1.0.0"

    # The agent opens Kustomer: the app's widget is the adapter (from its definition).
    desktop, adapter = open_desktop(browser, e2e.sandbox, AGENT, link=sign_in_link(admin, portal_url))
    widget = desktop.locator('[data-testid="widget"][data-widget="adapter"]')
    assert widget.get_attribute("data-app") == app_name and widget.get_attribute("data-version") == "1.0.0"
    frame = desktop.locator('[data-testid="widget-frame"][data-widget="adapter"]')
    assert "microphone" in frame.get_attribute("allow")
    assert "Signed in as agent1@example.com" in adapter.locator(".notes").inner_text()

    # Status: the agent picks Lunch in Kustomer; the SDK tells the adapter, the CC follows.
    desktop.get_by_test_id("kustomer-status-picker").select_option("Lunch")
    wait_until(lambda: adapter.get_by_test_id("cc-status").input_value() == "Lunch", what="adapter following Lunch")
    adapter.get_by_test_id("cc-status").select_option("Available")
    wait_until(lambda: "Status set to Available" in adapter.get_by_test_id("status-note").inner_text(),
               what="adapter confirming Available")

    # Click-to-call through the SDK: a number clicked in Kustomer fills the dialer.
    desktop.locator('[data-phone="+14155550123"]').click()
    wait_until(lambda: adapter.get_by_test_id("dial-number").input_value() == "+14155550123", what="dialer filled")
    assert adapter.get_by_test_id("dial-for").inner_text() == "for Ann Lee"
    adapter.get_by_test_id("call").click()
    wait_until(lambda: "Calling +14155550123 (session ctc-" in adapter.get_by_test_id("dial-result").inner_text(),
               what="the call started")
    screenshot(desktop, "kustomer_desktop_with_app")

    # The product's app changes: a new version. The portal offers it...
    settings.KUSTOMER_APP_VERSION = "1.1.0"
    admin.goto(f"{portal_url}/settings/kustomer/")
    assert "Upgrade available" in _status_text(admin) and "1.1.0" in _status_text(admin)
    admin.get_by_test_id("kustomer-app-register").click()
    wait_until(lambda: admin.get_by_test_id("kustomer-app").get_attribute("data-state") == "upgrade_in_kustomer",
               what="the portal saying the org has the new version to upgrade to")
    assert "Manage Apps › Installed Apps › Attention required" in admin.get_by_test_id("kustomer-app-next").inner_text()
    assert "Upgrade available" in _status_text(admin) and "Installed v1.0.0" in _status_text(admin)
    screenshot(admin, "kustomer_app_upgrade_available")

    # ...and Kustomer shows it under Manage Apps › Installed Apps › Attention required.
    apps = browser.new_page()
    apps.goto(f"{e2e.sandbox.base_url}/__sandbox/apps/{e2e.sandbox.org_id}")
    assert "Upgrade available: 1.1.0" in apps.get_by_test_id("attention-required").inner_text()
    apps.get_by_test_id("upgrade-button").click()
    apps.get_by_test_id("apps-note").wait_for()
    assert apps.locator('[data-testid="installed-app"]').get_attribute("data-version") == "1.1.0"

    # The upgrade took the new version: the desktop's widget and the portal say so.
    desktop.reload()
    desktop.locator('[data-testid="widget"][data-widget="adapter"][data-version="1.1.0"]').wait_for()
    admin.get_by_test_id("kustomer-app-check").click()
    wait_until(lambda: "Installed v1.1.0" in _status_text(admin) and not admin.get_by_test_id("kustomer-app-pending").count(),
               what="the portal showing v1.1.0")
    assert "(current)" in _status_text(admin)
