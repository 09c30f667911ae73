"""Portal pages of the Kustomer integration."""
from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from integrations import app_services, services
from integrations.models import OrgMove
from integrations.selectors import kustomer_connection_get
from integrations.verification import connection_expire_stale, deadline_seconds
from core.errors import ApplicationError
from tenants.pages import form_errors_from, tenant_page
from integrations.forms import KustomerConnectionForm
from django.utils.translation import gettext as _


@tenant_page
def connection(request):
    current = kustomer_connection_get(tenant=request.tenant)
    if current is not None:
        current = connection_expire_stale(connection=current)
    initial = {"base_url": current.base_url, "rate_limit_per_minute": current.rate_limit_per_minute} if current else {}
    form = KustomerConnectionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.kustomer_connection_save(tenant=request.tenant, **form.cleaned_data)
        except ApplicationError as exc:
            form_errors_from(exc, form)
        else:
            from tenants.services import audit_record

            audit_record(tenant=request.tenant, actor=request.user, action="Kustomer connection changed",
                         target=saved.pending_base_url if saved.has_pending else saved.base_url,
                         detail="new key entered" if form.cleaned_data.get("api_key") else "")
            if saved.has_pending:
                messages.success(request, _("Checking the new URL and key with Kustomer. The working connection stays "
                                          "in use until they verify; this page shows the result."))
            else:
                messages.success(request, _("Connection saved. Verifying it with Kustomer now; this page shows the result."))
            return redirect("integrations:connection")
    return render(request, "integrations/connection.html", {
        "form": form, "connection": current, "deadline": int(deadline_seconds()),
        "move": OrgMove.objects.filter(tenant=request.tenant).first(),
        "app": app_services.kustomer_app_status(tenant=request.tenant),
    })


@tenant_page
@require_POST
def connection_verify(request):
    current = kustomer_connection_get(tenant=request.tenant)
    if current is None:
        messages.error(request, _("Save a connection first."))
    else:
        services.kustomer_connection_verify_again(connection=current)
        messages.success(request, _("Verification queued."))
    return redirect("integrations:connection")


@tenant_page
@require_POST
def kustomer_app_action(request):
    """R-X4: install the app into the tenant's org, register the product's new version,
    or read the org's apps again. A Celery task talks to Kustomer; the page shows it."""
    action = request.POST.get("action", "")
    if action not in ("install", "register", "check"):
        messages.error(request, _("Unknown action."))
        return redirect("integrations:connection")
    try:
        app_services.kustomer_app_request(tenant=request.tenant, install=action == "install", register=action != "check")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, {"install": "Installing the app in Kustomer now; this page shows the result.",
                                   "register": "Registering the new version with Kustomer now.",
                                   "check": "Reading the org's apps from Kustomer."}[action])
    return redirect("integrations:connection")
