"""Portal pages: Sync › Events (recent events, state, attempts, error, Kustomer ids,
filter by state, Retry for failed ones)."""
from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from conversations import selectors, services
from conversations.models import Event
from core.errors import ApplicationError, NotFoundError
from tenants.pages import tenant_page


def _event(request, pk: int) -> Event:
    try:
        return selectors.event_get_by_pk(tenant=request.tenant, pk=pk)
    except NotFoundError:
        raise Http404("No such event.") from None


@tenant_page
def events(request):
    state = request.GET.get("state") or ""
    if state not in Event.State.values:
        state = ""
    rows = [
        {"event": e, "kustomer": selectors.event_kustomer_ids(e)}
        for e in selectors.events_recent(tenant=request.tenant, state=state or None, limit=200)
    ]
    return render(request, "conversations/events.html", {
        "rows": rows, "state": state, "states": Event.State.choices,
    })


@tenant_page
def event_detail(request, pk: int):
    event = _event(request, pk)
    return render(request, "conversations/event_detail.html", {
        "event": event, "kustomer": selectors.event_kustomer_ids(event),
        "actions": event.actions.order_by("index"),
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
        messages.success(request, f"Event {event.event_id} queued again.")
    back = request.POST.get("next") or ""
    if not back.startswith("/sync/events/"):
        back = reverse("conversations:events")
    return redirect(back)
