"""Portal page: Settings › Developer settings › CCAI Platform session events: the endpoint
URLs, the basic-auth credentials (the password shown once), the agent map and the
tenant's last deliveries with what each became."""
from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from ccaip import rules, selectors, services
from ccaip.forms import AgentEmailsForm, CredentialsForm
from core.errors import ApplicationError
from core.public_url import public_url
from tenants.pages import form_errors_from, tenant_page
from django.utils.translation import gettext as _

_SHOW_ONCE = "ccaip_new_password"


@tenant_page
def settings_page(request):
    endpoint = selectors.endpoint_for_tenant(tenant=request.tenant)
    credentials = CredentialsForm(initial={"username": endpoint.username if endpoint else f"ccaip-{request.tenant.slug}"})
    agents = AgentEmailsForm(initial={"agent_emails": rules.format_agent_emails(endpoint.agent_emails) if endpoint else ""})
    if request.method == "POST":
        agents = AgentEmailsForm(request.POST)
        if agents.is_valid():
            try:
                services.endpoint_agent_emails_set(tenant=request.tenant, text=agents.cleaned_data["agent_emails"])
            except ApplicationError as exc:
                form_errors_from(exc, agents)
            else:
                messages.success(request, _("Agent map saved."))
                return redirect("ccaip:settings")
    urls = {}
    if endpoint is not None:
        for channel, name in (("call", "ccaip-calls"), ("chat", "ccaip-chats")):
            # What CCAI Platform is given to call: the public address, not this request's host.
            urls[channel] = public_url(reverse(name, kwargs={"endpoint_id": endpoint.public_id}))
    return render(request, "ccaip/settings.html", {
        "endpoint": endpoint, "credentials_form": credentials, "agents_form": agents, "urls": urls,
        "new_password": request.session.pop(_SHOW_ONCE, None),
        "rows": selectors.deliveries_recent(tenant=request.tenant, limit=50),
    })


@tenant_page
@require_POST
def credentials_set(request):
    form = CredentialsForm(request.POST)
    if form.is_valid():
        try:
            _endpoint, password = services.endpoint_credentials_set(tenant=request.tenant, username=form.cleaned_data["username"])
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            # Shown on the next page load only (then gone from the session).
            request.session[_SHOW_ONCE] = password
            messages.success(request, _("New credentials set. Copy the password now: it is not shown again."))
    else:
        messages.error(request, _("Give a username."))
    return redirect("ccaip:settings")
