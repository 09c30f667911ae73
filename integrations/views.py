"""Portal pages of the Kustomer integration."""
from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from integrations import services
from integrations.models import KustomerConnection, OrgMove
from integrations.verification import connection_expire_stale, deadline_seconds
from core.errors import ApplicationError
from tenants.pages import form_errors_from, tenant_page
from integrations.forms import KustomerConnectionForm


@tenant_page
def connection(request):
    current = KustomerConnection.objects.filter(tenant=request.tenant).first()
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
            if saved.has_pending:
                messages.success(request, "Checking the new URL and key with Kustomer. The working connection stays "
                                          "in use until they verify; this page shows the result.")
            else:
                messages.success(request, "Connection saved. Verifying it with Kustomer now; this page shows the result.")
            return redirect("integrations:connection")
    return render(request, "integrations/connection.html", {
        "form": form, "connection": current, "deadline": int(deadline_seconds()),
        "move": OrgMove.objects.filter(tenant=request.tenant).first(),
    })


@tenant_page
@require_POST
def connection_verify(request):
    current = KustomerConnection.objects.filter(tenant=request.tenant).first()
    if current is None:
        messages.error(request, "Save a connection first.")
    else:
        services.kustomer_connection_verify_again(connection=current)
        messages.success(request, "Verification queued.")
    return redirect("integrations:connection")
