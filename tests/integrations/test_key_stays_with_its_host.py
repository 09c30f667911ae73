"""Issue 14 finding 3: a stored Kustomer API key is only ever sent to the base URL it was
entered for. A `config:write` key or a portal admin changing the URL must type the key
again (400 naming `api_key`), and a row whose URL changed behind the service's back
(the admin site, a script) sends nothing."""
import pytest
import responses

from core.crypto import decrypt_secret
from integrations import services
from integrations.models import KustomerConnection

PLAIN = "kustomer-live-key-0123456789abcdef"
ORIGINAL = "https://acme.api.kustomerapp.com"
ELSEWHERE = "http://localhost:9"  # an operator-allowed extra host (KUSTOMER_EXTRA_API_HOSTS)


@pytest.fixture
def connected(tenant):
    return services.kustomer_connection_save(tenant=tenant, base_url=ORIGINAL, api_key=PLAIN)


@pytest.mark.django_db
def test_api_a_new_base_url_without_the_key_is_a_400_naming_api_key(api, connected):
    response = api.put("/api/v1/kustomer-connection", {"base_url": ELSEWHERE}, format="json")
    assert response.status_code == 400
    assert "api_key" in response.json()["errors"]
    row = KustomerConnection.objects.get(pk=connected.pk)
    assert row.base_url == ORIGINAL and decrypt_secret(row.api_key_encrypted) == PLAIN


@pytest.mark.django_db
def test_api_a_new_base_url_with_a_key_takes_both(api, connected):
    response = api.put("/api/v1/kustomer-connection", {"base_url": ELSEWHERE, "api_key": "other-key"}, format="json")
    assert response.status_code == 202
    row = KustomerConnection.objects.get(pk=connected.pk)
    assert (row.base_url, row.api_key_base_url, decrypt_secret(row.api_key_encrypted)) == (ELSEWHERE, ELSEWHERE, "other-key")


@pytest.mark.django_db
def test_page_a_new_base_url_without_the_key_shows_the_error_on_the_key(admin_client, connected):
    response = admin_client.post("/settings/kustomer/", {"base_url": ELSEWHERE, "api_key": "", "rate_limit_per_minute": 1000})
    assert response.status_code == 200
    assert "Enter the API key again" in response.context["form"].errors["api_key"][0]
    assert KustomerConnection.objects.get(pk=connected.pk).base_url == ORIGINAL


@pytest.mark.django_db
@responses.activate
def test_a_url_changed_behind_the_services_back_gets_no_key(connected):
    # What the probe did: point the row at a host the attacker reads, then ask to verify.
    calls = responses.get(f"{ELSEWHERE}/v1/users/current", json={"data": {"id": "u1", "attributes": {}}})
    KustomerConnection.objects.filter(pk=connected.pk).update(base_url=ELSEWHERE)
    connection = services.kustomer_connection_verify(connection_id=connected.pk)
    assert calls.call_count == 0  # nothing, and no Bearer header, went to the new host
    assert connection.verify_state == KustomerConnection.VerifyState.FAILED
    assert "enter the key again" in connection.last_error
