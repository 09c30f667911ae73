"""R-X4: the portal registers the tenant's Kustomer app with its org (through the task),
installs it, offers the upgrade when the product's version changes, and shows which."""
import pytest
from django.core.management import call_command

from integrations import services
from integrations.models import KustomerApp, KustomerConnection


@pytest.fixture
def connected(tenant, sandbox_org, django_capture_on_commit_callbacks, settings):
    settings.PORTAL_PUBLIC_URL = "https://portal.example.com"
    settings.KUSTOMER_APP_VERSION = "1.0.0"
    with django_capture_on_commit_callbacks(execute=True):
        services.kustomer_connection_save(tenant=tenant, base_url=sandbox_org.base_url, api_key=sandbox_org.api_key)
    assert KustomerConnection.objects.get(tenant=tenant).verify_state == KustomerConnection.VerifyState.OK
    return sandbox_org


def _press(admin_client, action, capture):
    with capture(execute=True):
        response = admin_client.post("/settings/kustomer/app/", {"action": action})
    assert response.status_code == 302
    return admin_client.get("/settings/kustomer/").content.decode()


def _installed(sandbox_org):
    return sandbox_org.session().get(f"{sandbox_org.base_url}/v1/apps", timeout=10).json()["data"]


@pytest.mark.django_db
def test_r_x4_install_from_the_portal_then_upgrade_after_the_product_version_changes(
    tenant, admin_client, connected, settings, django_capture_on_commit_callbacks
):
    page = admin_client.get("/settings/kustomer/").content.decode()
    assert "Not installed" in page and 'data-testid="kustomer-app-install"' in page

    page = _press(admin_client, "install", django_capture_on_commit_callbacks)
    (installed,) = _installed(connected)
    assert installed["attributes"]["app"] == f"ccaip_contact_center_{connected.org_id}"
    assert installed["attributes"]["version"] == "1.0.0"
    assert installed["attributes"]["settings"]["default"] == {"portalUrl": "https://portal.example.com", "tenant": tenant.slug}
    assert "Installed v1.0.0" in page and "(current)" in page
    # The request never called Kustomer itself: the task did (one register, one install).
    assert len(connected.requests(method="POST", path_contains="/v1/apps/available")) == 1

    settings.KUSTOMER_APP_VERSION = "1.1.0"
    page = admin_client.get("/settings/kustomer/").content.decode()
    assert "Upgrade available" in page and "Register version 1.1.0" in page

    page = _press(admin_client, "register", django_capture_on_commit_callbacks)
    assert "Upgrade available" in page and "Attention required" in page and "Installed v1.0.0" in page
    apps_page = connected.session().get(f"{connected.base_url}/__sandbox/apps/{connected.org_id}", timeout=10).text
    assert "Upgrade available: 1.1.0" in apps_page

    # The admin upgrades in Kustomer (Manage Apps › Installed Apps › Attention required › Upgrade).
    connected.session().post(f"{connected.base_url}/__sandbox/apps/{connected.org_id}/upgrade",
                             data={"app": installed["attributes"]["app"]}, timeout=10)
    page = _press(admin_client, "check", django_capture_on_commit_callbacks)
    assert "Installed v1.1.0" in page and "(current)" in page
    assert KustomerApp.objects.get(tenant=tenant).registered_versions == ["1.0.0", "1.1.0"]


@pytest.mark.django_db
def test_r_x4_registering_a_version_the_org_has_already_is_not_an_error(
    tenant, admin_client, connected, django_capture_on_commit_callbacks
):
    _press(admin_client, "install", django_capture_on_commit_callbacks)
    page = _press(admin_client, "register", django_capture_on_commit_callbacks)  # 409 from Kustomer: already there
    assert "Installed v1.0.0" in page and 'data-testid="kustomer-app-error"' not in page


@pytest.mark.django_db
def test_r_x4_a_definition_kustomer_refuses_shows_kustomers_answer(
    tenant, admin_client, connected, settings, django_capture_on_commit_callbacks
):
    settings.KUSTOMER_APP_VERSION = "1.0.0"
    _press(admin_client, "install", django_capture_on_commit_callbacks)
    settings.KUSTOMER_APP_VERSION = "0.9.0"  # older than what the org has: Kustomer answers 400
    page = _press(admin_client, "register", django_capture_on_commit_callbacks)
    assert KustomerApp.objects.get(tenant=tenant).state == KustomerApp.State.FAILED
    assert "Cannot register outdated version" in page


@pytest.mark.django_db
def test_r_x4_the_management_command_registers_the_new_version_for_each_org(connected, settings, capsys, tenant):
    call_command("kustomer_app", "--install")
    settings.KUSTOMER_APP_VERSION = "2.0.0"
    call_command("kustomer_app")
    out = capsys.readouterr().out
    assert f"{tenant.slug}: ccaip_contact_center_{connected.org_id} installed 1.0.0, registered 1.0.0, 2.0.0 -> upgrade_in_kustomer" in out
    assert _installed(connected)[0]["attributes"]["version"] == "1.0.0"  # the admin upgrades in Kustomer


@pytest.mark.django_db
def test_r_x4_a_kustomer_outage_shows_on_the_page_and_the_task_retries_it(
    tenant, admin_client, connected, django_capture_on_commit_callbacks
):
    from celery.exceptions import Retry

    from integrations.kustomer.errors import KustomerTransientError
    from integrations.tasks import kustomer_app_sync_task

    assert kustomer_app_sync_task.autoretry_for == (KustomerTransientError,)
    connected.inject_faults(error_next=50, error_status=503, path_contains="/v1/apps")
    with pytest.raises(Retry):  # eager here; a worker retries it with backoff
        with django_capture_on_commit_callbacks(execute=True):
            admin_client.post("/settings/kustomer/app/", {"action": "install"})
    page = admin_client.get("/settings/kustomer/").content.decode()
    assert 'data-testid="kustomer-app-error"' in page and "503" in page
    connected.clear_faults()
    page = _press(admin_client, "install", django_capture_on_commit_callbacks)
    assert "Installed v1.0.0" in page and 'data-testid="kustomer-app-error"' not in page


@pytest.mark.django_db
def test_r_x4_a_changed_definition_at_the_same_version_asks_for_a_new_version(
    tenant, admin_client, connected, settings, django_capture_on_commit_callbacks
):
    page = _press(admin_client, "install", django_capture_on_commit_callbacks)
    assert 'data-testid="kustomer-app-definition-changed"' not in page
    settings.PORTAL_PUBLIC_URL = "https://moved.example.com"  # the widget's URL would change
    page = admin_client.get("/settings/kustomer/").content.decode()
    assert 'data-testid="kustomer-app-definition-changed"' in page and "KUSTOMER_APP_VERSION" in page
    settings.KUSTOMER_APP_VERSION = "1.0.1"
    page = _press(admin_client, "register", django_capture_on_commit_callbacks)
    assert 'data-testid="kustomer-app-definition-changed"' not in page and "Upgrade available" in page
