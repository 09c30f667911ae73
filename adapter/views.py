"""The adapter page (`/adapter/`): the widget of the tenant's Kustomer app (SPEC R-X4),
which Kustomer shows in an iframe. Kustomer opens it with `parentUrl` and `id` (Cards
SDK) and the app's `tenant` setting; the page loads Kustomer's Cards SDK script
(`KUSTOMER_CARDS_SDK_URL`), which talks to that one parent origin only, and only allowed
hosts may frame it."""
from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_POST

from adapter import auth, selectors
from django.utils.translation import gettext as _
from django.utils.translation import gettext

# Kustomer's own query parameters, kept across the sign-in redirects (the Cards SDK
# needs them to reach the agent desktop).
HOST_PARAMS = ("parentUrl", "id", "tenant")


def _host_query(source) -> str:
    kept = {k: source.get(k) for k in HOST_PARAMS if source.get(k)}
    return ("?" + urlencode(kept)) if kept else ""


def _frame_policy(response):
    """Only Kustomer (and the allowed dev hosts) may frame the adapter; Django's default
    X-Frame-Options: DENY is lifted for this page alone."""
    ancestors = " ".join(["'self'", *selectors.host_origin_patterns()])
    response["Content-Security-Policy"] = f"frame-ancestors {ancestors}"
    return response


@xframe_options_exempt
def adapter_page(request):
    agent = auth.session_agent(request)
    if agent is None:
        # The link's code is in its URL fragment (read by the page's script, posted with the
        # form); a code in the query string, where logs keep it, is not taken.
        return _frame_policy(render(request, "adapter/sign_in.html", {
            "code": "", "email": "", "errors": {},
            "host_query": _host_query(request.GET), "params": {k: request.GET.get(k, "") for k in HOST_PARAMS},
        }))
    parent_url = request.GET.get("parentUrl", "")
    host_origin = selectors.host_origin_allowed(parent_url) if parent_url else None
    return _frame_policy(render(request, "adapter/adapter.html", {
        "agent": agent,
        "api_token": auth.api_token_make(agent),
        "host_origin": host_origin or "",
        "host_refused": bool(parent_url) and host_origin is None,
        # The Kustomer app's `tenant` setting names whose widget this is (R-X4).
        "tenant_mismatch": bool(request.GET.get("tenant")) and request.GET.get("tenant") != agent.tenant.slug,
        "cards_sdk_url": settings.KUSTOMER_CARDS_SDK_URL if host_origin else "",
        "state": selectors.agent_adapter_state(tenant=agent.tenant, agent_email=agent.agent_email),
    }))


@xframe_options_exempt
@require_POST
def sign_in(request):
    code = request.POST.get("code", "")
    email = request.POST.get("email", "")
    try:
        adapter_session = auth.sign_in_code_redeem(code=code, typed_email=email)
    except auth.SignInError as exc:
        response = render(request, "adapter/sign_in.html", {
            "code": code, "email": email, "errors": {exc.field: [exc.message]},
            "host_query": _host_query(request.POST), "params": {k: request.POST.get(k, "") for k in HOST_PARAMS},
        }, status=400)
        return _frame_policy(response)
    auth.session_sign_in(request, adapter_session=adapter_session)
    messages.success(request, gettext("Signed in as %(email)s.") % {"email": adapter_session.agent.email})
    return redirect("/adapter/" + _host_query(request.POST))


@xframe_options_exempt
@require_POST
def sign_out(request):
    auth.session_sign_out(request)
    messages.success(request, _("Signed out of the adapter."))
    return redirect("/adapter/" + _host_query(request.POST))
