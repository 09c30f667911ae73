"""Tenant API glue: which tenant a request acts on, and API key scopes.

A request acts on exactly one tenant: an API key's own, a tenant admin's own, or, for
support staff, the one they name (`X-Tenant: <slug>` or the tenant chosen in the portal).
"""
from __future__ import annotations

from django.utils.translation import gettext
from rest_framework import exceptions, permissions

from core.errors import ApplicationError
from tenants.authentication import ApiClient
from tenants.models import Tenant
from tenants.selectors import portal_tenant


def request_tenant(request) -> Tenant:
    """The tenant this request acts on (R-A1). Raises 404 for a tenant the caller may not
    see and 400 when support staff did not name one."""
    user = request.user
    if isinstance(user, ApiClient):
        return user.tenant
    if getattr(user, "is_support", False):
        slug = request.headers.get("X-Tenant") or request.query_params.get("tenant")
        if slug:
            tenant = Tenant.objects.filter(slug=slug).first()
            if tenant is None:
                raise exceptions.NotFound("No such tenant.")
            return tenant
        tenant = portal_tenant(request)  # the tenant opened in the portal, if any
        if tenant is None:
            raise ApplicationError(gettext("Support staff name the tenant to act on with the "
                                           "X-Tenant header."), field="X-Tenant")
        return tenant
    if getattr(user, "tenant_id", None):
        return user.tenant
    raise exceptions.PermissionDenied("This account belongs to no tenant.")


class HasScope(permissions.BasePermission):
    """API keys need the view's scope for the method (`read_scope` for safe methods,
    `write_scope` otherwise). People signed in to the portal act with their role."""

    message = "This API key lacks the scope this endpoint needs."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if not isinstance(user, ApiClient):
            if request.method not in permissions.SAFE_METHODS and getattr(user, "is_viewer", False):
                self.message = "Viewers have read-only access."
                return False
            return True
        scope = view.read_scope if request.method in permissions.SAFE_METHODS else view.write_scope
        if scope is None:
            return False
        if scope not in user.scopes:
            self.message = f"This API key lacks the '{scope}' scope."
            return False
        return True


class IsSupportStaff(permissions.BasePermission):
    message = "Only support staff can do this."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and getattr(request.user, "is_support", False))


class TenantApiMixin:
    """Base of tenant-scoped API views: authenticated, scoped, and `self.tenant`."""

    permission_classes = [HasScope]
    read_scope: str | None = "config:read"
    write_scope: str | None = "config:write"

    @property
    def tenant(self) -> Tenant:
        if not hasattr(self, "_tenant"):
            self._tenant = request_tenant(self.request)
        return self._tenant
