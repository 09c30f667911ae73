"""R-A3: a connection is verified with GET /v1/users/current; its last error is shown."""
import pytest

from integrations import services
from integrations.models import KustomerConnection


def _save(tenant, sandbox_org, api_key, capture):
    with capture(execute=True):
        services.kustomer_connection_save(tenant=tenant, base_url=sandbox_org.base_url, api_key=api_key)
    return KustomerConnection.objects.get(tenant=tenant)


@pytest.mark.django_db
def test_a_valid_key_verifies_and_records_the_org(tenant, sandbox_org, django_capture_on_commit_callbacks):
    connection = _save(tenant, sandbox_org, sandbox_org.api_key, django_capture_on_commit_callbacks)
    assert connection.verify_state == KustomerConnection.VerifyState.OK
    assert connection.kustomer_org_id == sandbox_org.org_id
    assert connection.verified_at is not None
    assert connection.last_error == ""
    assert sandbox_org.requests(method="GET", path_contains="/v1/users/current")


@pytest.mark.django_db
def test_a_wrong_key_fails_with_kustomers_answer_shown_on_the_page(
    tenant, admin_client, sandbox_org, django_capture_on_commit_callbacks
):
    connection = _save(tenant, sandbox_org, "not-the-key", django_capture_on_commit_callbacks)
    assert connection.verify_state == KustomerConnection.VerifyState.FAILED
    assert "401" in connection.last_error
    page = admin_client.get("/settings/kustomer/").content.decode()
    assert "Failed" in page
    assert connection.last_error.split(":")[0] in page
    assert "not-the-key" not in page

    fixed = _save(tenant, sandbox_org, sandbox_org.api_key, django_capture_on_commit_callbacks)
    assert fixed.verify_state == KustomerConnection.VerifyState.OK
    assert fixed.last_error == ""


@pytest.mark.django_db
def test_an_unreachable_kustomer_is_retried_within_the_deadline_then_marked_failed(tenant, settings):
    """Issue 13: verification has a deadline and ends Failed, never stays Verifying."""
    from datetime import timedelta

    from celery.exceptions import Retry
    from django.utils import timezone

    from integrations.tasks import kustomer_connection_verify_task

    settings.KUSTOMER_TIMEOUT_SECONDS = 0.5
    # Port 9 (discard) has no listener here: every attempt is refused.
    connection = services.kustomer_connection_save(tenant=tenant, base_url="http://127.0.0.1:9", api_key="some-key")
    with pytest.raises(Retry):
        kustomer_connection_verify_task.apply(args=[connection.pk])
    connection.refresh_from_db()
    assert connection.verify_state == KustomerConnection.VerifyState.PENDING
    assert connection.last_error.startswith("Connection refused: nothing answers at 127.0.0.1:9")

    # Past the deadline the next attempt is the last one.
    KustomerConnection.objects.filter(pk=connection.pk).update(
        verify_started_at=timezone.now() - timedelta(seconds=settings.KUSTOMER_VERIFY_DEADLINE_SECONDS))
    kustomer_connection_verify_task.apply(args=[connection.pk])
    connection.refresh_from_db()
    assert connection.verify_state == KustomerConnection.VerifyState.FAILED
    assert connection.last_error.startswith("Connection refused")
