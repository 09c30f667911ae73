"""Issue 13: a tenant's whole life walked in Chromium against the live portal, a real
Celery worker and two Kustomer sandbox orgs: support creates the tenant with its first
admin; the admin follows the invitation link, sets a password, connects a sandbox org,
adds agents and a key; then switches to a second org (R-S14). Conversations and
statuses of the second org use its own ids only, its webhook subscription is there, and
the first org gets no further writes."""
from __future__ import annotations

import json
import re
import secrets
import time

import pytest
from django.core import mail

from conversations.models import WebhookSubscription
from integrations.models import KustomerConnection
from kustomer_sandbox.demo import seed_demo_org
from kustomer_sandbox.pytest_plugin import SandboxOrg
from statusmapping.models import Agent, KustomerStatus
from tests.browser.conftest import screenshot, submit
from tests.conversations.e2e_helpers import event
from tests.tenants.factories import SupportUserFactory

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

PASSWORD = "Harbour-lantern-42-blue"
AGENTS = ("agent1@example.com", "agent2@example.com")


def wait_until(predicate, *, timeout: float = 40, what: str = "condition", worker=None):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            log = worker.log()[-4000:] if worker is not None else ""
            pytest.fail(f"timed out waiting for {what}\n{log}")
        time.sleep(0.3)


@pytest.fixture
def stack(transactional_db, live_server, celery_worker_process, kustomer_sandbox, settings):
    """The live portal with a real worker (tasks not eager) and two fresh sandbox orgs."""
    from portal.celery import app

    orgs = []
    for label in ("first", "second"):
        key = secrets.token_hex(20)
        org = seed_demo_org(kustomer_sandbox.state, name=f"{label}-{secrets.token_hex(3)}", api_key=key, agent_count=2)
        orgs.append(SandboxOrg(server=kustomer_sandbox, org=org, api_key=key))
    url = live_server.url.replace("://localhost", "://127.0.0.1")
    settings.PORTAL_PUBLIC_URL = url
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        yield url, orgs[0], orgs[1], celery_worker_process
    finally:
        app.conf.task_always_eager = eager
        for org in orgs:
            with kustomer_sandbox.state.lock:
                org.org.webhooks.clear()


def _user_ids(org: SandboxOrg) -> dict[str, str]:
    with org.server.state.lock:
        return {u["attributes"]["email"]: u["id"] for u in org.org.users.values() if u["attributes"].get("email")}


def _writes(org: SandboxOrg) -> list[dict]:
    return [r for r in org.requests() if r["method"] in ("POST", "PUT", "PATCH", "DELETE")]


def _verified_org(tenant) -> str:
    connection = KustomerConnection.objects.get(tenant=tenant)
    return connection.kustomer_org_id if connection.verify_state == "ok" and not connection.pending_state else ""


def test_a_tenants_whole_life_from_invitation_to_moving_its_kustomer_org(stack, new_context):
    portal_url, org1, org2, worker = stack
    SupportUserFactory(username="support-1")

    # Support creates the tenant together with its first admin.
    support = new_context().new_page()
    support.goto(f"{portal_url}/login/")
    support.fill("#id_username", "support-1")
    support.fill("#id_password", "pw-for-tests-1")
    support.click("button[type=submit]")
    support.goto(f"{portal_url}/support/tenants/")
    support.fill("#id_name", "Acme Contact Center " + "x" * 70)  # a long name is fine now
    support.fill("#id_default_region", "US")
    support.fill("#id_admin_email", "boss@acme.test")
    support.fill("#id_admin_name", "Ann Boss")
    submit(support, support.get_by_role("button", name=re.compile("Create tenant")))
    assert "an invitation went to boss@acme.test" in support.get_by_test_id("messages").inner_text()
    from tenants.models import Tenant

    tenant = Tenant.objects.get(name__startswith="Acme Contact Center")
    assert len(tenant.slug) <= 60

    # The admin follows the invitation link and sets a password.
    invitation = wait_until(lambda: [m for m in mail.outbox if m.to == ["boss@acme.test"]], what="invitation e-mail")
    link = re.search(r"https?://\S+/invitation/\S+/", invitation[0].body).group(0)
    admin_context = new_context()
    page = admin_context.new_page()
    page.goto(link)
    page.fill("#id_new_password1", PASSWORD)
    page.fill("#id_new_password2", PASSWORD)
    page.get_by_role("button", name="Set password").click()
    page.fill("#id_username", "boss@acme.test")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("nav.side")

    # Connects the first sandbox org.
    page.goto(f"{portal_url}/settings/kustomer/")
    page.fill("#id_base_url", org1.base_url)
    page.fill("#id_api_key", org1.api_key)
    submit(page, page.get_by_role("button", name="Save and verify"))
    wait_until(lambda: _verified_org(tenant) == org1.org_id, what="first org verified", worker=worker)
    wait_until(lambda: WebhookSubscription.objects.filter(tenant=tenant).exclude(kustomer_webhook_id="").exists(),
               what="webhook subscription in the first org", worker=worker)
    old_webhook_id = WebhookSubscription.objects.get(tenant=tenant).kustomer_webhook_id
    assert old_webhook_id in org1.org.webhooks

    # Adds agents (linked by email) and reads the statuses, maps one.
    page.goto(f"{portal_url}/agents/")
    for email in AGENTS:
        page.fill("#id_email", email)
        submit(page, page.get_by_role("button", name=re.compile("Add")).first)
    ids1 = _user_ids(org1)
    wait_until(lambda: {a.email: a.kustomer_user_id for a in Agent.objects.filter(tenant=tenant)}
               == {e: ids1[e] for e in AGENTS}, what="agents linked in the first org", worker=worker)
    page.goto(f"{portal_url}/settings/status-mapping/")
    submit(page, page.get_by_role("button", name=re.compile("Refresh statuses")))

    def statuses_listed():
        page.reload()
        return page.locator('select[name^="map:"]').count() == len(org1.org.statuses)

    wait_until(statuses_listed, what="statuses of the first org", worker=worker)
    page.get_by_label("CC status for Lunch", exact=True).select_option("Lunch")
    submit(page, page.get_by_role("button", name=re.compile("Save status mapping")))
    assert KustomerStatus.objects.get(tenant=tenant, name="Lunch").cc_status.name == "Lunch"

    # Adds a key: the secret is shown once, after a redirect.
    page.goto(f"{portal_url}/settings/api-keys/")
    page.fill("#id_name", "Telephony events")
    page.get_by_label(re.compile("Send contact-center events")).check()
    submit(page, page.get_by_role("button", name="Create key"))
    plain = page.get_by_test_id("new-key-secret").inner_text().strip()
    page.reload()
    assert page.get_by_test_id("new-key").count() == 0
    import requests

    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {plain}"

    def call(session_id: str):
        body = event("call.answered", session_id, agent=AGENTS[0])
        assert api.post(f"{portal_url}/api/v1/events", json=body, timeout=30).status_code == 202
        wait_until(lambda: api.get(f"{portal_url}/api/v1/events/{body['id']}", timeout=30).json()["state"] == "done",
                   what=f"event {session_id} done", worker=worker, timeout=60)

    call("call-in-first-org")
    assert org1.conversations() and ids1[AGENTS[0]] in json.dumps(org1.conversations())

    # Switches to the second org: same URL, the second org's key.
    page.goto(f"{portal_url}/settings/kustomer/")
    page.fill("#id_api_key", org2.api_key)
    submit(page, page.get_by_role("button", name="Save and verify"))
    wait_until(lambda: _verified_org(tenant) == org2.org_id, what="second org in use", worker=worker)

    def move_summarised():
        page.reload()
        text = page.get_by_test_id("org-move").inner_text() if page.get_by_test_id("org-move").count() else ""
        return "2 re-linked by email" in text and "subscribed in the new org" in text and "mappings kept" in text

    wait_until(move_summarised, what="the move's summary", worker=worker)
    summary = page.get_by_test_id("org-move").inner_text()
    assert "the old org's subscription removed" in summary
    assert page.get_by_test_id("working-org").inner_text() == org2.org_id
    screenshot(page, "kustomer_connection_org_move")
    first_org_writes = len(_writes(org1))

    # The second org: agents, statuses, conversations use its own ids only.
    ids2 = _user_ids(org2)
    assert {a.email: a.kustomer_user_id for a in Agent.objects.filter(tenant=tenant)} == {e: ids2[e] for e in AGENTS}
    assert set(KustomerStatus.objects.filter(tenant=tenant).values_list("kustomer_id", flat=True)) <= set(org2.org.statuses)
    assert KustomerStatus.objects.get(tenant=tenant, name="Lunch").cc_status.name == "Lunch"  # kept by name
    call("call-in-second-org")
    held = json.dumps({"conversations": org2.conversations(), "customers": org2.customers()})
    assert ids2[AGENTS[0]] in held
    for old_id in list(ids1.values()) + [c["id"] for c in org1.customers()] + [c["id"] for c in org1.conversations()]:
        assert old_id not in held, f"an id of the first org reached the second: {old_id}"

    # The webhook subscription is in the second org and gone from the first.
    subscription = WebhookSubscription.objects.get(tenant=tenant)
    assert subscription.kustomer_webhook_id in org2.org.webhooks
    assert old_webhook_id not in org1.org.webhooks

    # The first org gets no further writes.
    time.sleep(2)
    assert len(_writes(org1)) == first_org_writes


def test_unsaved_changes_ask_before_leaving_the_agent_status_page(live_server, new_context, transactional_db):
    from tests.browser.conftest import log_in
    from tests.tenants.factories import TenantFactory, UserFactory

    tenant = TenantFactory(name="Acme", slug="acme")
    UserFactory(username="acme-admin", tenant=tenant)
    portal_url = live_server.url.replace("://localhost", "://127.0.0.1")
    page = log_in(new_context(), portal_url, "acme-admin")
    page.goto(f"{portal_url}/settings/agent-status/")
    page.click("#id_watch_interval_seconds")
    page.fill("#id_watch_interval_seconds", "42")
    with page.expect_event("dialog", timeout=10_000) as asked_first:
        page.close(run_before_unload=True)
    assert asked_first.value.type == "beforeunload"
    asked_first.value.dismiss()

    # Saving does not ask.
    page = log_in(new_context(), portal_url, "acme-admin")
    page.goto(f"{portal_url}/settings/agent-status/")
    asked = []
    page.on("dialog", lambda dialog: (asked.append(dialog.type), dialog.accept()))
    page.click("#id_watch_interval_seconds")
    page.fill("#id_watch_interval_seconds", "42")
    submit(page, page.get_by_test_id("settings-form").locator("button[type=submit]"))
    assert "saved" in page.get_by_test_id("messages").inner_text()
    assert asked == []
