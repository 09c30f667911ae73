"""R-O1 the "needs a customer" list: events whose number several Kustomer customers
share wait (state needs_customer, their candidates read by the executor's task) until an
admin picks one of them or a new customer; then every waiting event of that number runs
through the normal path again, once (what was done stays done)."""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from conversations.models import CustomerLink, Event
from core.errors import ApplicationError
from core.queue import enqueue_on_commit
from integrations.kustomer.external_ids import external_id
from tenants.models import Tenant


def events_needing_customer(*, tenant: Tenant):
    return Event.objects.filter(tenant=tenant, state=Event.State.NEEDS_CUSTOMER).order_by("occurred_at", "pk")


def event_customer_choose(*, tenant: Tenant, event_pk: int, kustomer_customer_id: str | None) -> int:
    """The admin's choice for a waiting event: one of its candidates (`kustomer_customer_id`)
    or a new customer (None). Returns how many waiting events of the number run again."""
    from conversations.tasks import event_process_task

    with transaction.atomic():
        event = Event.objects.select_for_update().filter(tenant=tenant, pk=event_pk).first()
        if event is None or event.state != Event.State.NEEDS_CUSTOMER:
            raise ApplicationError(gettext("This event no longer needs a customer."), field="event")
        if kustomer_customer_id and kustomer_customer_id not in {c["id"] for c in event.customer_candidates}:
            raise ApplicationError(gettext("Choose one of the event's candidate customers."), field="customer")
        if kustomer_customer_id:
            link, _ = CustomerLink.objects.get_or_create(
                tenant=tenant, customer_key=event.customer_key,
                defaults={"external_id": external_id(tenant.slug, "customer", event.customer_key)})
            CustomerLink.objects.filter(pk=link.pk).update(kustomer_customer_id=kustomer_customer_id)
        waiting = list(Event.objects.select_for_update().filter(
            tenant=tenant, customer_key=event.customer_key, state=Event.State.NEEDS_CUSTOMER))
        Event.objects.filter(pk__in=[e.pk for e in waiting]).update(
            state=Event.State.ACCEPTED, error="", customer_choice=kustomer_customer_id or "new",
            next_attempt_at=None, updated_at=timezone.now())
        for e in waiting:
            enqueue_on_commit(event_process_task, e.pk)
    return len(waiting)


def event_park_behind_waiting(event: Event) -> bool:
    """R-O1: while one of the number's events waits for an admin's choice, the number's
    other events wait with it (never applied before it, nor looked up again); the
    choice runs them all through the normal path, in order. True when `event` was
    parked (the executor then goes on with the next customer's event)."""
    first = (Event.objects.filter(tenant_id=event.tenant_id, customer_key=event.customer_key,
                                  state=Event.State.NEEDS_CUSTOMER)
             .exclude(pk=event.pk).order_by("occurred_at", "received_at", "pk").first())
    if first is None:
        return False
    now = timezone.now()
    Event.objects.filter(pk=event.pk, state__in=[Event.State.ACCEPTED, Event.State.PROCESSING]).update(
        state=Event.State.NEEDS_CUSTOMER, customer_candidates=first.customer_candidates, next_attempt_at=None,
        error=f"Waits behind {first.event_id}, whose number needs a customer."[:4000], updated_at=now)
    return True
