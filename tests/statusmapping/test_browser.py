"""The pages in headless Chromium: the agents view follows status changes by itself
(R-S11 live view) without losing what the admin is typing; the mapping page's
dropdowns save the whole map and warn (R-S3)."""
from __future__ import annotations

import os
import shutil

import pytest
from django.conf import settings
from django.utils import timezone

from statusmapping import services
from statusmapping.models import KustomerStatus
from tests.statusmapping.factories import AgentFactory, KustomerStatusFactory, inheritance_on, seed_map

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_page(live_server, client, tenant_admin):
    chromium = shutil.which("chromium")
    if chromium is None:
        if os.environ.get("CI") == "true":
            pytest.fail("browser tests need chromium (scripts/ensure_chromium.sh)")
        pytest.skip("browser tests need chromium (scripts/ensure_chromium.sh)")
    sync_api = pytest.importorskip("playwright.sync_api")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    client.force_login(tenant_admin)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-dev-shm-usage"])
        context = browser.new_context()
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME,
                              "value": client.cookies[settings.SESSION_COOKIE_NAME].value, "url": live_server.url}])
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def test_agents_page_follows_status_changes_by_itself(browser_page, live_server, tenant_admin):
    tenant = tenant_admin.tenant
    inheritance_on(tenant)
    seed_map(tenant)
    AgentFactory(tenant=tenant, email="agent1@example.com", kustomer_user_id="u1")
    page = browser_page
    page.goto(f"{live_server.url}/agents/")
    row = page.locator('tr[data-testid="agent-agent1@example.com"]')
    assert "unknown" in row.inner_text()
    page.fill('input[name="name"]', "Typed but not sent")

    services.agent_status_change_record(tenant=tenant, event_id="st-1", source="kustomer",
                                        agent_email="agent1@example.com", kustomer_status_id="k3",
                                        occurred_at=timezone.now())
    page.wait_for_function(
        """() => document.querySelector('tr[data-testid="agent-agent1@example.com"]').innerText.includes('Break')""",
        timeout=12_000,
    )
    assert "Status 3" in row.inner_text()
    assert page.input_value('input[name="name"]') == "Typed but not sent"


def test_mapping_page_dropdowns_save_and_warn(browser_page, live_server, tenant_admin):
    tenant = tenant_admin.tenant
    KustomerStatusFactory(tenant=tenant, kustomer_id="k-off", name="Offline", status_type="offline")
    KustomerStatusFactory(tenant=tenant, kustomer_id="k-av", name="Available", status_type="available")
    page = browser_page
    page.goto(f"{live_server.url}/settings/status-mapping/")
    page.select_option('select[name="map:k-off"]', "In-chat")
    page.select_option('select[name="map:k-av"]', "Available")
    page.get_by_role("button", name="Save status mapping", exact=True).click()
    page.wait_for_selector("text=Status mapping saved.")
    assert page.locator('[data-code="routable_when_away"]').count() == 1
    assert page.input_value('select[name="map:k-off"]') == "In-chat"
    assert KustomerStatus.objects.get(kustomer_id="k-off").cc_status.name == "In-chat"


def test_r_o4_dry_run_shows_each_agents_would_be_status_without_saving(browser_page, live_server, tenant_admin):
    """R-O4 in Chromium: the admin changes a dropdown and presses Dry run: the agent
    whose Kustomer status it maps shows the status they would get; nothing is saved."""
    from tests.browser.conftest import screenshot

    tenant = tenant_admin.tenant
    inheritance_on(tenant)
    seed_map(tenant)
    AgentFactory(tenant=tenant, email="agent1@example.com", name="Ann Agent", kustomer_user_id="u1")
    AgentFactory(tenant=tenant, email="agent2@example.com", name="Bo Agent", kustomer_user_id="u2")
    for email, kid in (("agent1@example.com", "k3"), ("agent2@example.com", "k1")):
        services.agent_status_change_record(tenant=tenant, event_id=f"st-{email}", source="kustomer",
                                            agent_email=email, kustomer_status_id=kid, occurred_at=timezone.now())
    page = browser_page
    page.goto(f"{live_server.url}/settings/status-mapping/")
    page.select_option('select[name="map:k3"]', "Meeting")
    page.get_by_role("button", name="Dry run", exact=True).click()
    page.wait_for_selector('[data-testid="dry-run"]')
    ann = page.locator('tr[data-testid="dry-run-agent1@example.com"]')
    bo = page.locator('tr[data-testid="dry-run-agent2@example.com"]')
    assert ann.locator('[data-testid="would-be"]').inner_text() == "Meeting"
    assert "Break" in ann.inner_text() and "Status 3" in ann.inner_text()
    assert bo.locator('[data-testid="would-be"]').inner_text() == "Available" and "Stays as it is" in bo.inner_text()
    assert KustomerStatus.objects.get(tenant=tenant, kustomer_id="k3").cc_status.name == "Break"  # not saved
    page.locator('[data-testid="dry-run"]').scroll_into_view_if_needed()
    screenshot(page, "status_mapping_dry_run")
