"""Reactions of the conversation sync to other apps' signals."""
from django.dispatch import receiver

from integrations.signals import connection_verified, org_moved


@receiver(connection_verified, dispatch_uid="conversations.subscribe_webhooks_on_verify")
def subscribe_webhooks_on_verify(sender, *, tenant_id: int, **kwargs) -> None:
    """Subscribe the tenant's Kustomer webhooks as soon as the connection works, so the
    open/closed mirror is fed before the first call arrives (sent after the commit)."""
    from conversations.tasks import webhook_subscription_ensure_task

    webhook_subscription_ensure_task.delay(tenant_id)


@receiver(org_moved, dispatch_uid="conversations.org_moved")
def set_old_org_mirrors_apart(sender, *, tenant, move, **kwargs) -> None:
    """R-S14: inside the swap's transaction, the old org's mirrors are set apart."""
    from conversations.services.org_move import org_move_mirrors_apart

    org_move_mirrors_apart(tenant=tenant, move_id=move.pk)
