"""Inherit-on-login (R-S8): an agent who signs in takes the status Kustomer holds."""
from __future__ import annotations

from integrations.kustomer.errors import KustomerError
from integrations.services import kustomer_connection_record_error
from statusmapping import selectors
from statusmapping.models import (
    Agent,
    Feed,
    Source,
    StatusChange,
)
from statusmapping.services.agents import agent_kustomer_user_resolve
from statusmapping.services.engine import agent_status_change_record
from statusmapping.services.kustomer_sync import (
    kustomer_client_for_tenant,
)


def agent_sign_in_inherit(*, agent_id: int, sign_in_change_id: int) -> StatusChange | None:
    """R-S8: the agent signed in to the CC; apply their current Kustomer work session
    status (read from Kustomer's routing API) as if Kustomer had just reported it."""
    agent = Agent.objects.select_related("tenant").get(pk=agent_id)
    sign_in = StatusChange.objects.get(pk=sign_in_change_id)
    settings = selectors.inheritance_settings_get(tenant=agent.tenant)
    if not (settings.active and settings.inherit_on_login):
        return None
    connection, client = kustomer_client_for_tenant(agent.tenant)
    if client is None:
        return None
    try:
        user_id = agent.kustomer_user_id or agent_kustomer_user_resolve(agent_id=agent.pk)
        if not user_id:
            return None
        session = client.get_active_work_session(user_id=user_id)
    except KustomerError as exc:
        kustomer_connection_record_error(connection=connection, error=str(exc))
        raise
    finally:
        client.close()
    if session is None or not session.status_id:
        return None
    Agent.objects.filter(pk=agent.pk).update(kustomer_work_session_id=session.id)
    changed_at = session.status_updated_at or sign_in.occurred_at
    return agent_status_change_record(
        tenant=agent.tenant, event_id=f"login:{sign_in.event_id}"[:200], source=Source.KUSTOMER,
        agent_email=agent.email, occurred_at=changed_at, kustomer_status_id=session.status_id,
        feed=Feed.LOGIN, force=True,
    )
