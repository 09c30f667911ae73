"""Reactions of status inheritance to other apps' signals."""
from django.dispatch import receiver

from integrations.signals import org_moved


@receiver(org_moved, dispatch_uid="statusmapping.org_moved")
def clear_old_org_ids(sender, *, tenant, move, **kwargs) -> None:
    """R-S14: inside the swap's transaction, no id of the old org stays in use."""
    from statusmapping.services.org_move import org_move_begin

    org_move_begin(tenant=tenant, move_id=move.pk)
