"""Settings › Developer settings › CCAI Platform session events in Chromium: the admin
creates the endpoint, copies the password shown once into "CCAI Platform" (here: a
delivery with basic auth), and sees the deliveries with what each became."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import requests

from loadtest import ccaip_format as fmt
from tests.browser.conftest import log_in, screenshot
from tests.tenants.factories import TenantFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_sets_credentials_and_sees_deliveries(new_context, portal_url):
    tenant = TenantFactory(name="Acme Support", slug="acme")
    UserFactory(username="acme-admin", tenant=tenant)
    page = log_in(new_context(), portal_url, "acme-admin")
    page.locator("nav.side").get_by_role("link", name="CCAI Platform session events", exact=True).click()
    page.get_by_role("button", name="Create endpoint and password").click()
    password = page.get_by_test_id("password").inner_text()
    calls_url = page.get_by_test_id("calls-url").inner_text()
    assert len(password) >= 24 and calls_url.endswith("/calls")
    page.fill("#id_agent_emails", "15 = ann@example.com")
    page.get_by_role("button", name="Save agents").click()
    page.wait_for_selector("[data-testid=messages]")
    assert page.get_by_test_id("new-password").count() == 0  # shown once

    events = fmt.answered_session(call_id="88412", dn="+14155550123", start=datetime(2026, 12, 1, 22, tzinfo=timezone.utc),
                                  agent=fmt.Agent("15", "Ann Agent"), queue_path_names=["Billing", "Refunds"])
    assert requests.post(calls_url, json=fmt.delivery(events[:4]), auth=("ccaip-acme", "wrong"),
                         timeout=10).status_code == 401
    r = requests.post(calls_url, json=fmt.delivery(events[:4]), auth=("ccaip-acme", password), timeout=10)
    assert r.status_code == 200 and r.json()["recorded"] == ["ccaip-call-88412-answered"]
    requests.post(calls_url, json=fmt.delivery(events[3:]), auth=("ccaip-acme", password), timeout=10)
    page.reload()
    table = page.get_by_test_id("deliveries")
    assert table.locator("tbody tr").count() == 6
    text = table.inner_text()
    assert "call.answered" in text and "session.ended" in text and "disposition.submitted" in text
    assert "+1 repeat" in text  # the "active" update was sent twice
    assert text.count("translated with") == 3 + 1  # the batches' earlier updates point at their latest
    assert page.locator("nav.side h4", has_text="Developer settings").count() == 1
    screenshot(page, "ccaip-settings")
