"""Writes of agent status inheritance (SPEC §3).

Request side (fast, local, no Kustomer call): settings, the map, agents, CC statuses,
heartbeats and `agent_status_change_record`, which decides one status change on the
agent's current state and stores it by compare-and-set (agent_state.py: one agent's
concurrent events never lose an update) and enqueues a two-way push on commit.

Task side (Celery, calls Kustomer): refreshing Kustomer statuses, resolving agents'
Kustomer users, the two-way prerequisite check, pushing statuses, the work-session
watcher and the sign-in inheritance.
"""
from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from integrations.kustomer.errors import KustomerError, KustomerNotFoundError
from integrations.kustomer.types import WorkSession, parse_datetime
from integrations.models import KustomerConnection
from integrations.services import kustomer_client_for, kustomer_connection_record_error
from core.errors import ApplicationError, ConflictError, NotFoundError
from core.queue import enqueue, enqueue_on_commit
from statusmapping import agent_state, rules, selectors
from statusmapping.models import (
    Activity,
    AdapterInstance,
    Agent,
    AgentPush,
    CCStatus,
    Direction,
    Feed,
    Kind,
    KustomerStatus,
    Priority,
    Source,
    StatusChange,
    StatusInheritanceSettings,
)
from tenants.models import Tenant
from tenants.services import tenant_config_changed

logger = logging.getLogger(__name__)

# (name, routable, activity): the CC statuses every tenant starts with. "On call" and
# "Wrap-up" are the ones the CC sets itself during a call (R-S12 holds Kustomer changes
# while the agent is in them).
DEFAULT_CC_STATUSES = (
    ("Available", True, Activity.NONE),
    ("In-chat", True, Activity.NONE),
    ("Unavailable", False, Activity.NONE),
    ("Break", False, Activity.NONE),
    ("Lunch", False, Activity.NONE),
    ("Meeting", False, Activity.NONE),
    ("Training", False, Activity.NONE),
    ("On call", False, Activity.CALL),
    ("Wrap-up", False, Activity.WRAP_UP),
    ("Offline", False, Activity.NONE),
)


class NoKustomerConnection(ApplicationError):
    def __init__(self) -> None:
        super().__init__("Connect the tenant to Kustomer first (Developer settings › Kustomer connection).")


# ================================================================================ settings
def inheritance_settings_ensure(*, tenant: Tenant) -> StatusInheritanceSettings:
    settings, _ = StatusInheritanceSettings.objects.get_or_create(tenant=tenant)
    return settings


def status_inheritance_availability_set(*, tenant: Tenant, available: bool, changed_by: str = "") -> StatusInheritanceSettings:
    """R-S1 step 1 (support staff). Taking availability away also turns inheritance off,
    so giving it back later needs the tenant admin's consent again."""
    with transaction.atomic():
        tenant_config_changed(tenant=tenant)
        inheritance_settings_ensure(tenant=tenant)
        settings = StatusInheritanceSettings.objects.select_for_update().get(tenant=tenant)
        settings.available = available
        settings.available_changed_at = timezone.now()
        settings.available_changed_by = changed_by[:150]
        if not available:
            settings.enabled = False
        settings.save()
    return settings


def status_inheritance_update(
    *,
    tenant: Tenant,
    enabled: bool | None = None,
    priority: str | None = None,
    direction: str | None = None,
    inherit_on_login: bool | None = None,
    watch_interval_seconds: int | None = None,
) -> StatusInheritanceSettings:
    """R-S1 step 2, R-S7, R-S8, R-S9 (the tenant admin). Only the given values change.
    Choosing two-way (again) queues the check of Kustomer's prerequisites; pushes go out
    only once it passed."""
    if priority is not None and priority not in Priority.values:
        raise ApplicationError(f"Choose one of {', '.join(Priority.values)}.", field="priority")
    if direction is not None and direction not in Direction.values:
        raise ApplicationError(f"Choose one of {', '.join(Direction.values)}.", field="direction")
    if watch_interval_seconds is not None and not 1 <= watch_interval_seconds <= 3600:
        raise ApplicationError("Give an interval of 1 to 3,600 seconds.", field="watch_interval_seconds")
    from statusmapping.tasks import two_way_prerequisites_check_task

    with transaction.atomic():
        tenant_config_changed(tenant=tenant)
        inheritance_settings_ensure(tenant=tenant)
        settings = StatusInheritanceSettings.objects.select_for_update().get(tenant=tenant)
        if enabled and not settings.available:
            raise ApplicationError(
                "Kustomer status inheritance is not available to this tenant yet: ask support to make it available.",
                field="enabled",
            )
        was_two_way = settings.direction == Direction.TWO_WAY and settings.enabled
        if enabled is not None:
            settings.enabled = enabled
        if priority is not None:
            settings.priority = priority
        if direction is not None:
            settings.direction = direction
        if inherit_on_login is not None:
            settings.inherit_on_login = inherit_on_login
        if watch_interval_seconds is not None:
            settings.watch_interval_seconds = watch_interval_seconds
        now_two_way = settings.direction == Direction.TWO_WAY and settings.enabled
        if now_two_way and not was_two_way:
            settings.two_way_ready = False
            settings.two_way_checks = []
            settings.two_way_check_error = ""
            settings.two_way_checked_at = None
            enqueue_on_commit(two_way_prerequisites_check_task, tenant.pk)
        settings.save()
    return settings


def two_way_prerequisites_check_request(*, tenant: Tenant) -> None:
    from statusmapping.tasks import two_way_prerequisites_check_task

    if not KustomerConnection.objects.filter(tenant=tenant).exists():
        raise NoKustomerConnection()
    enqueue_on_commit(two_way_prerequisites_check_task, tenant.pk)


# ================================================================================ CC statuses
def cc_status_ensure_defaults(*, tenant: Tenant) -> None:
    """Create the default CC statuses the first time a tenant needs them (idempotent,
    safe under concurrency: the unique name constraint drops a second insert)."""
    if CCStatus.objects.filter(tenant=tenant).exists():
        return
    with transaction.atomic():
        tenant_config_changed(tenant=tenant)
        CCStatus.objects.bulk_create(
            [
                CCStatus(tenant=tenant, name=name, routable=routable, activity=activity, is_default=True, position=i)
                for i, (name, routable, activity) in enumerate(DEFAULT_CC_STATUSES)
            ],
            ignore_conflicts=True,
        )


def cc_status_create(*, tenant: Tenant, name: str, routable: bool = False, activity: str = Activity.NONE) -> CCStatus:
    name = (name or "").strip()
    if not name:
        raise ApplicationError("Give the status a name.", field="name")
    if len(name) > 60:
        raise ApplicationError("Use at most 60 characters.", field="name")
    if activity not in Activity.values:
        raise ApplicationError(f"Choose one of {', '.join(Activity.values)}.", field="activity")
    cc_status_ensure_defaults(tenant=tenant)
    if selectors.cc_status_find(tenant=tenant, name=name):
        raise ConflictError(f"A CC status named {name} already exists.", field="name")
    try:
        with transaction.atomic():
            tenant_config_changed(tenant=tenant)
            return CCStatus.objects.create(tenant=tenant, name=name, routable=routable, activity=activity, position=1000)
    except IntegrityError:
        raise ConflictError(f"A CC status named {name} already exists.", field="name") from None


# ================================================================================ Kustomer statuses
def kustomer_statuses_refresh_request(*, tenant: Tenant) -> None:
    """R-S2: read Kustomer's statuses again (in a task: no request calls Kustomer)."""
    from statusmapping.tasks import kustomer_statuses_refresh_task

    if not KustomerConnection.objects.filter(tenant=tenant).exists():
        raise NoKustomerConnection()
    enqueue_on_commit(kustomer_statuses_refresh_task, tenant.pk)


def _kustomer_statuses_refresh_soon(*, tenant: Tenant) -> None:
    """A status event named a Kustomer status we have not read yet (added in Kustomer
    since the last refresh): read them again, at most once a minute per tenant."""
    from django.core.cache import cache

    from statusmapping.tasks import kustomer_statuses_refresh_task

    if cache.add(f"statusmapping:refresh-soon:{tenant.pk}", 1, timeout=60) and \
            KustomerConnection.objects.filter(tenant=tenant).exists():
        enqueue_on_commit(kustomer_statuses_refresh_task, tenant.pk)


def kustomer_statuses_refresh(*, tenant_id: int) -> int:
    """Store `GET /v1/routing/statuses`; a status Kustomer no longer lists is marked
    removed (its mapping and history stay), one that comes back is unmarked."""
    tenant = Tenant.objects.get(pk=tenant_id)
    connection = KustomerConnection.objects.filter(tenant=tenant).first()
    if connection is None:
        return 0
    try:
        statuses = kustomer_client_for(connection=connection).list_routing_statuses()
    except KustomerError as exc:
        kustomer_connection_record_error(connection=connection, error=str(exc))
        StatusInheritanceSettings.objects.filter(tenant=tenant).update(statuses_refresh_error=str(exc)[:2000])
        raise
    now = timezone.now()
    with transaction.atomic():
        tenant_config_changed(tenant=tenant)  # new statuses, new names
        seen = []
        for status in statuses:
            seen.append(status.id)
            KustomerStatus.objects.update_or_create(
                tenant=tenant, kustomer_id=status.id,
                defaults={
                    "name": (status.name or status.id)[:200], "status_type": status.status_type or "",
                    "system": status.system, "last_seen_at": now, "removed_at": None,
                },
            )
        KustomerStatus.objects.filter(tenant=tenant, removed_at__isnull=True).exclude(kustomer_id__in=seen).update(
            removed_at=now
        )
        inheritance_settings_ensure(tenant=tenant)
        StatusInheritanceSettings.objects.filter(tenant=tenant).update(
            statuses_refreshed_at=now, statuses_refresh_error=""
        )
    return len(statuses)


# ================================================================================ the map
def status_mapping_save(
    *, tenant: Tenant, mapping: dict[str, str | None], push: dict[str, str | None] | None = None
) -> None:
    """R-S2/R-S3: store the whole Kustomer → CC map at once (a Kustomer status left out
    is unmapped), and for two-way sync the Kustomer status chosen per CC status (R-S9;
    `push` None leaves those choices as they are). Any map is allowed; warnings come
    from `selectors.status_mapping_warnings`. All or nothing."""
    cc_status_ensure_defaults(tenant=tenant)
    cc_by_name = {s.name.lower(): s for s in CCStatus.objects.filter(tenant=tenant)}
    kustomer = {k.kustomer_id: k for k in KustomerStatus.objects.filter(tenant=tenant)}
    errors: dict[str, list[str]] = {}
    targets: dict[str, CCStatus | None] = {}
    for kid, cc_name in (mapping or {}).items():
        if kid not in kustomer:
            errors.setdefault(f"mapping.{kid}", []).append("No such Kustomer status: refresh the list from Kustomer.")
            continue
        if cc_name in (None, ""):
            targets[kid] = None
            continue
        cc = cc_by_name.get(str(cc_name).strip().lower())
        if cc is None:
            errors.setdefault(f"mapping.{kid}", []).append(f"No CC status named {cc_name}.")
            continue
        targets[kid] = cc
    push_targets: dict[int, str] = {}
    for cc_name, kid in (push or {}).items():
        cc = cc_by_name.get(str(cc_name).strip().lower())
        if cc is None:
            errors.setdefault(f"push.{cc_name}", []).append(f"No CC status named {cc_name}.")
            continue
        if kid in (None, ""):
            push_targets[cc.pk] = ""
            continue
        k = kustomer.get(kid)
        if k is None or k.removed_at is not None:
            errors.setdefault(f"push.{cc_name}", []).append("No such Kustomer status (or Kustomer no longer has it).")
            continue
        push_targets[cc.pk] = kid
    if errors:
        raise ApplicationError("The map was not saved: fix the marked statuses.", errors=errors)
    with transaction.atomic():
        tenant_config_changed(tenant=tenant)
        for kid, status in kustomer.items():
            target = targets.get(kid)
            if status.cc_status_id != (target.pk if target else None):
                KustomerStatus.objects.filter(pk=status.pk).update(cc_status=target)
        if push is not None:
            for cc in cc_by_name.values():
                wanted = push_targets.get(cc.pk, "")
                if cc.push_kustomer_status_id != wanted:
                    CCStatus.objects.filter(pk=cc.pk).update(push_kustomer_status_id=wanted)


# ================================================================================ agents
def agent_create(*, tenant: Tenant, email: str, name: str = "") -> Agent:
    """A CC agent; their Kustomer user is then looked up by email (R-S5) in a task."""
    from statusmapping.tasks import agent_kustomer_user_resolve_task

    email = selectors.normalize_email(email)
    if not email or "@" not in email:
        raise ApplicationError("Enter the agent's email address.", field="email")
    cc_status_ensure_defaults(tenant=tenant)
    try:
        with transaction.atomic():
            agent = Agent.objects.create(tenant=tenant, email=email, name=(name or "").strip()[:200])
    except IntegrityError:
        raise ConflictError(f"An agent with the email {email} already exists.", field="email") from None
    if KustomerConnection.objects.filter(tenant=tenant).exists():
        enqueue_on_commit(agent_kustomer_user_resolve_task, agent.pk)
    return agent


def agent_kustomer_user_resolve(*, agent_id: int) -> str:
    """Find the agent's Kustomer user by email (R-S5). None or several users with that
    email: recorded on the agent, nothing linked."""
    agent = Agent.objects.select_related("tenant").get(pk=agent_id)
    connection = KustomerConnection.objects.filter(tenant=agent.tenant).first()
    if connection is None:
        return ""
    users = [u for u in kustomer_client_for(connection=connection).list_users(email=agent.email)
             if (u.email or "").lower() == agent.email]
    now = timezone.now()
    if len(users) == 1:
        Agent.objects.filter(pk=agent.pk).update(kustomer_user_id=users[0].id, kustomer_user_checked_at=now,
                                                 kustomer_user_error="")
        return users[0].id
    error = ("No Kustomer user has this email." if not users
             else "Several Kustomer users have this email: shared users are not supported.")
    Agent.objects.filter(pk=agent.pk).update(kustomer_user_id="", kustomer_user_checked_at=now, kustomer_user_error=error)
    return ""


def adapter_heartbeat_record(*, tenant: Tenant, agent_email: str, instance_id: str) -> tuple[Agent, int]:
    """R-S6: an open adapter says it is alive. Returns the agent and how many of their
    adapter instances are live now (more than one: sync pauses for them)."""
    agent = selectors.agent_get_by_email(tenant=tenant, email=agent_email)
    if agent is None:
        raise NotFoundError("No agent with this email.", field="agent_email")
    instance_id = (instance_id or "").strip()
    if not instance_id:
        raise ApplicationError("Send the adapter's instance id.", field="instance_id")
    _instance_touch(agent_id=agent.pk, instance_id=instance_id, at=timezone.now())
    return agent, len(selectors.agent_live_instance_ids(agent=agent))


def _instance_touch(*, agent_id: int, instance_id: str, at: datetime) -> None:
    # One statement, race-free: a concurrent first heartbeat of the same instance
    # updates instead of failing on the unique key.
    AdapterInstance.objects.bulk_create(
        [AdapterInstance(agent_id=agent_id, instance_id=instance_id[:100], first_seen_at=at, last_seen_at=at)],
        update_conflicts=True, unique_fields=["agent", "instance_id"], update_fields=["last_seen_at"],
    )


def adapter_instances_forget(*, older_than: timedelta = timedelta(hours=1)) -> int:
    deleted, _ = AdapterInstance.objects.filter(last_seen_at__lt=timezone.now() - older_than).delete()
    return deleted


# ================================================================================ the engine
def _agent_state(agent: agent_state.AgentRow, cc_by_id: dict[int, selectors.CCStatusRef]) -> rules.AgentState:
    current = cc_by_id.get(agent.cc_status_id) if agent.cc_status_id else None
    held = cc_by_id.get(agent.held_cc_status_id) if agent.held_cc_status_id else None
    return rules.AgentState(
        cc_status=current.name if current else None,
        cc_status_at=agent.cc_status_at,
        kustomer_status_id=agent.kustomer_status_id or None,
        kustomer_status_at=agent.kustomer_status_at,
        activity=current.activity if current else rules.ACTIVITY_NONE,
        held_cc_status=held.name if held else None,
        held_kustomer_status_id=agent.held_kustomer_status_id or None,
        held_at=agent.held_at,
        pending_push_kustomer_status_id=agent.push_kustomer_status_id or None,
    )


#: A status name or id this process's configuration copy lacks makes it read the copy
#: again, unless the copy is younger than this.
_MISS_REREAD_SECONDS = 1.0


def agent_status_change_record(
    *,
    tenant: Tenant,
    event_id: str,
    source: str,
    agent_email: str,
    occurred_at: datetime,
    kustomer_status_id: str = "",
    status: str = "",
    kind: str = Kind.MANUAL,
    instance_id: str = "",
    feed: str = Feed.API,
    force: bool = False,
) -> StatusChange:
    """Decide one status change (rules.decide_status_change) and store it (R-S11).

    A repeated `event_id` returns the first record unchanged. The new state is stored
    only if the agent's state is still the one decided on (else read and decided again),
    so concurrent events of one agent are decided one after the other on the latest
    state and none is lost.

    The hot path of the status event endpoint: the tenant's configuration comes from
    the process's copy (`selectors.status_config_get`), and a repeated id is found by
    the unique key rather than by a look-up before every decision."""
    if timezone.is_naive(occurred_at):
        raise ApplicationError("Give occurred_at with a time zone (e.g. ...Z).", field="occurred_at")
    email = selectors.normalize_email(agent_email)
    config = selectors.status_config_get(tenant=tenant)
    if not config.cc_by_lower:
        cc_status_ensure_defaults(tenant=tenant)
        config = selectors.status_config_get(tenant=tenant, fresh=True)
    requested = None
    if source == Source.CONTACT_CENTER:
        wanted = (status or "").strip().lower()
        requested = config.cc_by_lower.get(wanted)
        if requested is None:
            # Added since this process read the statuses? Read them once more (at most
            # once a second: a sender repeating an unknown name costs no more than that).
            config = selectors.status_config_get(tenant=tenant, max_age=_MISS_REREAD_SECONDS)
            requested = config.cc_by_lower.get(wanted)
        if requested is None:
            if (existing := _status_change_find(tenant=tenant, event_id=event_id)) is not None:
                return existing
            raise ApplicationError(f"No CC status named {status!r}.", field="status")
    elif source != Source.KUSTOMER:
        raise ApplicationError("Use kustomer or contact_center.", field="source")
    elif not kustomer_status_id:
        if (existing := _status_change_find(tenant=tenant, event_id=event_id)) is not None:
            return existing
        raise ApplicationError("Send the Kustomer status id.", field="kustomer_status_id")
    elif kustomer_status_id not in config.kustomer_names:
        # Mapped since this process read the map? Read it once more, at most once a
        # second (the status may also be new in Kustomer: the decision then asks for a
        # refresh).
        config = selectors.status_config_get(tenant=tenant, max_age=_MISS_REREAD_SECONDS)

    try:
        return _agent_status_change_decide(
            tenant=tenant, event_id=event_id, source=source, email=email, occurred_at=occurred_at,
            kustomer_status_id=kustomer_status_id, requested=requested, kind=kind, instance_id=instance_id,
            feed=feed, force=force, config=config,
        )
    except IntegrityError:
        # A repeated id: a concurrent delivery of the same event, or an earlier
        # delivery was decided long ago. Its decision stands; everything of this one
        # (the agent row, instance, queued push) was rolled back with the transaction.
        existing = _status_change_find(tenant=tenant, event_id=event_id)
        if existing is None:
            raise
        return existing


def _status_change_find(*, tenant: Tenant, event_id: str) -> StatusChange | None:
    """The decision already made for this id, if any. A repeated id answers its first
    decision even when the repeat's body could not be decided (only read on the error
    paths; the unique key catches repeats on the way in)."""
    return StatusChange.objects.filter(tenant=tenant, event_id=event_id[:200]).first()


#: Compare-and-set attempts of one decision before giving up (each failed attempt means
#: another change of the same agent was stored in between).
_DECIDE_ATTEMPTS = 50


def _agent_status_change_decide(
    *, tenant: Tenant, event_id: str, source: str, email: str, occurred_at: datetime, kustomer_status_id: str,
    requested: selectors.CCStatusRef | None, kind: str, instance_id: str, feed: str, force: bool,
    config: selectors.StatusConfig,
) -> StatusChange:
    """Read the agent's state, decide, and store the new state with its history record
    if the state is still as read (agent_state.py); otherwise read and decide again."""
    touched = False
    for _ in range(_DECIDE_ATTEMPTS):
        # R-S6 matters for Kustomer changes only: their live adapters come with the read.
        live_since = timezone.now() - selectors.ADAPTER_INSTANCE_TTL if source == Source.KUSTOMER else None
        read, live_ids = (agent_state.agent_row_read(tenant_id=tenant.pk, email=email, live_since=live_since)
                          if email else (None, set()))
        now = timezone.now()  # after the read: history is ordered as decisions were made
        live = 0
        if read is not None and source == Source.KUSTOMER:
            if instance_id:
                if not touched:
                    # The instance that sent this event is alive too (it may not have
                    # sent a heartbeat yet); remember it as such.
                    _instance_touch(agent_id=read.id, instance_id=instance_id, at=now)
                    touched = True
                live_ids.add(instance_id[:100])
            live = len(live_ids)
        # A change cannot have happened after we received it: a sender whose clock runs
        # ahead would otherwise make every later change look stale (R-S7). History keeps
        # the time as sent.
        effective_at = min(occurred_at, now)
        outcome = rules.decide_status_change(
            settings=config.settings,
            status_map=config.status_map,
            agent=_agent_state(read, config.cc_by_id) if read is not None else None,
            live_instances=live,
            change=rules.IncomingChange(
                source=source, occurred_at=effective_at, kustomer_status_id=kustomer_status_id or None,
                cc_status=requested.name if requested else None, kind=kind, force=force,
            ),
        )
        current = config.cc_by_id.get(read.cc_status_id) if read is not None and read.cc_status_id else None
        change = StatusChange(
            tenant=tenant, event_id=event_id[:200], agent_email=email[:254], source=source, feed=feed,
            kind=kind if source == Source.CONTACT_CENTER else "", instance_id=(instance_id or "")[:100],
            kustomer_status_id=kustomer_status_id or "",
            kustomer_status_name=config.kustomer_names.get(kustomer_status_id, "")[:200],
            requested_status=requested.name if requested else "", from_status=current.name if current else "",
            to_status=outcome.cc_status or "", decision=outcome.decision.value, reason=outcome.reason[:300],
            occurred_at=occurred_at, received_at=now,
            pushed_kustomer_status_id=outcome.push_kustomer_status_id or "",
        )
        if read is None:
            with transaction.atomic():  # a savepoint: a repeated id fails alone
                change.save(force_insert=True)
        elif not agent_state.agent_change_commit(
            read=read, new=_state_after(read, outcome, config.cc_by_lower),
            push_requested_at=now if outcome.push_kustomer_status_id else None, updated_at=now, change=change,
        ):
            continue  # the agent's state moved on since the read: decide again on the new one
        _after_decision(tenant=tenant, read=read, change=change, outcome=outcome, config=config)
        return change
    raise ApplicationError(
        "The agent's status is changing faster than it can be decided; send the event again.",
        field="agent_email", status_code=503,
    )


def _after_decision(*, tenant: Tenant, read: agent_state.AgentRow | None, change: StatusChange,
                    outcome: rules.Outcome, config: selectors.StatusConfig) -> None:
    """What a stored decision sets off (after the commit when inside a transaction)."""
    if change.kustomer_status_id and change.kustomer_status_id not in config.kustomer_names:
        _kustomer_statuses_refresh_soon(tenant=tenant)
    if read is None:
        return
    if outcome.push_kustomer_status_id:
        from statusmapping.tasks import agent_status_push_task

        enqueue_on_commit(agent_status_push_task, read.id)
    if (change.source == Source.CONTACT_CENTER and change.kind == rules.KIND_SIGN_IN
            and config.settings.active and config.settings.inherit_on_login):
        from statusmapping.tasks import agent_sign_in_inherit_task

        enqueue_on_commit(agent_sign_in_inherit_task, read.id, change.pk)


def _state_after(read: agent_state.AgentRow, outcome: rules.Outcome,
                 cc_by_lower: dict[str, selectors.CCStatusRef]) -> agent_state.AgentRow:
    """The agent's state once `outcome` is applied to `read`."""
    new: dict = {}
    if outcome.cc_status_changed and outcome.cc_status:
        new.update(cc_status_id=cc_by_lower[outcome.cc_status.lower()].pk, cc_status_at=outcome.cc_status_at)
    if outcome.kustomer_status_id is not None:
        new.update(kustomer_status_id=outcome.kustomer_status_id, kustomer_status_at=outcome.kustomer_status_at)
    if outcome.held_cc_status:
        new.update(held_cc_status_id=cc_by_lower[outcome.held_cc_status.lower()].pk,
                   held_kustomer_status_id=outcome.held_kustomer_status_id or "", held_at=outcome.held_at)
    elif outcome.clear_held and read.held_cc_status_id:
        new.update(held_cc_status_id=None, held_kustomer_status_id="", held_at=None)
    if outcome.push_kustomer_status_id:
        new.update(push_kustomer_status_id=outcome.push_kustomer_status_id)
    return dataclasses.replace(read, **new) if new else read


# ================================================================================ two-way (R-S9)
def _client_for_tenant(tenant: Tenant):
    connection = KustomerConnection.objects.filter(tenant=tenant).first()
    if connection is None:
        return None, None
    return connection, kustomer_client_for(connection=connection)


def agent_status_push(*, agent_id: int) -> str:
    """Send the agent's latest wanted Kustomer status to their work session.

    Pushes of one agent are serialised on their AgentPush row and always send the
    latest wanted value, so a burst of CC changes collapses to the last one. Returns what
    happened (for logs and tests). Retryable Kustomer errors propagate to the task."""
    AgentPush.objects.get_or_create(agent_id=agent_id)
    unlinked = Agent.objects.filter(pk=agent_id, kustomer_user_id="").exists()
    if unlinked:
        # Before any lock: this writes the agent row and calls Kustomer.
        try:
            agent_kustomer_user_resolve(agent_id=agent_id)
        except KustomerError as exc:
            if exc.retryable:
                raise
    with transaction.atomic():
        AgentPush.objects.select_for_update().get(agent_id=agent_id)
        agent = Agent.objects.select_related("tenant").get(pk=agent_id)
        wanted = agent.push_kustomer_status_id
        if not wanted:
            return "nothing to push"
        settings = selectors.inheritance_settings_get(tenant=agent.tenant)
        if not selectors.inheritance_settings_for_rules(settings).pushes:
            return _push_give_up(agent, wanted, "Two-way sync is off or its prerequisites failed.")
        connection, client = _client_for_tenant(agent.tenant)
        if client is None:
            return _push_give_up(agent, wanted, "No Kustomer connection.")
        try:
            user_id = agent.kustomer_user_id
            if not user_id:
                return _push_give_up(agent, wanted, "No Kustomer user with the agent's email (R-S5).")
            session = client.get_active_work_session(user_id=user_id)
            if session is None:
                return _push_give_up(agent, wanted, "The agent has no active Kustomer work session.")
            if session.team_id not in (settings.two_way_team_ids or []):
                return _push_give_up(
                    agent, wanted,
                    f"The agent's selected Kustomer team ({session.team_id}) has no team routing with an external "
                    "queue to the contact center (R-S9).",
                )
            if session.status_id == wanted:
                updated = session
            else:
                updated = client.update_work_session_status(work_session_id=session.id, status_id=wanted)
        except KustomerError as exc:
            if not exc.retryable:
                kustomer_connection_record_error(connection=connection, error=str(exc))
                return _push_give_up(agent, wanted, str(exc))
            failure = exc  # recorded below, outside this transaction (which a raise rolls back)
        else:
            failure = None
            changed_at = _status_updated_at(updated) or timezone.now()
            Agent.objects.filter(pk=agent.pk).update(
                kustomer_status_id=wanted, kustomer_status_at=changed_at, kustomer_work_session_id=session.id,
                pushed_at=timezone.now(), push_error="",
            )
            # Collapse: a newer wanted status set meanwhile stays for the push queued with it.
            Agent.objects.filter(pk=agent.pk, push_kustomer_status_id=wanted).update(push_kustomer_status_id="")
    if failure is not None:
        # The wanted status stays: the task's retry sends the latest one.
        kustomer_connection_record_error(connection=connection, error=str(failure))
        Agent.objects.filter(pk=agent_id).update(push_error=str(failure)[:500])
        raise failure
    return "pushed"


def agent_pushes_sweep(*, older_than: timedelta = timedelta(seconds=30)) -> int:
    """Re-queue two-way pushes still wanted past the deadline (R-S9): their task was lost
    by the broker or a killed worker, or gave up on a long Kustomer outage. The push task
    always sends the latest wanted status, so an extra one is harmless."""
    from statusmapping.tasks import agent_status_push_task

    stale = (
        Agent.objects.exclude(push_kustomer_status_id="")
        .filter(push_requested_at__lt=timezone.now() - older_than)
        .values_list("pk", flat=True)[:1000]
    )
    return sum(enqueue(agent_status_push_task, pk) for pk in stale)


def _push_give_up(agent: Agent, wanted: str, error: str) -> str:
    Agent.objects.filter(pk=agent.pk, push_kustomer_status_id=wanted).update(push_kustomer_status_id="")
    Agent.objects.filter(pk=agent.pk).update(push_error=error[:500])
    logger.info("status push of agent %s not sent: %s", agent.pk, error)
    return f"not pushed: {error}"


def _status_updated_at(session: WorkSession) -> datetime | None:
    attributes = session.raw.get("attributes") if isinstance(session.raw, dict) else None
    if not isinstance(attributes, dict):
        return None
    return parse_datetime(attributes.get("statusUpdatedAt")) or parse_datetime(attributes.get("updatedAt"))


def two_way_prerequisites_check(*, tenant_id: int) -> list[dict]:
    """R-S9: team routing on and an external queue (to the contact center) for each team
    the tenant's agents work as, and each agent's selected team being such a team.
    Stores every check with its outcome (shown on the settings page)."""
    tenant = Tenant.objects.get(pk=tenant_id)
    connection, client = _client_for_tenant(tenant)
    inheritance_settings_ensure(tenant=tenant)
    if client is None:
        _two_way_result_store(
            tenant=tenant, two_way_ready=False, two_way_checked_at=timezone.now(), two_way_check_error="No Kustomer connection.",
            two_way_checks=[{"check": "connection", "subject": "Kustomer", "ok": False,
                             "detail": "Connect the tenant to Kustomer first."}],
        )
        return []
    try:
        checks, ready, team_ids = _two_way_checks(tenant=tenant, client=client)
    except KustomerError as exc:
        kustomer_connection_record_error(connection=connection, error=str(exc))
        _two_way_result_store(
            tenant=tenant, two_way_ready=False, two_way_checked_at=timezone.now(), two_way_check_error=str(exc)[:2000],
        )
        raise
    _two_way_result_store(
        tenant=tenant, two_way_ready=ready, two_way_checks=checks, two_way_team_ids=team_ids,
        two_way_checked_at=timezone.now(), two_way_check_error="",
    )
    return checks


def _two_way_result_store(*, tenant: Tenant, **fields) -> None:
    # two_way_ready decides whether CC changes are pushed: part of the decision config.
    with transaction.atomic():
        tenant_config_changed(tenant=tenant)
        StatusInheritanceSettings.objects.filter(tenant=tenant).update(**fields)


def _two_way_checks(*, tenant: Tenant, client) -> tuple[list[dict], bool, list[str]]:
    agents = {a.kustomer_user_id: a for a in Agent.objects.filter(tenant=tenant).exclude(kustomer_user_id="")}
    teams = {t.id: t for t in client.list_teams()}
    sessions = {ws.user_id: ws for ws in client.iter_active_work_sessions() if ws.user_id in agents}
    # The teams that matter: those our agents work as now, else every team they belong to.
    team_ids = sorted({ws.team_id for ws in sessions.values() if ws.team_id})
    if not team_ids:
        team_ids = sorted(t.id for t in teams.values() if set(t.member_ids) & set(agents))
    checks: list[dict] = []
    good_teams: list[str] = []
    if not agents:
        checks.append({"check": "agents", "subject": "Agents", "ok": False,
                       "detail": "No agent is linked to a Kustomer user yet (agents are matched by email)."})
    if agents and not team_ids:
        checks.append({"check": "teams", "subject": "Teams", "ok": False,
                       "detail": "None of the agents belongs to a Kustomer team."})
    for team_id in team_ids:
        team = teams.get(team_id)
        label = (team.display_name or team.name) if team else team_id
        try:
            routing = client.get_team_routing_settings(team_id=team_id)
        except KustomerNotFoundError:
            routing = None
        enabled = bool(routing and routing.enabled)
        external = list((routing.attributes.get("externalQueues") if routing else None) or [])
        checks.append({"check": "team_routing", "subject": label, "team_id": team_id, "ok": enabled,
                       "detail": "Team routing is on." if enabled else "Turn on team routing for this team in Kustomer."})
        checks.append({
            "check": "external_queue", "subject": label, "team_id": team_id, "ok": bool(external),
            "detail": (f"External queue: {', '.join(map(str, external))}." if external
                       else "Select the contact center as this team's external queue in Kustomer."),
        })
        if enabled and external:
            good_teams.append(team_id)
    for user_id, ws in sorted(sessions.items(), key=lambda item: agents[item[0]].email):
        agent = agents[user_id]
        ok = ws.team_id in good_teams
        team = teams.get(ws.team_id or "")
        label = (team.display_name or team.name) if team else (ws.team_id or "no team")
        checks.append({"check": "selected_team", "subject": agent.email, "ok": ok,
                       "detail": f"Selected team: {label}." + ("" if ok else " It does not meet the prerequisites.")})
    # Two-way runs where the prerequisites hold: with at least one good team, agents
    # working as a good team are pushed, the others are not (and are listed as failing).
    ready = bool(good_teams)
    return checks, ready, good_teams


# ================================================================================ the watcher
def status_watch_due_tenants(*, now: datetime | None = None) -> list[int]:
    """Tenants whose watcher should run now (inheritance on, interval passed)."""
    now = now or timezone.now()
    due = []
    for settings in StatusInheritanceSettings.objects.filter(available=True, enabled=True).select_related(
        "tenant__kustomer_connection"
    ):
        connection = getattr(settings.tenant, "kustomer_connection", None)
        if connection is None:
            continue
        if settings.watched_at is None or settings.watched_at <= now - timedelta(seconds=_watch_interval(settings, connection)):
            due.append(settings.tenant_id)
    return due


def _watch_interval(settings: StatusInheritanceSettings, connection: KustomerConnection) -> float:
    pages = settings.watch_pages or 1
    return rules.watch_interval_seconds(
        configured=settings.watch_interval_seconds, pages_last_run=pages,
        rate_limit_per_minute=connection.rate_limit_per_minute,
    )


WATCH_PAGE_SIZE = 100


def status_watch_tenant(*, tenant_id: int, now: datetime | None = None) -> int:
    """Read the org's active work sessions (one paged list call) and feed every agent's
    status change it sees through `agent_status_change_record`, so a missed adapter
    event or a closed tab does not leave an agent wrong. Returns the changes fed.

    Claimed with a conditional update, so two runs for one interval never both call."""
    now = now or timezone.now()
    settings = StatusInheritanceSettings.objects.filter(tenant_id=tenant_id).select_related("tenant").first()
    if settings is None or not settings.active:
        return 0
    tenant = settings.tenant
    connection, client = _client_for_tenant(tenant)
    if client is None:
        return 0
    interval = _watch_interval(settings, connection)
    # Claim this interval (a little slack so a beat tick that lands early still runs).
    claimed = StatusInheritanceSettings.objects.filter(pk=settings.pk).filter(
        Q(watched_at__isnull=True) | Q(watched_at__lte=now - timedelta(seconds=interval * 0.8))
    ).update(watched_at=now)
    if not claimed:
        return 0
    try:
        sessions = list(client.iter_active_work_sessions(page_size=WATCH_PAGE_SIZE))
    except KustomerError as exc:
        kustomer_connection_record_error(connection=connection, error=str(exc))
        StatusInheritanceSettings.objects.filter(pk=settings.pk).update(watch_error=str(exc)[:2000])
        raise
    pages = max(1, -(-len(sessions) // WATCH_PAGE_SIZE))
    if settings.watch_error or settings.watch_pages != pages:
        StatusInheritanceSettings.objects.filter(pk=settings.pk).update(watch_error="", watch_pages=pages)
    return _watch_feed(tenant=tenant, sessions=sessions, now=now)


def _watch_feed(*, tenant: Tenant, sessions: Iterable[WorkSession], now: datetime) -> int:
    by_user: dict[str, WorkSession] = {}
    for ws in sessions:
        if ws.user_id and ws.status_id:
            by_user[ws.user_id] = ws
    agents = list(Agent.objects.filter(tenant=tenant).exclude(kustomer_user_id=""))
    offline = (KustomerStatus.objects.filter(tenant=tenant, status_type=KustomerStatus.StatusType.OFFLINE,
                                             removed_at__isnull=True).order_by("-system", "name").first())
    offline_ids = set(KustomerStatus.objects.filter(tenant=tenant, status_type=KustomerStatus.StatusType.OFFLINE)
                      .values_list("kustomer_id", flat=True))
    fed = 0
    for agent in agents:
        ws = by_user.get(agent.kustomer_user_id)
        if ws is not None:
            if ws.id != agent.kustomer_work_session_id:
                Agent.objects.filter(pk=agent.pk).update(kustomer_work_session_id=ws.id)
            if ws.status_id in (agent.kustomer_status_id, agent.push_kustomer_status_id):
                continue  # nothing new, or our own push coming back (R-S9)
            changed_at = _status_updated_at(ws) or now
            event_id = f"watch:{ws.id}:{ws.status_id}:{changed_at.isoformat()}"
            status_id = ws.status_id
        else:
            # No active session: the agent went offline in Kustomer (or closed it all).
            if not agent.kustomer_status_id or agent.kustomer_status_id in offline_ids or offline is None:
                continue
            changed_at = now
            # Unique per known status (its time), so the next time they go offline is news.
            since = agent.kustomer_status_at.isoformat() if agent.kustomer_status_at else ""
            event_id = f"watch:offline:{agent.pk}:{agent.kustomer_status_id}:{since}"
            status_id = offline.kustomer_id
        agent_status_change_record(
            tenant=tenant, event_id=event_id, source=Source.KUSTOMER, agent_email=agent.email,
            occurred_at=changed_at, kustomer_status_id=status_id, feed=Feed.WATCHER,
        )
        fed += 1
    return fed


# ================================================================================ sign-in (R-S8)
def agent_sign_in_inherit(*, agent_id: int, sign_in_change_id: int) -> StatusChange | None:
    """R-S8: the agent signed in to the CC; apply their current Kustomer work session
    status (read from Kustomer's routing API) as if Kustomer had just reported it."""
    agent = Agent.objects.select_related("tenant").get(pk=agent_id)
    sign_in = StatusChange.objects.get(pk=sign_in_change_id)
    settings = selectors.inheritance_settings_get(tenant=agent.tenant)
    if not (settings.active and settings.inherit_on_login):
        return None
    connection, client = _client_for_tenant(agent.tenant)
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
    if session is None or not session.status_id:
        return None
    Agent.objects.filter(pk=agent.pk).update(kustomer_work_session_id=session.id)
    changed_at = _status_updated_at(session) or sign_in.occurred_at
    return agent_status_change_record(
        tenant=agent.tenant, event_id=f"login:{sign_in.event_id}"[:200], source=Source.KUSTOMER,
        agent_email=agent.email, occurred_at=changed_at, kustomer_status_id=session.status_id,
        feed=Feed.LOGIN, force=True,
    )
