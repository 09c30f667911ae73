"""A Korean-speaking admin's walk through the portal: the browser asks for Korean, so
the sign-in page, the menu and every main page are in Korean; the footer switches a
person to English and back, and the choice stays with them (this browser's sign-in page
included; other browsers: tests/portal/test_translations.py)."""
from __future__ import annotations

import re

import pytest

from tests.browser.conftest import PASSWORD, screenshot, submit
from tests.conversations.test_events_list import make_events
from tests.tenants.factories import TenantFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# (menu entry in Korean, its heading)
MAIN_PAGES = [
    ("대시보드", None),
    ("Kustomer 연결", "Kustomer 연결"),
    ("계정 및 레코드 사용자 정의 필드", "계정 및 레코드 사용자 정의 필드"),
    ("상담원 상태", "상담원 상태"),
    ("상태 매핑 › 설정 및 관리", "상태 매핑"),
    ("API 키", "API 키"),
    ("사용자", None),
    ("상담원", "상담원"),
    ("동기화 이벤트", "동기화 이벤트"),
]
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def test_korean_walk_of_the_admins_main_pages(playwright_browser, portal_url):
    tenant = TenantFactory(name="Acme Support", slug="acme")
    UserFactory(username="acme-admin", tenant=tenant)
    make_events(tenant, 60)
    context = playwright_browser.new_context(locale="ko-KR", viewport={"width": 1360, "height": 900})
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        page.goto(f"{portal_url}/")
        assert page.locator("html").get_attribute("lang") == "ko"
        page.fill("#id_username", "acme-admin")
        page.fill("#id_password", PASSWORD)
        page.get_by_role("button", name="로그인").click()
        nav = page.locator("nav.side")
        nav.wait_for()
        assert nav.locator("h4").first.inner_text() in ("홈", "HOME")
        for label, heading in MAIN_PAGES:
            submit(page, nav.get_by_role("link", name=label, exact=True))
            h1 = page.locator("h1").inner_text()
            if heading:
                assert heading in h1, (label, h1)
            crumbs = page.locator(".crumbs").inner_text()
            assert HANGUL.search(crumbs), (label, crumbs)
            assert nav.locator("a.active").inner_text().split("\n")[-1] == label
        submit(page, page.get_by_role("link", name="대시보드", exact=True))
        assert "동기화 상태" in page.locator("main").inner_text()
        screenshot(page, "dashboard-ko")
        submit(page, nav.get_by_role("link", name="동기화 이벤트", exact=True))
        assert page.get_by_test_id("result-count").inner_text() == "이벤트 60개 중 1–50"
        assert page.get_by_role("button", name="검색").count() == 1
        screenshot(page, "events-ko")

        # The footer switches this person to English; the choice outlives the session.
        submit(page, page.get_by_role("button", name="English"))
        assert page.locator("h1").inner_text() == "Sync events"
        submit(page, page.get_by_role("button", name="Log out"))
        # This browser keeps the choice (cookie), so the sign-in page is in English too.
        page.fill("#id_username", "acme-admin")
        page.fill("#id_password", PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.locator("nav.side").wait_for()
        assert page.locator("h1").inner_text() == "Acme Support"
        assert page.locator("nav.side").get_by_role("link", name="Dashboard", exact=True).count() == 1
        submit(page, page.get_by_role("button", name="한국어"))
        assert page.locator("nav.side").get_by_role("link", name="대시보드", exact=True).count() == 1
    finally:
        context.close()


# The newer pages (R-O1 Needs a customer, R-O4 import and dry run, R-O3 backfill, sync
# settings, call logging policies), the other admin pages and the agent's adapter panel,
# where Korean texts run longer than the English ones.
NEWER_PAGES = ["/sync/needs-customer/", "/settings/status-mapping/", "/settings/status-mapping/import/",
               "/settings/custom-fields/backfill/", "/settings/sync-settings/", "/settings/call-logging-policies/",
               "/settings/agent-status/", "/settings/users/", "/",
               # and the older ones, whose Korean runs longer too
               "/settings/kustomer/", "/settings/custom-fields/", "/settings/ccai-platform/", "/agents/",
               "/sync/events/", "/sync/webhooks/", "/settings/api-keys/"]


def test_the_newer_pages_in_korean_fit_a_phone_and_read_in_korean(playwright_browser, portal_url):
    from django.utils import timezone

    from adapter import auth
    from conversations.models import Event
    from statusmapping.services import agent_create, cc_status_create
    from tests.portal.test_korean_pages import english_sentences

    tenant = TenantFactory(name="Acme Support", slug="acme")
    UserFactory(username="acme-admin", tenant=tenant)
    agent_create(tenant=tenant, email="ann.longname.of.an.agent@acme-support.example", name="Ann")
    cc_status_create(tenant=tenant, name="Coaching")
    Event.objects.create(
        tenant=tenant, event_id="e-shared-1", type="call.answered", occurred_at=timezone.now(), session_id="s-1",
        customer_key="+14155550123", raw_body="{}", body_hash="x", payload={}, state=Event.State.NEEDS_CUSTOMER,
        customer_candidates=[{"id": "c-1", "name": "Ann Lee", "email": "ann@example.com"},
                             {"id": "c-2", "name": "Andy Lee", "email": "andy@example.com"}])
    context = playwright_browser.new_context(locale="ko-KR", viewport={"width": 360, "height": 740},
                                             is_mobile=True, has_touch=True)
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        page.goto(f"{portal_url}/")
        page.fill("#id_username", "acme-admin")
        page.fill("#id_password", PASSWORD)
        page.get_by_role("button", name="로그인").click()
        page.wait_for_selector("header.top")
        for path in NEWER_PAGES:
            page.goto(f"{portal_url}{path}")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 360, f"{path} is {width} px wide in Korean at 360 px"
            assert HANGUL.search(page.locator("main").inner_text()), path
            assert english_sentences(page.content()) == [], (path, english_sentences(page.content()))
        page.goto(f"{portal_url}/sync/needs-customer/")
        screenshot(page, "needs_customer-ko-phone")

        # The agent's panel (a narrow card inside Kustomer), signed in through a link whose
        # code rides in the fragment: Korean, adapter.js's words too, and it fits.
        email = "ann.longname.of.an.agent@acme-support.example"
        adapter = context.new_page()
        adapter.goto(f"{portal_url}/adapter/#code={auth.sign_in_code_make(tenant=tenant, agent_email=email)}")
        assert adapter.locator("html").get_attribute("lang") == "ko"
        adapter.fill("#email", email)
        submit(adapter, adapter.get_by_role("button", name="로그인"))
        adapter.get_by_test_id("adapter").wait_for()
        adapter.fill("#dial-number", "")
        adapter.get_by_test_id("call").click()  # adapter.js answers from its Korean texts
        assert adapter.get_by_text("전화번호를 입력하세요.").count() == 1
        assert HANGUL.search(adapter.locator("#current-body").inner_text())
        width = adapter.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"the adapter is {width} px wide in Korean at 360 px"
        assert english_sentences(adapter.content()) == [], english_sentences(adapter.content())
        screenshot(adapter, "adapter-ko-phone")
    finally:
        context.close()
