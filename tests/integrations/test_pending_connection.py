"""Issue 13 #2: a new key or URL is verified before it replaces the working one, errors
are in a person's words, and a check has a deadline."""
import socket
import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from core.crypto import decrypt_secret
from integrations import services
from integrations.models import KustomerConnection

pytestmark = pytest.mark.django_db


def _save(capture, tenant, **fields):
    with capture(execute=True):
        services.kustomer_connection_save(tenant=tenant, **fields)
    return KustomerConnection.objects.get(tenant=tenant)


@pytest.fixture
def working(tenant, sandbox_org, django_capture_on_commit_callbacks):
    connection = _save(django_capture_on_commit_callbacks, tenant, base_url=sandbox_org.base_url,
                       api_key=sandbox_org.api_key)
    assert connection.verify_state == "ok"
    return connection


def test_a_failed_key_must_not_replace_the_working_one(working, tenant, sandbox_org, admin_client,
                                                       django_capture_on_commit_callbacks):
    verified_at = working.verified_at
    connection = _save(django_capture_on_commit_callbacks, tenant, base_url=sandbox_org.base_url, api_key="wrong-key")
    assert connection.verify_state == "ok" and connection.verified_at == verified_at
    assert decrypt_secret(connection.api_key_encrypted) == sandbox_org.api_key  # still the one in use
    assert connection.pending_state == "failed"
    assert connection.pending_error.startswith("Key refused (401)")
    page = admin_client.get("/settings/kustomer/").content.decode()
    assert "In use" in page and sandbox_org.org_id in page
    assert "Key refused (401)" in page and "still the one in use" in page
    # The working key keeps working for the product's calls.
    client = services.kustomer_client_for(connection=connection)
    assert client.get_current_user().org_id == sandbox_org.org_id


def test_a_new_key_that_verifies_replaces_the_working_one(working, tenant, sandbox_org,
                                                          django_capture_on_commit_callbacks):
    second_key = "second-key-of-the-same-org"
    sandbox_org.server.state.add_api_key(sandbox_org.org, second_key, name="second")
    connection = _save(django_capture_on_commit_callbacks, tenant, base_url=sandbox_org.base_url, api_key=second_key)
    assert connection.pending_state == "" and connection.verify_state == "ok"
    assert decrypt_secret(connection.api_key_encrypted) == second_key


def test_a_key_lacking_a_role_names_the_role(tenant, settings):
    """Kustomer's 403 names the roles an endpoint accepts; the words name them too."""
    import responses

    settings.KUSTOMER_EXTRA_API_HOSTS = ["kustomer.test"]
    me = {"data": {"type": "user", "id": "u1", "attributes": {"email": "a@x.test", "name": "A"},
                   "relationships": {"org": {"data": {"type": "org", "id": "org-1"}}}}}
    forbidden = {"errors": [{"status": 403, "code": "forbidden", "title": "Forbidden",
                             "detail": "GET /v1/routing/statuses requires any one of the roles: "
                                       "org.permission.routing.read, org.user.routing.read"}]}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get("http://kustomer.test/v1/users/current", json=me)
        mock.get("http://kustomer.test/v1/users", json={"data": [], "links": {"next": None}})
        mock.get("http://kustomer.test/v1/routing/statuses", json=forbidden, status=403)
        connection = services.kustomer_connection_save(tenant=tenant, base_url="http://kustomer.test", api_key="k")
        connection = services.kustomer_connection_verify(connection_id=connection.pk)
    assert connection.verify_state == "failed"
    assert connection.last_error.startswith("Key lacks a role (403): Reading routing statuses was refused")
    assert "org.permission.routing.read" in connection.last_error


def _silent_port():
    """A listening socket that never answers: connecting works, reading times out."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    return sock


@pytest.mark.parametrize("case", ["refused", "name", "timeout"])
def test_unreachable_hosts_fail_in_words_within_the_deadline(case, tenant, settings):
    settings.KUSTOMER_TIMEOUT_SECONDS = 0.5
    settings.KUSTOMER_VERIFY_DEADLINE_SECONDS = 1.0
    settings.KUSTOMER_EXTRA_API_HOSTS = ["127.0.0.1", "no-such-host.invalid"]
    silent = _silent_port() if case == "timeout" else None
    url = {"refused": "http://127.0.0.1:9", "name": "http://no-such-host.invalid:9",
           "timeout": f"http://127.0.0.1:{silent.getsockname()[1] if silent else 0}"}[case]
    from integrations.tasks import kustomer_connection_verify_task

    started = timezone.now()
    connection = services.kustomer_connection_save(tenant=tenant, base_url=url, api_key="k")
    kustomer_connection_verify_task.apply(args=[connection.pk])  # eager: retries until the deadline
    connection.refresh_from_db()
    if silent:
        silent.close()
    assert connection.verify_state == "failed"
    assert (timezone.now() - started).total_seconds() < 6
    expected = {"refused": "Connection refused: nothing answers at 127.0.0.1:9",
                "name": "Name not found: no server is called no-such-host.invalid",
                "timeout": "Timed out:"}[case]
    assert connection.last_error.startswith(expected), connection.last_error
    if case == "timeout":
        assert "within 0.5 s" in connection.last_error


def test_a_check_nobody_finishes_is_shown_failed_after_its_deadline(working, tenant, admin_client, settings):
    """The verification deadline: a check left Verifying (no worker) ends Failed."""
    KustomerConnection.objects.filter(pk=working.pk).update(
        pending_state="pending", pending_base_url=working.base_url, pending_api_key_encrypted="x",
        pending_started_at=timezone.now() - timedelta(seconds=settings.KUSTOMER_VERIFY_DEADLINE_SECONDS + 11))
    page = admin_client.get("/settings/kustomer/").content.decode()
    assert "Verifying" not in page
    assert "Timed out: the check did not finish within" in page
    working.refresh_from_db()
    assert working.pending_state == "failed" and working.verify_state == "ok"


def test_a_key_lacking_a_write_role_names_it(working, tenant, sandbox_org, django_capture_on_commit_callbacks):
    """Writes cannot be probed: the key's roles (GET /v1/users/current) are compared with
    the roles the product uses (integrations/kustomer/roles.py, README "Kustomer API key")."""
    from integrations.kustomer.roles import NEEDS

    every_role_but_one = [need.role for need in NEEDS if need.role != "org.permission.customer.create"]
    almost = sandbox_org.add_api_key(every_role_but_one)
    complete = sandbox_org.add_api_key([need.role for need in NEEDS])

    lacking = _save(django_capture_on_commit_callbacks, tenant, base_url=sandbox_org.base_url, api_key=almost)
    assert lacking.pending_state == "failed"
    assert lacking.pending_error.startswith("Key lacks a role: create a key that also has "
                                            "org.permission.customer.create (creating customers).")
    enough = _save(django_capture_on_commit_callbacks, tenant, base_url=sandbox_org.base_url, api_key=complete)
    assert enough.pending_state == "" and enough.verify_state == "ok"
    assert decrypt_secret(enough.api_key_encrypted) == complete
