"""Browser fixtures: Debian's Chromium driven by Playwright against the live portal.

With CI=true a missing Chromium or Playwright fails the run loudly; elsewhere the
browser tests are skipped with the reason (run ./scripts/ensure_chromium.sh).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Every run takes the screenshots (a page that fails to render fails its test); they
# replace the committed ones in docs/screenshots/ (shown in README.md) only with
# UPDATE_SCREENSHOTS=1, so a test run leaves the working tree clean.
SCREENSHOTS = ROOT / ("docs/screenshots" if os.environ.get("UPDATE_SCREENSHOTS") == "1" else "var/screenshots")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
PASSWORD = "pw-for-tests-1"  # tests/tenants/factories.py


def _unavailable(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser tests need {reason} (CI=true): run ./scripts/ensure_chromium.sh", pytrace=False)
    pytest.skip(f"browser tests need {reason}: run ./scripts/ensure_chromium.sh")


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path and Path("/usr/bin/chromium").exists():
        path = "/usr/bin/chromium"
    if not path:
        _unavailable("Debian's chromium")
    return path


@pytest.fixture
def playwright_browser(chromium_executable):
    """One Chromium per test: Playwright's sync API cannot run twice at once in one
    thread, and other apps' browser tests start their own."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package")
    # Playwright's sync API keeps an event loop in this thread; the tests' own ORM calls
    # stay synchronous, so Django's async-safety guard is lifted for the browser run.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_executable, args=CHROMIUM_ARGS)
            try:
                yield browser
            finally:
                browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def new_context(playwright_browser):
    """Make browser contexts (one per person); all are closed after the test."""
    contexts = []

    def make():
        context = playwright_browser.new_context(viewport={"width": 1360, "height": 900})
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def portal_url(live_server, settings) -> str:
    # 127.0.0.1 rather than localhost: the sandbox's demo host page (also on 127.0.0.1)
    # then frames the adapter same-site, as a person running `make run` sees it.
    url = live_server.url.replace("://localhost", "://127.0.0.1")
    settings.PORTAL_PUBLIC_URL = url  # as a deployment sets it: links sent away use it
    return url


def log_in(context, portal_url: str, username: str, password: str = PASSWORD):
    """A person opens the portal and logs in through the form."""
    page = context.new_page()
    page.goto(f"{portal_url}/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_selector("nav.side")
    return page


def submit(page, target) -> None:
    """Click a link or a form's button and wait for the page it leads to. A click
    followed by wait_for_load_state() can return at once (the old page is loaded), so a
    reload or a database assertion straight after it races the navigation."""
    with page.expect_navigation(wait_until="load"):
        target.click()


def screenshot(page, name: str, *, full_page: bool = True) -> Path:
    """Save <name>.png into SCREENSHOTS (see above)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def install_kustomer_app(sandbox, *, tenant, portal_url: str, settings, version: str | None = None) -> str:
    """The tenant's Kustomer app (R-X4) registered and installed in the sandbox org, its
    widget being this live portal's adapter, which loads the sandbox's Cards SDK stand-in.
    Returns the app's (namespaced) name. The installing flow itself is walked in
    test_kustomer_app.py; other flows start from an installed app."""
    from integrations import app_services
    from integrations.models import KustomerConnection

    settings.PORTAL_PUBLIC_URL = portal_url
    settings.KUSTOMER_CARDS_SDK_URL = f"{sandbox.base_url}/__sandbox/card-js/kustomer-card.min.js"
    if version:
        settings.KUSTOMER_APP_VERSION = version
    connection = KustomerConnection.objects.filter(tenant=tenant).first() or KustomerConnection(tenant=tenant)
    definition = app_services.kustomer_app_definition(tenant=tenant, connection=connection)
    registered = sandbox.session().post(f"{sandbox.base_url}/v1/apps/available", json=definition, timeout=10)
    assert registered.status_code == 200, registered.text
    name = registered.json()["data"]["attributes"]["app"]
    installed = sandbox.session().post(f"{sandbox.base_url}/v1/apps/install",
                                       json={"app": name, "version": definition["version"]}, timeout=10)
    assert installed.status_code == 200, installed.text
    return name


def open_desktop(context, sandbox, email: str, *, link: str | None = None):
    """The agent opens Kustomer (the sandbox's agent desktop) where the installed app's
    widget is the adapter; with `link` they sign the adapter in right there: paste the
    link, confirm the email their Kustomer user has (R-S5). Returns (desktop, adapter)."""
    page = context.new_page()
    page.goto(f"{sandbox.base_url}/__sandbox/desktop/{sandbox.org_id}?agent={email}")
    adapter = page.frame_locator('[data-testid="widget-frame"][data-widget="adapter"]')
    if link:
        adapter.locator("#code").fill(link)
        adapter.locator("#email").fill(email)
        adapter.get_by_role("button", name="Sign in").click()
    # Ready: its script ran and initialized the Cards SDK, which the desktop answered.
    adapter.locator('[data-testid="adapter"][data-ready="1"][data-sdk="initialized"]').wait_for()
    page.locator('[data-testid="widget-frame"][data-widget="adapter"][data-initialized="1"]').wait_for()
    return page, adapter
