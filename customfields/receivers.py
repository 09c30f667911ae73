"""Reactions of custom fields to other apps' signals."""
from django.dispatch import receiver

from integrations.signals import org_moved


@receiver(org_moved, dispatch_uid="customfields.org_moved")
def create_fields_in_the_new_org(sender, *, tenant, move, **kwargs) -> None:
    from customfields.services import custom_fields_org_moved

    custom_fields_org_moved(tenant=tenant, move_id=move.pk)
