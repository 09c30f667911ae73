"""Issue 13 #1: a tenant's people — support creates a tenant with its first admin, the
invitation link sets the password once, admins invite/deactivate/change roles, viewers
change nothing, every change is in the audit log; bad tenant values are form errors."""
import re

import pytest
from django.core import mail
from django.test import Client

from tenants.models import AuditEntry, Tenant, User
from tests.tenants.factories import UserFactory

pytestmark = pytest.mark.django_db

STRONG = "Blue-harbour-7-lantern"


def _link(message) -> str:
    return re.search(r"https?://\S+/invitation/\S+/", message.body).group(0)


def _logs_in(client, username, password) -> bool:
    client.post("/login/", {"username": username, "password": password})
    return "_auth_user_id" in client.session


def _create_tenant(client, **fields):
    data = {"name": "Acme Care", "slug": "", "default_region": "US", "admin_email": "boss@acme.test",
            "admin_name": "Ann Boss"}
    data.update(fields)
    return client.post("/support/tenants/", data)


@pytest.fixture
def support_client(client, support_user):
    client.force_login(support_user)
    return client


def test_support_creates_a_tenant_with_its_first_admin_who_sets_a_password_through_the_link_once(
        support_client, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = _create_tenant(support_client)
    assert response.status_code == 302
    tenant = Tenant.objects.get(slug="acme-care")
    admin = User.objects.get(email="boss@acme.test")
    assert admin.tenant == tenant and admin.role == User.Role.TENANT_ADMIN and not admin.has_usable_password()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["boss@acme.test"]
    link = _link(mail.outbox[0])

    support_client.logout()
    page = client.get(link, follow=True)
    assert "Set your password" in page.content.decode()
    weak = client.post(page.redirect_chain[-1][0], {"new_password1": "123", "new_password2": "123"})
    assert weak.status_code == 200 and "too short" in weak.content.decode()  # Django's validators
    done = client.post(page.redirect_chain[-1][0], {"new_password1": STRONG, "new_password2": STRONG})
    assert done.status_code == 302
    assert _logs_in(client, "boss@acme.test", STRONG)
    client.logout()
    again = client.get(link, follow=True)
    assert "already been used" in again.content.decode()  # one-time
    assert list(AuditEntry.objects.filter(tenant=tenant).values_list("action", flat=True).order_by("at", "id")) == [
        "tenant created", "user invited", "password set"]


@pytest.mark.parametrize("fields, field, words", [
    ({"name": "A" * 80}, None, None),  # a long name gives a slug cut to 60, no 500
    ({"name": "A" * 201}, "name", "at most 200"),
    ({"slug": "b" * 61}, "slug", "at most 60"),
    ({"default_region": "12"}, "default_region", "not a country code"),
    ({"default_region": "ZZ"}, "default_region", "not a country code"),
    ({"admin_email": "nope"}, "admin_email", "valid email"),
])
def test_bad_tenant_values_are_form_errors_never_a_500(support_client, fields, field, words):
    response = _create_tenant(support_client, **fields)
    if field is None:
        assert response.status_code == 302
        assert Tenant.objects.get().slug == "a" * 60
        return
    assert response.status_code == 200
    assert words in response.context["form"].errors[field][0]
    assert not Tenant.objects.exists() and not User.objects.filter(role="tenant_admin").exists()


def test_a_tenant_admin_invites_a_viewer_who_can_read_but_change_nothing(admin_client, tenant):
    response = admin_client.post("/settings/users/", {"email": "Sup@Acme.test", "name": "Sue", "role": "viewer"})
    assert response.status_code == 302
    viewer = User.objects.get(email="sup@acme.test")
    assert viewer.role == "viewer" and viewer.tenant == tenant
    client = Client()
    client.force_login(viewer)
    for url in ("/", "/settings/users/", "/settings/api-keys/", "/settings/kustomer/", "/agents/"):
        assert client.get(url).status_code == 200, url
    assert client.post("/settings/api-keys/", {"name": "x", "scopes": ["config:read"]}).status_code == 403
    assert client.post("/settings/users/", {"email": "x@acme.test", "role": "tenant_admin"}).status_code == 403
    api = client.put("/api/v1/kustomer-connection", {"base_url": "https://x.api.kustomerapp.com"},
                     content_type="application/json")
    assert api.status_code == 403 and "read-only" in api.json()["detail"]
    assert client.get("/api/v1/kustomer-connection").status_code in (200, 404)


def test_admins_change_roles_and_deactivate_but_the_last_admin_stays(admin_client, tenant_admin, tenant):
    other = UserFactory(username="ops@acme.test", tenant=tenant)
    url = f"/settings/users/{other.pk}/"
    admin_client.post(url, {"action": "role", "role": "viewer"})
    other.refresh_from_db()
    assert other.role == "viewer"
    refused = admin_client.post(f"/settings/users/{tenant_admin.pk}/", {"action": "role", "role": "viewer"}, follow=True)
    assert "at least one active admin" in refused.content.decode()
    admin_client.post(url, {"action": "deactivate"})
    other.refresh_from_db()
    assert not other.is_active
    other_browser = Client()
    other_browser.force_login(other)
    assert other_browser.get("/settings/users/").status_code == 302  # signed out at the next request
    log = admin_client.get("/settings/users/").content.decode()
    assert "role changed" in log and "admin → viewer" in log and "user deactivated" in log and "acme-admin" in log


def test_a_user_of_another_tenant_answers_404(admin_client, other_tenant):
    stranger = UserFactory(username="g@globex.test", tenant=other_tenant)
    assert admin_client.post(f"/settings/users/{stranger.pk}/", {"action": "deactivate"}).status_code == 404
    stranger.refresh_from_db()
    assert stranger.is_active


def test_forgot_password_mails_a_one_time_link(client, tenant_admin, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/password/forgot/", {"email": tenant_admin.email})
    assert len(mail.outbox) == 1
    link = re.search(r"https?://\S+/invitation/\S+/", mail.outbox[0].body).group(0)
    page = client.get(link, follow=True)
    done = client.post(page.redirect_chain[-1][0], {"new_password1": STRONG, "new_password2": STRONG})
    assert done.status_code == 302
    assert _logs_in(client, tenant_admin.username, STRONG)


def test_support_staff_see_the_admin_site(client, support_user):
    client.force_login(support_user)
    page = client.get("/admin/").content.decode()
    assert "permission to view or edit anything" not in page and "Tenants" in page


def test_support_manages_the_users_of_a_tenant_they_opened(support_client, tenant):
    support_client.post(f"/support/tenants/{tenant.slug}/open/")
    assert support_client.post("/settings/users/", {"email": "new@acme.test", "role": "tenant_admin"}).status_code == 302
    assert User.objects.get(email="new@acme.test").tenant == tenant


@pytest.mark.parametrize("host", ["testserver", "evil.example"])
def test_links_sent_by_e_mail_are_built_on_the_public_url_never_on_the_requests_host(
        client, admin_client, tenant_admin, settings, host, django_capture_on_commit_callbacks):
    """A password link carries PORTAL_PUBLIC_URL even when the request names another host
    (host header poisoning, with a deployment's loose ALLOWED_HOSTS)."""
    settings.PORTAL_PUBLIC_URL = "https://portal.acme.test"
    settings.ALLOWED_HOSTS = ["*"]
    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client.post("/settings/users/", {"email": "new@acme.test", "name": "New", "role": "viewer"},
                                 HTTP_HOST=host).status_code == 302
        client.post("/password/forgot/", {"email": tenant_admin.email}, HTTP_HOST=host)
    invitation, reset = [_link(m) for m in mail.outbox]
    assert invitation.startswith("https://portal.acme.test/invitation/")
    assert reset.startswith("https://portal.acme.test/invitation/")
    assert host not in invitation + reset
