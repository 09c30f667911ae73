"""R-A2: machine clients authenticate with a tenant API key that has scopes."""
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tenants import services
from tenants.models import ApiKey
from tests.conftest import api_client_with_scopes
from tests.tenants.factories import make_api_key

URL = "/api/v1/kustomer-connection"


def _client(header=None):
    client = APIClient()
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer ccp_nope_nope", "Bearer not-a-key", "Token abc", "Bearer ccp_a_b extra"],
    ids=["missing", "empty", "unknown", "malformed", "wrong-scheme", "too-many-parts"],
)
def test_requests_without_a_valid_key_are_refused_with_401(tenant, header):
    response = _client(header).get(URL)
    assert response.status_code == 401
    assert set(response.json()) == {"detail", "errors"}
    assert response.json()["detail"]


@pytest.mark.django_db
def test_a_wrong_secret_with_a_real_prefix_is_refused(tenant):
    key, plain = make_api_key(tenant)
    forged = plain[: -4] + ("aaaa" if not plain.endswith("aaaa") else "bbbb")
    assert _client(f"Bearer {forged}").get(URL).status_code == 401


@pytest.mark.django_db
def test_a_revoked_key_is_refused(tenant):
    key, plain = make_api_key(tenant)
    assert _client(f"Bearer {plain}").get(URL).status_code == 404  # authenticated: no connection yet
    services.api_key_revoke(key=key)
    response = _client(f"Bearer {plain}").get(URL)
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


@pytest.mark.django_db
def test_a_key_without_the_scope_is_refused_with_403_naming_the_scope(tenant):
    reader = api_client_with_scopes(tenant, "config:read")
    response = reader.put(URL, {"base_url": "https://acme.api.kustomerapp.com", "api_key": "k"}, format="json")
    assert response.status_code == 403
    assert "config:write" in response.json()["detail"]
    events_only = api_client_with_scopes(tenant, "events:write")
    assert events_only.get(URL).status_code == 403


@pytest.mark.django_db
def test_only_a_hash_of_the_key_is_stored(tenant):
    key, plain = make_api_key(tenant)
    stored = ApiKey.objects.values().get(pk=key.pk)
    secret = plain.split("_", 2)[2]
    assert all(secret not in str(value) for value in stored.values())
    assert plain.startswith(f"ccp_{key.prefix}_")


@pytest.mark.django_db
def test_unknown_scopes_are_refused_with_the_field_named(tenant):
    from core.errors import ApplicationError

    with pytest.raises(ApplicationError) as exc:
        services.api_key_create(tenant=tenant, name="x", scopes=["config:read", "everything"])
    assert "everything" in exc.value.errors["scopes"][0]


@pytest.mark.django_db
def test_the_portal_shows_a_new_key_once(admin_client, tenant):
    response = admin_client.post("/settings/api-keys/", {"name": "Telephony", "scopes": ["events:write"]}, follow=True)
    assert response.redirect_chain == [("/settings/api-keys/", 302)]
    plain = response.context["new_key"]["plain"]
    assert plain and plain in response.content.decode()
    again = admin_client.get("/settings/api-keys/").content.decode()
    assert plain not in again
    assert "Telephony" in again
    assert _client(f"Bearer {plain}").get(URL).status_code == 403  # valid key, lacks config:read


@pytest.mark.django_db
def test_duplicate_key_on_reload_reloading_after_a_create_creates_no_second_key(admin_client, tenant):
    """Issue 13: the create answered directly, so a reload posted it again."""
    from tenants.models import ApiKey

    response = admin_client.post("/settings/api-keys/", {"name": "Telephony", "scopes": ["events:write"]})
    assert response.status_code == 302  # a reload now repeats the GET it was sent to
    admin_client.get(response["Location"])
    admin_client.get(response["Location"])
    assert ApiKey.objects.filter(tenant=tenant).count() == 1


@pytest.mark.django_db
def test_revoke_asks_first_and_says_what_stops_working(admin_client, tenant):
    key, plain = make_api_key(tenant, scopes=("events:write",), name="Telephony events")
    page = admin_client.get(f"/settings/api-keys/{key.pk}/revoke/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Revoke the API key “Telephony events”?" in text
    assert "Send contact-center events and agent status" in text and f"ccp_{key.prefix}_" in text
    key.refresh_from_db()
    assert key.revoked_at is None  # asking changed nothing
    admin_client.post(f"/settings/api-keys/{key.pk}/revoke/")
    key.refresh_from_db()
    assert key.revoked_at is not None
    listing = admin_client.get("/settings/api-keys/").content.decode()
    assert "events:write" in listing and "revoked" in listing
    assert "API key revoked" in admin_client.get("/settings/users/").content.decode()  # audit log


@pytest.mark.django_db
def test_keys_show_when_they_were_last_used(admin_client, tenant):
    key, plain = make_api_key(tenant, name="Used")
    _client(f"Bearer {plain}").get(URL)
    key.refresh_from_db()
    assert key.last_used_at is not None
    assert key.last_used_at.strftime("%Y-%m-%d %H:%M") in admin_client.get("/settings/api-keys/").content.decode()


# Each process keeps a key that authenticated for API_KEY_CACHE_SECONDS (the status event
# endpoint's hot path); what that copy may and may not change:
@pytest.mark.django_db
def test_a_key_revoked_in_this_process_is_refused_at_once_even_when_kept(tenant):
    key, plain = make_api_key(tenant)
    client = _client(f"Bearer {plain}")
    assert client.get(URL).status_code == 404  # authenticated, and now kept
    services.api_key_revoke(key=ApiKey.objects.get(pk=key.pk))
    assert client.get(URL).status_code == 401


@pytest.mark.django_db
def test_a_key_revoked_by_another_process_is_refused_once_the_copy_expires(tenant, monkeypatch, settings):
    key, plain = make_api_key(tenant)
    client = _client(f"Bearer {plain}")
    assert client.get(URL).status_code == 404
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())  # not through this process
    assert client.get(URL).status_code == 404  # the copy, for at most API_KEY_CACHE_SECONDS
    real = services.time.monotonic
    monkeypatch.setattr(services.time, "monotonic", lambda: real() + settings.API_KEY_CACHE_SECONDS + 1)
    assert client.get(URL).status_code == 401


@pytest.mark.django_db
def test_with_no_copies_a_revocation_elsewhere_is_refused_at_once(tenant, settings):
    settings.API_KEY_CACHE_SECONDS = 0
    key, plain = make_api_key(tenant)
    client = _client(f"Bearer {plain}")
    assert client.get(URL).status_code == 404
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())
    assert client.get(URL).status_code == 401


@pytest.mark.django_db
def test_a_kept_key_still_needs_its_secret(tenant):
    key, plain = make_api_key(tenant)
    assert _client(f"Bearer {plain}").get(URL).status_code == 404
    forged = plain[: -4] + ("aaaa" if not plain.endswith("aaaa") else "bbbb")
    assert _client(f"Bearer {forged}").get(URL).status_code == 401
    assert _client(f"Bearer {plain}").get(URL).status_code == 404
