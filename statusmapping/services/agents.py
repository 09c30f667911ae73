"""Agents and their adapter instances (R-S6): creation, Kustomer user look-up and
heartbeats."""
from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from core.errors import ApplicationError, ConflictError, NotFoundError
from core.queue import enqueue_on_commit
from integrations.selectors import kustomer_connection_exists, kustomer_connection_get
from integrations.services import kustomer_client_for
from statusmapping import selectors
from statusmapping.models import (
    AdapterInstance,
    Agent,
)
from statusmapping.services.config import cc_status_ensure_defaults
from tenants.models import Tenant


# An agent's email names them in URLs (/api/v1/agents/{email}): a strict set of
# characters, so that no email can break routing or a page's links.
_AGENT_EMAIL = re.compile(r"^[a-z0-9._+'-]+@[a-z0-9-]+(\.[a-z0-9-]+)+$")


def agent_email_clean(email: str) -> str:
    """The email normalised, or ApplicationError naming `email`."""
    email = selectors.normalize_email(email)
    if not email or "@" not in email:
        raise ApplicationError(gettext("Enter the agent's email address."), field="email")
    if len(email) > 254 or not _AGENT_EMAIL.match(email):
        # xgettext:no-python-format (the % is a character the text names, not a placeholder)
        raise ApplicationError(gettext("An agent's email may hold only letters, digits and . _ "
                                       "+ ' - before the @ and a domain name after it (no /, ?, "
                                       "#, % or spaces)."), field="email")
    return email


def agent_create(*, tenant: Tenant, email: str, name: str = "") -> Agent:
    """A CC agent; their Kustomer user is then looked up by email (R-S5) in a task."""
    from statusmapping.tasks import agent_kustomer_user_resolve_task

    email = agent_email_clean(email)
    cc_status_ensure_defaults(tenant=tenant)
    try:
        with transaction.atomic():
            agent = Agent.objects.create(tenant=tenant, email=email, name=(name or "").strip()[:200])
    except IntegrityError:
        raise ConflictError(gettext("An agent with the email %(email)s already exists.")
                            % {"email": email}, field="email") from None
    if kustomer_connection_exists(tenant=tenant):
        enqueue_on_commit(agent_kustomer_user_resolve_task, agent.pk)
    return agent


def agent_delete(*, agent: Agent) -> None:
    """Remove an agent. Their adapter instances and adapter sign-ins (which ends every
    adapter token of theirs) go with them; their status history stays (by email)."""
    from statusmapping.models import StatusChange

    with transaction.atomic():
        StatusChange.objects.filter(agent=agent).update(agent=None)
        agent.delete()


def agent_update(*, agent: Agent, email: str, name: str = "") -> Agent:
    """Change an agent's name and email. A new email is linked again to the Kustomer
    user with that email (R-S5): the old link is dropped at once."""
    from statusmapping.tasks import agent_kustomer_user_resolve_task

    email = agent_email_clean(email)
    relink = email != agent.email
    fields = {"name": (name or "").strip()[:200], "email": email}
    if relink:
        fields.update(kustomer_user_id="", kustomer_user_checked_at=None, kustomer_user_error="",
                      kustomer_work_session_id="")
    try:
        with transaction.atomic():
            Agent.objects.filter(pk=agent.pk).update(**fields, updated_at=timezone.now())
    except IntegrityError:
        raise ConflictError(gettext("An agent with the email %(email)s already exists.")
                            % {"email": email}, field="email") from None
    agent.refresh_from_db()
    if relink and kustomer_connection_exists(tenant_id=agent.tenant_id):
        enqueue_on_commit(agent_kustomer_user_resolve_task, agent.pk)
    return agent


def agent_kustomer_user_resolve(*, agent_id: int) -> str:
    """Find the agent's Kustomer user by email (R-S5). None or several users with that
    email: recorded on the agent, nothing linked."""
    agent = Agent.objects.select_related("tenant").get(pk=agent_id)
    connection = kustomer_connection_get(tenant=agent.tenant)
    if connection is None:
        return ""
    with kustomer_client_for(connection=connection) as client:
        users = client.users_with_email(agent.email)
    now = timezone.now()
    if len(users) == 1:
        Agent.objects.filter(pk=agent.pk).update(kustomer_user_id=users[0].id, kustomer_user_checked_at=now,
                                                 kustomer_user_error="")
        return users[0].id
    error = ("No Kustomer user has this email." if not users
             else "Several Kustomer users have this email: shared users are not supported.")
    Agent.objects.filter(pk=agent.pk).update(kustomer_user_id="", kustomer_user_checked_at=now, kustomer_user_error=error)
    return ""


def kustomer_user_id_for_email(*, tenant: Tenant, client, email: str) -> str | None:
    """The one look-up of a Kustomer user by email (R-S5), for assignments as well as
    agents: the agent's linked user when the portal knows the agent, else Kustomer's
    user list, cached per org (R-S14: a tenant that moved never gets an old org's id).
    The same rule as linking an agent: exactly one user with that email, or none."""
    agent = selectors.agent_get_by_email(tenant=tenant, email=email)
    if agent is not None and agent.kustomer_user_id:
        return agent.kustomer_user_id
    key = (f"statusmapping:kustomer-user:{tenant.pk}:{client.org_key}:"
           f"{hashlib.sha256(email.lower().encode()).hexdigest()[:32]}")
    cached = cache.get(key)
    if cached is not None:
        return cached or None
    users = client.users_with_email(email)
    user_id = users[0].id if len(users) == 1 else ""
    cache.set(key, user_id, 600 if user_id else 60)  # agents rarely change their email
    return user_id or None


def adapter_heartbeat_record(*, tenant: Tenant, agent_email: str, instance_id: str) -> tuple[Agent, int]:
    """R-S6: an open adapter says it is alive. Returns the agent and how many of their
    adapter instances are live now (more than one: sync pauses for them)."""
    agent = selectors.agent_get_by_email(tenant=tenant, email=agent_email)
    if agent is None:
        raise NotFoundError(gettext("No agent with this email."), field="agent_email")
    instance_id = (instance_id or "").strip()
    if not instance_id:
        raise ApplicationError(gettext("Send the adapter's instance id."), field="instance_id")
    adapter_instance_touch(agent_id=agent.pk, instance_id=instance_id, at=timezone.now())
    return agent, len(selectors.agent_live_instance_ids(agent=agent))


def adapter_instance_touch(*, agent_id: int, instance_id: str, at: datetime) -> None:
    # One statement, race-free: a concurrent first heartbeat of the same instance
    # updates instead of failing on the unique key.
    AdapterInstance.objects.bulk_create(
        [AdapterInstance(agent_id=agent_id, instance_id=instance_id[:100], first_seen_at=at, last_seen_at=at)],
        update_conflicts=True, unique_fields=["agent", "instance_id"], update_fields=["last_seen_at"],
    )


def adapter_instances_forget(*, older_than: timedelta = timedelta(hours=1)) -> int:
    deleted, _ = AdapterInstance.objects.filter(last_seen_at__lt=timezone.now() - older_than).delete()
    return deleted
