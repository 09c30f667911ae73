"""Site-wide pages: the tenant home dashboard and the health check."""
from __future__ import annotations

import secrets

from django.conf import settings as django_settings
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.db import connection
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from adapter.auth import SIGN_IN_MAX_AGE, adapter_sessions_end, sign_in_code_make
from adapter.selectors import sandbox_desktop_url
from conversations import selectors as conversation_selectors
from conversations import services as conversation_services
from portal import dashboard
from portal.middleware import SESSION_KEY as LANGUAGE_SESSION_KEY
from portal.models import UserLanguage
from core.errors import ApplicationError, NotFoundError
from core.public_url import public_url
from tenants.pages import tenant_page
from statusmapping import selectors as status_selectors
from django.utils.translation import gettext, gettext as _, ngettext

# Session key of the adapter sign-in link just issued, shown once on the dashboard.
ISSUED_LINK_KEY = "dashboard_adapter_link"


def _live_context(request, tenant) -> dict:
    bars = dashboard.events_per_minute(tenant=tenant)
    return {
        "sandbox_desktop_url": sandbox_desktop_url(tenant=tenant),
        "sync": dashboard.sync_health_get(tenant=tenant),
        "failed_events": dashboard.failed_events(tenant=tenant),
        "chart": dashboard.chart_svg_geometry(bars),
        "chart_total": sum(b.total for b in bars),
        "agents": dashboard.agents_with_statuses(tenant=tenant),
        "feed": dashboard.status_change_feed(tenant=tenant),
        "new_unmapped_statuses": dashboard.new_unmapped_statuses(tenant=tenant),
        "needs_customer": dashboard.needs_customer_count(tenant=tenant),
    }


@tenant_page
def home(request):
    """The dashboard; its two buttons post here (`action`: retry | adapter_link), so the
    page needs no routes besides its own."""
    tenant = request.tenant
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "retry":
            return _event_retry(request)
        if action == "adapter_link":
            return _adapter_sign_in_link(request)
        if action == "adapter_sign_out":
            return _adapter_sign_out_everywhere(request)
        messages.error(request, _("Unknown action."))
        return redirect("home")
    context = _live_context(request, tenant)
    if request.GET.get("fragment") == "live":
        # The page polls this every few seconds to stay live without a reload.
        return render(request, "portal/_dashboard_live.html", context)
    kustomer = dashboard.connection_get(tenant=tenant)
    context.update({
        "kustomer": kustomer,
        "budget": dashboard.rate_budget_get(connection=kustomer) if kustomer else None,
        "inheritance": status_selectors.inheritance_settings_get(tenant=tenant),
        "issued_link": request.session.pop(ISSUED_LINK_KEY, None),
    })
    return render(request, "home.html", context)


def _event_retry(request):
    """Retry of a failed event from the dashboard; back to the dashboard."""
    try:
        event = conversation_selectors.event_get_by_pk(tenant=request.tenant, pk=int(request.POST.get("event", "0")))
    except (NotFoundError, ValueError):
        raise Http404("No such event.") from None
    try:
        conversation_services.event_retry(event=event)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, gettext("Event %(event_id)s queued again; its state shows below.")
                                  % {"event_id": event.event_id})
    return redirect(reverse("home") + "#sync")


def _adapter_sign_in_link(request):
    """A tenant admin issues a one-time adapter sign-in link for one of their agents."""
    agent = status_selectors.agent_get_by_email(tenant=request.tenant, email=request.POST.get("email", ""))
    if agent is None:
        raise Http404("No agent with this email.")
    code = sign_in_code_make(tenant=request.tenant, agent_email=agent.email, issued_by=request.user)
    # In the fragment: browsers never send it, so the code is in no access log or Referer.
    url = public_url(reverse("adapter:page")) + "#code=" + code
    request.session[ISSUED_LINK_KEY] = {"email": agent.email, "url": url, "minutes": SIGN_IN_MAX_AGE // 60}
    messages.success(request, gettext("Adapter sign-in link for %(email)s created; it works "
                                      "once, for %(value)s minutes.")
                                      % {"email": agent.email, "value": SIGN_IN_MAX_AGE // 60})
    return redirect(reverse("home") + "#agents")


def _adapter_sign_out_everywhere(request):
    """A tenant admin ends every adapter sign-in of one agent, or of all (no email)."""
    email = request.POST.get("email", "")
    if email and status_selectors.agent_get_by_email(tenant=request.tenant, email=email) is None:
        raise Http404("No agent with this email.")
    ended = adapter_sessions_end(tenant=request.tenant, agent_email=email or None,
                                 reason=f"signed out everywhere by {request.user.get_username()}")
    whose = email or gettext("every agent")
    messages.success(request, ngettext("Signed %(whose)s out of the adapter everywhere (%(ended)d sign-in ended).",
                                       "Signed %(whose)s out of the adapter everywhere (%(ended)d sign-ins ended).",
                                       ended) % {"whose": whose, "ended": ended})
    return redirect(reverse("home") + "#agents")


class LogInView(auth_views.LoginView):
    """Django's log-in page, stating the lock-out rule (django-axes) before it bites."""

    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        from django.conf import settings

        return super().get_context_data(
            **kwargs, failure_limit=settings.AXES_FAILURE_LIMIT,
            cooloff_minutes=int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))


def healthz(request):
    """Liveness: the process answers (nothing else is asked, so a database outage does
    not get every web process restarted)."""
    return JsonResponse({"status": "ok"})


def readyz(request):
    """Readiness: the database, the broker and the cache answer. 200 with each check
    "ok", or 503 naming what failed (a load balancer sends no traffic meanwhile)."""
    checks = {"database": _check_database, "broker": _check_broker, "cache": _check_cache}
    results = {}
    for name, check in checks.items():
        try:
            check()
        except Exception as exc:  # whatever the failure, it is an answer, not a 500
            results[name] = f"failed: {type(exc).__name__}"
        else:
            results[name] = "ok"
    ready = all(value == "ok" for value in results.values())
    return JsonResponse({"status": "ok" if ready else "unavailable", "checks": results}, status=200 if ready else 503)


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_broker() -> None:
    from django.conf import settings

    from portal.celery import app

    with app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


def _check_cache() -> None:
    token = secrets.token_hex(8)
    cache.set("portal:readyz", token, 10)
    if cache.get("portal:readyz") != token:
        raise RuntimeError("the cache did not keep a value")


@require_POST
def language_set(request):
    """The header's language switch: remembered for the person (when signed in) and in
    the browser's language cookie (the sign-in page too); back to the page it was on."""
    language = request.POST.get("language", "")
    back = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        back = "/"
    response = redirect(back)
    if language not in dict(django_settings.LANGUAGES):
        return response
    if request.user.is_authenticated:
        UserLanguage.objects.update_or_create(user=request.user, defaults={"language": language})
        request.session[LANGUAGE_SESSION_KEY] = language
    response.set_cookie(django_settings.LANGUAGE_COOKIE_NAME, language, max_age=365 * 24 * 3600,
                        samesite="Lax", secure=request.is_secure())
    return response
