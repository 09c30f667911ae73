"""R-O5 against the Kustomer sandbox (real HTTP): a Kustomer status added since the last
refresh and not mapped shows on the dashboard and, when the tenant turned it on, is
e-mailed to the tenant's admins through Django's e-mail backend, once per status."""
from __future__ import annotations

import pytest
from django.core import mail

from kustomer_sandbox.store import add_status
from tests.statusmapping.test_sandbox_sync import ready, run_on_commit  # noqa: F401 (fixtures)
from tests.tenants.factories import UserFactory

pytestmark = pytest.mark.django_db


def _add_in_kustomer(org, name: str) -> str:
    with org.sandbox.server.state.lock:
        return add_status(org.sandbox.org, name=name, status_type="unavailable")["id"]


def test_r_o5_a_new_unmapped_status_is_on_the_dashboard_and_emailed_once(
        tenant, ready, api, admin_client, tenant_admin, run_on_commit):  # noqa: F811
    UserFactory(username="acme-viewer", tenant=tenant, role="viewer")  # not an admin: not e-mailed
    assert api.put("/api/v1/status-inheritance", {"email_new_unmapped_statuses": True},
                   format="json").json()["email_new_unmapped_statuses"] is True
    dashboard = admin_client.get("/").content.decode()
    assert 'data-testid="new-unmapped-statuses"' not in dashboard  # the first read's statuses are not "new"
    assert mail.outbox == []

    coaching = _add_in_kustomer(ready, "Coaching")
    run_on_commit(api.post, "/api/v1/kustomer-statuses/refresh")
    dashboard = admin_client.get("/").content.decode()
    assert 'data-testid="new-unmapped-statuses"' in dashboard and "<strong>Coaching</strong>" in dashboard
    (message,) = mail.outbox
    assert message.to == [tenant_admin.email]
    assert "Coaching" in message.subject and "/settings/status-mapping/" in message.body

    run_on_commit(api.post, "/api/v1/kustomer-statuses/refresh")  # nothing new: no second e-mail
    _add_in_kustomer(ready, "Training")
    run_on_commit(api.post, "/api/v1/kustomer-statuses/refresh")
    assert len(mail.outbox) == 2 and "Training" in mail.outbox[1].subject and "Coaching" not in mail.outbox[1].subject

    mapping = api.get("/api/v1/status-mapping").json()["mapping"]
    api.put("/api/v1/status-mapping", {"mapping": mapping | {coaching: "Training"}}, format="json")
    dashboard = admin_client.get("/").content.decode()
    assert "<strong>Coaching</strong>" not in dashboard and "<strong>Training</strong>" in dashboard


def test_r_o5_no_email_unless_the_tenant_turned_it_on(tenant, ready, api, admin_client, run_on_commit):  # noqa: F811
    _add_in_kustomer(ready, "Coaching")
    run_on_commit(api.post, "/api/v1/kustomer-statuses/refresh")
    assert mail.outbox == []
    assert "<strong>Coaching</strong>" in admin_client.get("/").content.decode()  # the dashboard shows it anyway
