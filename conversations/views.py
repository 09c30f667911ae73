"""Portal pages: Sync › Events (search, filters, sort and pages over the tenant's
events; each event's body, plan, attempts and Kustomer records; Retry for failed ones)."""
from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST
from django.utils.translation import gettext

from core.dates import parse_datetime
from conversations import selectors, services
from conversations import rules
from conversations.forms import PAGE_SIZE, CallLoggingPoliciesForm, EventFilterForm
from conversations.services.policies import call_logging_policies_update, kustomer_team_choices
from conversations.models import Event
from core.errors import ApplicationError, NotFoundError
from integrations.selectors import kustomer_web_links_for
from tenants.pages import tenant_page


def _event(request, pk: int) -> Event:
    try:
        return selectors.event_get_by_pk(tenant=request.tenant, pk=pk)
    except NotFoundError:
        raise Http404("No such event.") from None


def _row(event: Event, links) -> dict:
    ids = selectors.event_kustomer_ids(event)
    return {
        "event": event, "kustomer": ids,
        "customer_url": links.customer(ids["customer_id"]) if links else None,
        "conversation_url": (links.conversation(ids["conversation_id"], customer_id=ids["customer_id"])
                             if links else None),
    }


@tenant_page
def events(request):
    """Sync › Events: search, filter, sort and page through the tenant's events."""
    form = EventFilterForm(request.GET or None)
    filters = selectors.EventFilters(region=request.tenant.default_region)
    if form.is_bound and form.is_valid():
        filters = form.filters(region=request.tenant.default_region)
    paginator = Paginator(selectors.events_search(tenant=request.tenant, filters=filters), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    links = kustomer_web_links_for(tenant=request.tenant)
    return render(request, "conversations/events.html", {
        "form": form, "filters": filters, "page": page, "paginator": paginator,
        "rows": [_row(e, links) for e in page.object_list],
        "page_numbers": paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
        "filtered": any([filters.q, filters.state, filters.type, filters.since, filters.until]),
    })


def _attempt(entry: dict) -> dict:
    times = {key: parse_datetime(entry[key], strict=True) if entry.get(key) else None
             for key in ("started_at", "ended_at", "next_attempt_at")}
    return {**entry, **times}


@tenant_page
def event_detail(request, pk: int):
    event = _event(request, pk)
    links = kustomer_web_links_for(tenant=request.tenant)
    return render(request, "conversations/event_detail.html", {
        **_row(event, links), "actions": event.actions.order_by("index"),
        "attempt_log": [_attempt(entry) for entry in reversed(event.attempt_log or [])],
        "late_files": services.late_files_waiting(event),
        "waiting_reason": selectors.event_waiting_reason(event),
    })


@tenant_page
@require_POST
def event_retry(request, pk: int):
    event = _event(request, pk)
    try:
        services.event_retry(event=event)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, gettext("Event %(event_id)s queued again.") % {"event_id": event.event_id})
    back = request.POST.get("next") or ""
    if not back.startswith("/sync/events/"):
        back = reverse("conversations:events")
    return redirect(back)


@tenant_page
def webhook_deliveries(request):
    """Operations › Kustomer webhooks: each delivery's state; a failed one shows its
    error and traceback, with Retry."""
    return render(request, "conversations/webhook_deliveries.html", {
        "deliveries": selectors.webhook_deliveries_recent(tenant=request.tenant),
    })


@tenant_page
@require_POST
def webhook_delivery_retry(request, pk: int):
    try:
        delivery = services.webhook_delivery_retry(tenant_id=request.tenant.pk, delivery_pk=pk)
    except NotFoundError:
        raise Http404("No such webhook delivery.") from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, gettext("Webhook delivery %(kustomer_event_id)s queued again.")
                                  % {"kustomer_event_id": delivery.kustomer_event_id})
    return redirect(reverse("conversations:webhook_deliveries"))


@tenant_page
def call_logging_policies(request):
    """Settings › Developer settings › Call logging policies (SPEC §6)."""
    current = selectors.call_logging_policies_read(tenant=request.tenant)
    form = CallLoggingPoliciesForm(request.POST or None, initial=CallLoggingPoliciesForm.initial_from(current))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                call_logging_policies_update(tenant=request.tenant, **form.service_arguments())
            except ApplicationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, _("Call logging policies saved."))
                return redirect("conversations:call_logging_policies")
        status = 400
    kinds = [form[f"log_{kind}"] for kind in rules.SESSION_KINDS]
    templates = [(form[f"name_{kind}"], form[f"preview_{kind}"]) for kind in rules.SESSION_KINDS]
    return render(request, "conversations/call_logging_policies.html", {
        "form": form, "kinds": kinds, "templates": templates, "region": request.tenant.default_region,
        "samples": rules.TEMPLATE_PLACEHOLDERS, "teams": kustomer_team_choices(tenant=request.tenant),
    }, status=status)


@tenant_page
def needs_customer(request):
    """R-O1: events whose number several Kustomer customers share, with the candidates
    (read by the executor's task); "Use this one" or "New customer" runs them."""
    from django.contrib import messages
    from django.shortcuts import redirect

    from conversations.services.needs_customer import event_customer_choose, events_needing_customer
    from core.errors import ApplicationError

    if request.method == "POST":
        try:
            count = event_customer_choose(tenant=request.tenant, event_pk=int(request.POST.get("event", 0)),
                                          kustomer_customer_id=request.POST.get("customer") or None)
        except (ApplicationError, ValueError) as exc:
            messages.error(request, getattr(exc, "message", str(exc)))
        else:
            messages.success(request, ngettext("%(count)d event of this number runs again.",
                                               "%(count)d events of this number run again.", count) % {"count": count})
        return redirect("conversations:needs_customer")
    numbers: dict[str, dict] = {}
    for event in events_needing_customer(tenant=request.tenant)[:200]:
        group = numbers.setdefault(event.customer_key, {"number": event.customer_key, "first": event, "events": []})
        group["events"].append(event)
    return render(request, "conversations/needs_customer.html", {"numbers": list(numbers.values())})


@tenant_page
def sync_settings(request):
    """Settings › Developer settings › Sync settings: close-out hours (R-O2) and the
    pick-the-latest choice for shared numbers (R-O1), as `PUT /api/v1/sync-settings`."""
    from conversations.forms import SyncSettingsForm
    from conversations.services.close_out import sync_settings_get, sync_settings_update
    from tenants.pages import form_errors_from

    current = sync_settings_get(tenant=request.tenant)
    form = SyncSettingsForm(request.POST or None, initial={
        "close_out_after_hours": current.close_out_after_hours, "ambiguous_pick_latest": current.ambiguous_pick_latest})
    if request.method == "POST" and form.is_valid():
        try:
            sync_settings_update(tenant=request.tenant, **form.cleaned_data)
        except ApplicationError as exc:
            form_errors_from(exc, form)
        else:
            messages.success(request, _("Sync settings saved."))
            return redirect("conversations:sync_settings")
    return render(request, "conversations/sync_settings.html", {"form": form}, status=400 if form.errors else 200)
