"""The Kustomer webhook mirror: signed deliveries are stored first, then processed, and
keep the local status of conversations ("open" means open in Kustomer now)."""
from __future__ import annotations

import logging
import traceback
from datetime import datetime, timedelta

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext

from conversations.models import (
    CustomerLink,
    SyncedConversation,
    WebhookDelivery,
    WebhookSubscription,
)
from conversations.services.placement import mirror_status_set
from core.crypto import decrypt_secret
from core.errors import ApplicationError, NotFoundError
from core.queue import enqueue, enqueue_on_commit
from integrations.kustomer import webhooks as kustomer_webhooks
from integrations.kustomer.external_ids import is_external_id

logger = logging.getLogger(__name__)


def webhook_signature_valid(*, subscription: WebhookSubscription, raw_body: bytes, signature: str | None) -> bool:
    if not signature or not subscription.token_encrypted:
        return False
    return kustomer_webhooks.signature_valid(token=decrypt_secret(subscription.token_encrypted), raw_body=raw_body,
                                             signature=signature)


def webhook_delivery_record(*, subscription: WebhookSubscription, raw_body: bytes, event_name: str) -> tuple[WebhookDelivery, bool]:
    """Store a verified delivery once per Kustomer event id; process it in a task."""
    from conversations.tasks import webhook_delivery_process_task

    try:
        envelope = kustomer_webhooks.delivery_envelope(raw_body, event_name=event_name)
    except kustomer_webhooks.DeliveryUnreadable as exc:
        raise ApplicationError(exc.message, field=exc.field) from None
    try:
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(
                subscription=subscription, kustomer_event_id=envelope.event_id,
                name=envelope.name, raw_body=raw_body.decode("utf-8", errors="replace"),
                queued_at=timezone.now(),
            )
            WebhookSubscription.objects.filter(pk=subscription.pk).update(last_delivery_at=timezone.now())
            enqueue_on_commit(webhook_delivery_process_task, delivery.pk)
    except IntegrityError:
        return WebhookDelivery.objects.get(subscription=subscription, kustomer_event_id=envelope.event_id), False
    return delivery, True


# A delivery whose task keeps failing on the database (locked, connection lost) is
# re-queued by the sweeper this many runs at most; any other error fails it at once.
WEBHOOK_DELIVERY_MAX_ATTEMPTS = 5


def webhook_delivery_process(*, delivery_pk: int) -> None:
    """A conversation create/update from Kustomer updates the status mirror. A body that
    cannot be processed (an impossible date, a bug) ends the delivery ``failed`` with
    the error and traceback (the portal's Retry sends it again); it is never re-queued."""
    delivery = WebhookDelivery.objects.select_related("subscription").filter(pk=delivery_pk).first()
    if delivery is None or delivery.state != WebhookDelivery.State.RECEIVED:
        return
    WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=F("attempts") + 1)
    try:
        with transaction.atomic():
            state = _delivery_apply(delivery)
    except Exception as exc:
        transient = isinstance(exc, DatabaseError) and delivery.attempts + 1 < WEBHOOK_DELIVERY_MAX_ATTEMPTS
        logger.exception("webhook delivery %s (%s) %s", delivery.kustomer_event_id, delivery.pk,
                         "failed on the database; the sweeper sends it again" if transient else "failed")
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            state=WebhookDelivery.State.RECEIVED if transient else WebhookDelivery.State.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:2000], traceback=traceback.format_exc()[-20000:],
            processed_at=None if transient else timezone.now(),
        )
        return
    WebhookDelivery.objects.filter(pk=delivery.pk).update(state=state, processed_at=timezone.now(), error="", traceback="")


def _delivery_apply(delivery: WebhookDelivery) -> str:
    change = kustomer_webhooks.conversation_change(delivery.raw_body)
    if change is None:
        return WebhookDelivery.State.IGNORED
    row = SyncedConversation.objects.filter(
        tenant_id=delivery.subscription.tenant_id, kustomer_conversation_id=change.conversation_id).first()
    if row is None:
        row = _mirror_foreign_conversation(delivery.subscription.tenant_id, change)
    if row is None:
        return WebhookDelivery.State.IGNORED
    mirror_status_set(row, status=change.status, updated_at=change.updated_at, synced_at=timezone.now())
    return WebhookDelivery.State.PROCESSED


def webhook_delivery_retry(*, tenant_id: int, delivery_pk: int) -> WebhookDelivery:
    """The portal's Retry of a failed delivery: processed again from its stored body."""
    from conversations.tasks import webhook_delivery_process_task

    with transaction.atomic():
        delivery = (WebhookDelivery.objects.select_for_update()
                    .filter(pk=delivery_pk, subscription__tenant_id=tenant_id).first())
        if delivery is None:
            raise NotFoundError(gettext("No such webhook delivery."))
        if delivery.state != WebhookDelivery.State.FAILED:
            raise ApplicationError(gettext("Only failed deliveries can be retried; this one is "
                                           "%(state)s.") % {"state": delivery.state},
                                   field="state")
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            state=WebhookDelivery.State.RECEIVED, attempts=0, processed_at=None, queued_at=timezone.now())
        enqueue_on_commit(webhook_delivery_process_task, delivery.pk)
    delivery.refresh_from_db()
    return delivery


def webhook_deliveries_sweep(*, older_than: timedelta = timedelta(minutes=1), queued_before: datetime | None = None) -> int:
    """Re-queue Kustomer webhook deliveries stored but not processed past the deadline
    (their task was lost by the broker or a killed worker): a delivery answered 200 to
    Kustomer is never retried by Kustomer, so it must not be lost here either. Only one
    whose task was sent before `queued_before` (the sweeper's mark, core.queue) is sent
    again: one sent later may still be in the queue."""
    from conversations.tasks import webhook_delivery_process_task

    now = timezone.now()
    cutoff = now - older_than
    if queued_before is not None:
        cutoff = min(cutoff, queued_before)
    stale = list(WebhookDelivery.objects.filter(
        state=WebhookDelivery.State.RECEIVED, received_at__lt=cutoff,
    ).filter(Q(queued_at__isnull=True) | Q(queued_at__lt=cutoff)).values_list("pk", flat=True)[:1000])
    count = 0
    for pk in stale:
        WebhookDelivery.objects.filter(pk=pk).update(queued_at=timezone.now())
        count += enqueue(webhook_delivery_process_task, pk)
    if count:
        logger.info("sweeper re-queued %s webhook deliveries", count)
    return count


def _mirror_foreign_conversation(tenant_id: int,
                                 change: kustomer_webhooks.ConversationChange) -> SyncedConversation | None:
    """A conversation made in Kustomer (not by us) for one of our customers counts as
    that customer's "most recent conversation" (R-T3/R-U2): keep it in the mirror."""
    customer_id = change.customer_id
    link = CustomerLink.objects.filter(tenant_id=tenant_id, kustomer_customer_id=customer_id).first() if customer_id else None
    if link is None or is_external_id(change.external_id):
        return None  # not one of our customers, or ours (its create is being recorded)
    try:
        with transaction.atomic():
            return SyncedConversation.objects.create(
                tenant_id=tenant_id, customer=link, kustomer_customer_id=customer_id,
                kustomer_conversation_id=change.conversation_id, kind=SyncedConversation.Kind.OTHER,
                status="", kustomer_created_at=change.created_at or change.updated_at or timezone.now(),
            )
    except IntegrityError:  # ours after all (its create answer is on its way), or a twin delivery
        return SyncedConversation.objects.filter(tenant_id=tenant_id,
                                                 kustomer_conversation_id=change.conversation_id).first()
