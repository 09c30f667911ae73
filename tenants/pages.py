"""Glue for the server-rendered portal pages."""
from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect

from tenants.selectors import portal_tenant
from django.utils.translation import gettext as _


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def tenant_page(view):
    """A page about one tenant: signed in, and `request.tenant` is the tenant acted on.
    Support staff who have not opened a tenant are sent to pick one. Viewers read every
    page; any change they send is refused (403)."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method not in SAFE_METHODS and getattr(request.user, "is_viewer", False):
            raise PermissionDenied("Viewers have read-only access: ask an admin of your tenant to make this change.")
        tenant = portal_tenant(request)
        if tenant is None:
            if getattr(request.user, "is_support", False):
                messages.info(request, _("Open a tenant first: its pages then act on it."))
                return redirect("tenants:support_tenants")
            raise PermissionDenied("This account belongs to no tenant.")
        request.tenant = tenant
        return view(request, *args, **kwargs)

    return wrapper


def support_page(view):
    """A page for platform support staff only."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not getattr(request.user, "is_support", False):
            raise PermissionDenied("Only support staff can open this page.")
        return view(request, *args, **kwargs)

    return wrapper


def form_errors_from(exc, form) -> None:
    """Put a service's ApplicationError next to the fields it names (or on the form)."""
    placed = False
    for field, field_messages in exc.errors.items():
        for message in field_messages:
            if field in form.fields:
                form.add_error(field, message)
                placed = True
    if not placed:
        form.add_error(None, exc.message)
