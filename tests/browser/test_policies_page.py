"""Settings › Developer settings › Call logging policies in Chromium: the live preview
of a name template follows typing, a bad placeholder is refused next to its field, and
a save keeps what the admin chose (SPEC §6)."""
from __future__ import annotations

import pytest

from conversations.selectors import call_logging_policies_read
from tests.browser.conftest import log_in, screenshot
from tests.tenants.factories import TenantFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_sets_policies_with_a_live_preview(new_context, portal_url):
    tenant = TenantFactory(name="Acme Support", slug="acme")
    UserFactory(username="acme-admin", tenant=tenant)
    page = log_in(new_context(), portal_url, "acme-admin")
    page.locator("nav.side").get_by_role("link", name="Call logging policies", exact=True).click()
    page.select_option("#id_log_abandoned", "skip")
    page.select_option("#id_log_voicemail", "done")
    page.fill("#id_name_abandoned", "Missed call from {number} · {queue}")
    preview = page.locator('[data-preview-for="id_name_abandoned"]')
    assert preview.inner_text() == "→ Missed call from +1 415-555-0123 · Billing"
    page.fill("#id_name_abandoned", "Missed call from {caller}")
    assert "{caller}" in preview.inner_text()  # an unknown placeholder stays visible in the preview
    page.fill("#id_default_owner_team", "Front desk")  # R-P6: a team is looked up in the Kustomer org
    page.get_by_role("button", name="Save call logging policies").click()
    assert "{caller}" in page.get_by_test_id("error-name_abandoned").inner_text()
    assert "Connect Kustomer first" in page.get_by_test_id("error-default_owner_team").inner_text()
    page.fill("#id_default_owner_team", "")
    page.fill("#id_delay_chat_until_messages", "2")  # R-P5 for chats
    page.fill("#id_name_abandoned", "Missed call from {number} · {queue}")
    page.fill("#id_connected_numbers", "(415) 555-0100")
    page.fill("#id_default_owner_email", "desk@example.com")
    page.fill("#id_short_abandon_seconds", "10")
    page.get_by_role("button", name="Save call logging policies").click()
    page.wait_for_selector("[data-testid=messages]")
    policies = call_logging_policies_read(tenant=tenant)
    assert policies.log_as("abandoned") == "skip" and policies.log_as("voicemail") == "done"
    assert policies.log_as("chat") == "open"
    assert policies.name_templates == {"abandoned": "Missed call from {number} · {queue}"}
    assert policies.connected_numbers == ("+14155550100",) and policies.default_owner_email == "desk@example.com"
    assert policies.delay_chat_until_messages == 2 and policies.default_owner_team_id is None
    assert page.input_value("#id_connected_numbers") == "+14155550100"
    assert page.locator('[data-preview-for="id_name_abandoned"]').inner_text() == \
        "→ Missed call from +1 415-555-0123 · Billing"
    screenshot(page, "call-logging-policies")
