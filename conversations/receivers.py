"""Reactions of the conversation sync to other apps' signals."""
from django.dispatch import receiver

from integrations.signals import connection_verified


@receiver(connection_verified, dispatch_uid="conversations.subscribe_webhooks_on_verify")
def subscribe_webhooks_on_verify(sender, *, tenant_id: int, **kwargs) -> None:
    """Subscribe the tenant's Kustomer webhooks as soon as the connection works, so the
    open/closed mirror is fed before the first call arrives (sent after the commit)."""
    from conversations.tasks import webhook_subscription_ensure_task

    webhook_subscription_ensure_task.delay(tenant_id)
