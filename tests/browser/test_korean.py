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
