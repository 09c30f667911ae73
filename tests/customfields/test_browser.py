"""The page in headless Chromium: a pending field's state refreshes by itself, and what
the admin is typing in the SDK form stays."""
from __future__ import annotations

import os
import shutil

import pytest
from django.conf import settings
from django.utils import timezone

from customfields.models import CustomField
from tests.customfields.conftest import connect
from tests.customfields.factories import CustomFieldFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def browser_page(live_server):
    chromium = shutil.which("chromium")
    if chromium is None:
        if os.environ.get("CI") == "true":
            pytest.fail("browser tests need chromium (scripts/ensure_chromium.sh)")
        pytest.skip("browser tests need chromium (scripts/ensure_chromium.sh)")
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls
    # are still synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-dev-shm-usage"])
        context = browser.new_context()
        try:
            yield context
        finally:
            context.close()
            browser.close()
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.mark.django_db(transaction=True)
def test_a_pending_field_turns_created_on_the_page_without_losing_typed_values(
    browser_page, live_server, client, tenant_admin
):
    connect(tenant_admin.tenant, base_url="https://acme.api.kustomerapp.com", api_key="k-not-called")
    field = CustomFieldFactory(tenant=tenant_admin.tenant, catalogue_key="queue_name", state="pending", created_at=None)
    client.force_login(tenant_admin)
    browser_page.add_cookies([{
        "name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": live_server.url,
    }])
    page = browser_page.new_page()
    page.goto(f"{live_server.url}/settings/custom-fields/")
    row = page.locator('tr[data-key="queue_name"]')
    assert row.locator('[data-testid="state"]').inner_text() == "Pending"
    page.fill('input[name="sdk_key"]', "orderId")

    # The worker finishes the push.
    CustomField.objects.filter(pk=field.pk).update(state="created", created_at=timezone.now(), attempts=1)

    page.wait_for_function(
        """() => document.querySelector('tr[data-key="queue_name"] [data-testid="state"]').innerText === 'Created'""",
        timeout=10_000,
    )
    assert page.input_value('input[name="sdk_key"]') == "orderId"
    assert page.locator("#custom-fields-status").get_attribute("data-pending") == "0"
