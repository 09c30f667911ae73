"""Fixtures shared by every app's tests."""
import pytest
from rest_framework.test import APIClient

from tests.tenants.factories import SupportUserFactory, TenantFactory, UserFactory, make_api_key

# Plugins (the e2e and sandbox fixtures) are registered in the root conftest.py.


@pytest.fixture
def tenant(db):
    return TenantFactory(name="Acme Support", slug="acme")


@pytest.fixture
def other_tenant(db):
    return TenantFactory(name="Globex", slug="globex")


@pytest.fixture
def tenant_admin(tenant):
    return UserFactory(username="acme-admin", tenant=tenant)


@pytest.fixture
def support_user(db):
    return SupportUserFactory(username="support-1")


@pytest.fixture
def admin_client(client, tenant_admin):
    """A browser session of the tenant admin of `tenant`."""
    client.force_login(tenant_admin)
    return client


@pytest.fixture
def api_key(tenant):
    """(ApiKey, plain text) with every scope, for `tenant`."""
    return make_api_key(tenant)


@pytest.fixture
def api(api_key):
    """A DRF client authenticated with `tenant`'s API key (all scopes)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key[1]}")
    return client


def api_client_with_scopes(tenant, *scopes):
    _, plain = make_api_key(tenant, scopes=scopes, name="scoped")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    return client
