"""Reads of tenants, users and API keys."""
from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from tenants.models import ApiKey, Tenant, User


def tenant_list_for_user(*, user: User) -> QuerySet[Tenant]:
    """Tenants a person may act on: all for support staff, their own for a tenant admin."""
    if user.is_support:
        return Tenant.objects.all()
    return Tenant.objects.filter(pk=user.tenant_id)


def tenant_get_for_user(*, user: User, slug: str) -> Tenant:
    """R-A1: a tenant the person may not see answers 404, never 403."""
    tenant = tenant_list_for_user(user=user).filter(slug=slug).first()
    if tenant is None:
        raise Http404("No such tenant.")
    return tenant


def api_key_list(*, tenant: Tenant) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(tenant=tenant).select_related("created_by")


def api_key_get(*, tenant: Tenant, key_id: int) -> ApiKey:
    key = ApiKey.objects.filter(tenant=tenant, pk=key_id).first()
    if key is None:
        raise Http404("No such API key.")
    return key


SESSION_ACTING_TENANT = "acting_tenant_id"


def portal_tenant(request) -> Tenant | None:
    """The tenant a signed-in person is working on in the portal: a tenant admin's own,
    or the one support staff opened from Support › Tenants."""
    user = request.user
    if not user.is_authenticated:
        return None
    if not getattr(user, "is_support", False):
        return user.tenant
    if not hasattr(request, "_portal_tenant"):
        tenant_id = request.session.get(SESSION_ACTING_TENANT)
        request._portal_tenant = Tenant.objects.filter(pk=tenant_id).first() if tenant_id else None
    return request._portal_tenant


def user_list(*, tenant: Tenant) -> QuerySet[User]:
    return User.objects.filter(tenant=tenant).order_by("-is_active", "username")


def user_get(*, tenant: Tenant, user_id: int) -> User:
    """R-A1: a user of another tenant answers 404."""
    user = User.objects.filter(tenant=tenant, pk=user_id).first()
    if user is None:
        raise Http404("No such user.")
    return user


def audit_list(*, tenant: Tenant, limit: int = 200):
    from tenants.models import AuditEntry

    return AuditEntry.objects.filter(tenant=tenant).select_related("actor")[:limit]


def user_language(*, user: User) -> str | None:
    """The language `user` chose in the portal's footer (portal.models.UserLanguage, read
    through its reverse relation: tenants sits below portal), or None."""
    from django.core.exceptions import ObjectDoesNotExist

    try:
        return user.portal_language.language or None
    except ObjectDoesNotExist:
        return None


def tenant_admin_emails_by_language(*, tenant: Tenant, default: str) -> dict[str, list[str]]:
    """The tenant's active admins' e-mail addresses grouped by the language each chose
    (`default` for those who chose none), so an alert reaches each in their language."""
    grouped: dict[str, set[str]] = {}
    rows = (User.objects.filter(tenant=tenant, role=User.Role.TENANT_ADMIN, is_active=True).exclude(email="")
            .values_list("email", "portal_language__language"))
    for email, language in rows:
        grouped.setdefault(language or default, set()).add(email)
    return {language: sorted(emails) for language, emails in sorted(grouped.items())}


def tenant_admin_emails(*, tenant: Tenant) -> list[str]:
    """The e-mail addresses of the tenant's active admins (alerts, R-O5)."""
    return sorted(set(User.objects.filter(tenant=tenant, role=User.Role.TENANT_ADMIN, is_active=True)
                      .exclude(email="").values_list("email", flat=True)))
