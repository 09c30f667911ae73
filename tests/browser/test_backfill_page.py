"""R-O3 in Chromium against the live portal, a real Celery worker and the Kustomer
sandbox: the admin fills a field for earlier sessions and watches its progress (done /
total, rate, time left) move by itself to the result; Kustomer then holds the values.
Screenshot: docs/screenshots/custom_field_backfill.png (mid-run)."""
from __future__ import annotations

import pytest

from tests.browser.conftest import log_in, screenshot, submit
from tests.conversations.e2e_helpers import apply, event
from tests.tenants.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_r_o3_admin_starts_a_backfill_and_watches_its_progress(e2e, new_context, portal_url):
    UserFactory(username="e2e-admin", tenant=e2e.tenant)
    sessions = [apply(e2e, event("call.answered", f"bf-page-{n}", phone=f"+1415556{n:04d}", agent=None))
                for n in range(6)]
    r = e2e.post("/api/v1/custom-fields", {"key": "queue_name"})
    field_id = r.json()["id"]
    e2e.wait_for(lambda: e2e.get(f"/api/v1/custom-fields/{field_id}").json()["state"] == "created", timeout=60,
                 what="the field created in Kustomer")
    e2e.sandbox.inject_faults(latency_ms=1500, methods=["PATCH"], path_contains="/messages/")  # slow enough to watch

    page = log_in(new_context(), portal_url, "e2e-admin")
    submit(page, page.locator("nav.side").get_by_role("link", name="Backfill past sessions"))
    page.get_by_label("Field").select_option(label="Queue name (queueNameStr)")
    page.get_by_label("Sessions of the last N days").fill("30")
    submit(page, page.get_by_role("button", name="Start backfill"))
    assert "Backfill of Queue name started." in page.get_by_test_id("messages").inner_text()

    job = page.locator(".backfill-job").first
    # The page refreshes itself: the count moves while it runs, with a rate and a time left.
    page.wait_for_function("""() => { const p = document.querySelector('[data-testid="backfill-progress"]');
        return p && /^\\s*[2-5] \\/ 6/.test(p.innerText) && /left/.test(p.innerText); }""", timeout=30_000)
    assert job.get_attribute("data-state") == "running"
    assert "per minute" in job.get_by_test_id("backfill-progress").inner_text()
    assert job.get_by_role("button", name="Cancel").is_visible()
    screenshot(page, "custom_field_backfill")

    page.wait_for_selector('.backfill-job[data-state="done"]', timeout=30_000)
    job = page.locator(".backfill-job").first
    assert "6 / 6" in job.get_by_test_id("backfill-progress").inner_text()
    assert "Written: 6 · skipped (no value or no record): 0 · failed: 0" in job.get_by_test_id("backfill-result").inner_text()
    assert job.get_by_role("button", name="Cancel").count() == 0
    for s in sessions:
        for message_id in s["kustomer"]["message_ids"]:
            record = next(m for m in e2e.sandbox.messages() if m["id"] == message_id)
            assert record["attributes"]["custom"]["queueNameStr"] == "Billing"
