"""R-A1 tenant isolation and R-A2 roles, through pages and the API."""
import pytest

from integrations.models import KustomerConnection
from core.crypto import encrypt_secret
from tenants.models import ApiKey
from tests.tenants.factories import make_api_key


def _connect(tenant, url):
    return KustomerConnection.objects.create(tenant=tenant, base_url=url, api_key_encrypted=encrypt_secret("k-" + tenant.slug))


@pytest.mark.django_db
def test_a_tenant_admin_gets_404_for_another_tenants_api_key(admin_client, other_tenant):
    foreign, _ = make_api_key(other_tenant)
    response = admin_client.post(f"/settings/api-keys/{foreign.pk}/revoke/")
    assert response.status_code == 404
    assert ApiKey.objects.get(pk=foreign.pk).revoked_at is None


@pytest.mark.django_db
def test_an_api_key_only_sees_its_own_tenant(api, tenant, other_tenant):
    _connect(tenant, "https://acme.api.kustomerapp.com")
    _connect(other_tenant, "https://globex.api.kustomerapp.com")
    body = api.get("/api/v1/kustomer-connection", HTTP_X_TENANT="globex").json()
    assert body["base_url"] == "https://acme.api.kustomerapp.com"


@pytest.mark.django_db
def test_a_tenant_admin_cannot_choose_another_tenant_by_header(admin_client, tenant, other_tenant):
    _connect(other_tenant, "https://globex.api.kustomerapp.com")
    response = admin_client.get("/api/v1/kustomer-connection", HTTP_X_TENANT="globex")
    assert response.status_code == 404  # acme has no connection; globex's is never shown


@pytest.mark.django_db
def test_support_staff_act_on_the_tenant_they_name(client, support_user, tenant, other_tenant):
    _connect(other_tenant, "https://globex.api.kustomerapp.com")
    client.force_login(support_user)
    assert client.get("/api/v1/kustomer-connection", HTTP_X_TENANT="globex").json()["base_url"].startswith("https://globex")
    missing = client.get("/api/v1/kustomer-connection")
    assert missing.status_code == 400
    assert "X-Tenant" in missing.json()["errors"]
    assert client.get("/api/v1/kustomer-connection", HTTP_X_TENANT="nope").status_code == 404


@pytest.mark.django_db
def test_support_pages_are_for_support_staff_only(admin_client, client, support_user, tenant):
    assert admin_client.get("/support/tenants/").status_code == 403
    client.force_login(support_user)
    page = client.get("/support/tenants/")
    assert page.status_code == 200
    assert "Acme Support" in page.content.decode()


@pytest.mark.django_db
def test_support_staff_open_a_tenant_then_its_pages_act_on_it(client, support_user, tenant, other_tenant):
    client.force_login(support_user)
    assert client.get("/settings/api-keys/").status_code == 302  # no tenant opened yet
    client.post("/support/tenants/globex/open/")
    page = client.get("/settings/api-keys/")
    assert page.status_code == 200
    assert page.context["current_tenant"] == other_tenant


@pytest.mark.django_db
def test_support_staff_create_tenants_and_a_duplicate_slug_is_refused(client, support_user, tenant):
    client.force_login(support_user)
    client.post("/support/tenants/", {"name": "Initech", "slug": "", "default_region": "GB",
                                      "admin_email": "admin@initech.test"})
    assert "Initech" in client.get("/support/tenants/").content.decode()
    response = client.post("/support/tenants/", {"name": "Acme again", "slug": "acme", "default_region": "US",
                                                 "admin_email": "admin2@acme.test"})
    assert "already exists" in response.content.decode()
    assert "Acme again" in response.content.decode()  # what was typed is kept
