"""R-A3: the Kustomer API key is stored encrypted and never shown again."""
import pytest
from cryptography.fernet import Fernet
from django.db import connection as db

from integrations import services
from integrations.models import KustomerConnection
from core.crypto import decrypt_secret

PLAIN = "kustomer-live-key-0123456789abcdef"


def _raw_column(tenant):
    with db.cursor() as cursor:
        cursor.execute("SELECT api_key_encrypted FROM integrations_kustomerconnection WHERE tenant_id = %s", [tenant.pk])
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_the_database_never_holds_the_plain_key(tenant):
    services.kustomer_connection_save(tenant=tenant, base_url="https://acme.api.kustomerapp.com/v1/", api_key=PLAIN)
    raw = _raw_column(tenant)
    assert PLAIN not in raw
    assert decrypt_secret(raw) == PLAIN
    assert KustomerConnection.objects.get(tenant=tenant).base_url == "https://acme.api.kustomerapp.com"


@pytest.mark.django_db
def test_keys_rotate_to_a_new_encryption_key(tenant, settings):
    services.kustomer_connection_save(tenant=tenant, base_url="https://acme.api.kustomerapp.com", api_key=PLAIN)
    old = _raw_column(tenant)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), *settings.FIELD_ENCRYPTION_KEYS]
    assert services.kustomer_connection_rotate_encryption() == 1
    new = _raw_column(tenant)
    assert new != old
    settings.FIELD_ENCRYPTION_KEYS = settings.FIELD_ENCRYPTION_KEYS[:1]  # the old key is gone
    assert decrypt_secret(new) == PLAIN


@pytest.mark.django_db
def test_the_key_is_never_shown_by_the_api_or_the_page(api, admin_client, tenant):
    response = api.put("/api/v1/kustomer-connection", {"base_url": "https://acme.api.kustomerapp.com", "api_key": PLAIN}, format="json")
    assert response.status_code == 202
    assert PLAIN not in response.content.decode()
    assert response.json()["api_key_set"] is True
    assert PLAIN not in api.get("/api/v1/kustomer-connection").content.decode()
    assert PLAIN not in admin_client.get("/settings/kustomer/").content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://acme.api.kustomerapp.com", "https only"),
        ("https://evil.example.com", "not a Kustomer API host"),
        ("kustomerapp.com", "full URL"),
        ("https://user:pw@acme.api.kustomerapp.com", "credentials"),
    ],
)
def test_a_base_url_that_is_not_kustomer_is_refused_naming_the_field(api, url, reason):
    response = api.put("/api/v1/kustomer-connection", {"base_url": url, "api_key": PLAIN}, format="json")
    assert response.status_code == 400
    assert reason in response.json()["errors"]["base_url"][0]
    assert not KustomerConnection.objects.exists()


@pytest.mark.django_db
def test_an_empty_key_keeps_the_stored_one_for_the_same_url(tenant):
    services.kustomer_connection_save(tenant=tenant, base_url="https://acme.api.kustomerapp.com", api_key=PLAIN)
    services.kustomer_connection_save(tenant=tenant, base_url="https://acme.api.kustomerapp.com/v1",
                                      api_key="", rate_limit_per_minute=500)
    connection = KustomerConnection.objects.get(tenant=tenant)
    assert connection.rate_limit_per_minute == 500
    assert decrypt_secret(connection.api_key_encrypted) == PLAIN
