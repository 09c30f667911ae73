"""Portal pages: support staff's tenant list, a tenant's API keys."""
from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from core.errors import ApplicationError
from tenants.pages import form_errors_from, support_page, tenant_page
from tenants import selectors, services
from tenants.forms import ApiKeyCreateForm, TenantCreateForm
from tenants.models import Tenant
from tenants.selectors import SESSION_ACTING_TENANT


@support_page
def support_tenants(request):
    form = TenantCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            tenant = services.tenant_create(**form.cleaned_data)
        except ApplicationError as exc:
            form_errors_from(exc, form)
        else:
            messages.success(request, f"Tenant {tenant.name} created.")
            return redirect("tenants:support_tenants")
    tenants = Tenant.objects.select_related("kustomer_connection").order_by("name")
    return render(request, "tenants/support_tenants.html", {"tenants": tenants, "form": form})


@support_page
@require_POST
def support_tenant_open(request, slug: str):
    tenant = get_object_or_404(Tenant, slug=slug)
    request.session[SESSION_ACTING_TENANT] = tenant.pk
    messages.success(request, f"You are now working on {tenant.name}.")
    return redirect("home")


@tenant_page
def api_keys(request):
    form = ApiKeyCreateForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        try:
            key, new_key = services.api_key_create(
                tenant=request.tenant, created_by=request.user, **form.cleaned_data
            )
        except ApplicationError as exc:
            form_errors_from(exc, form)
        else:
            messages.success(request, f"API key '{key.name}' created. Copy it now: it will not be shown again.")
            form = ApiKeyCreateForm()
    keys = selectors.api_key_list(tenant=request.tenant)
    return render(request, "tenants/api_keys.html", {"keys": keys, "form": form, "new_key": new_key})


@tenant_page
@require_POST
def api_key_revoke(request, key_id: int):
    key = selectors.api_key_get(tenant=request.tenant, key_id=key_id)
    services.api_key_revoke(key=key)
    messages.success(request, f"API key '{key.name}' revoked: requests with it are now refused.")
    return redirect("tenants:api_keys")
