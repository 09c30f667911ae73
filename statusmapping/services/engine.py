"""The request-time engine: decides one agent status change on the agent's current
state and stores it by compare-and-set (agent_state.py), so one agent's concurrent
events never lose an update; a two-way push is enqueued on commit."""
from __future__ import annotations

import dataclasses
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from core.errors import ApplicationError
from core.queue import enqueue_on_commit
from statusmapping import agent_state, rules, selectors
from statusmapping.models import (
    Agent,
    Feed,
    Kind,
    Source,
    StatusChange,
)
from statusmapping.services.agents import adapter_instance_touch
from statusmapping.services.config import (
    cc_status_ensure_defaults,
    kustomer_statuses_refresh_soon,
)
from tenants.models import Tenant


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
        raise ApplicationError(gettext("Give occurred_at with a time zone (e.g. ...Z)."), field="occurred_at")
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
            raise ApplicationError(gettext("No CC status named %(status)s.") % {"status": repr(status)}, field="status")
    elif source != Source.KUSTOMER:
        raise ApplicationError(gettext("Use kustomer or contact_center."), field="source")
    elif not kustomer_status_id:
        if (existing := _status_change_find(tenant=tenant, event_id=event_id)) is not None:
            return existing
        raise ApplicationError(gettext("Send the Kustomer status id."), field="kustomer_status_id")
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
        live_since = timezone.now() - selectors.adapter_instance_ttl() if source == Source.KUSTOMER else None
        read, live_ids = (agent_state.agent_row_read(tenant_id=tenant.pk, email=email, live_since=live_since)
                          if email else (None, set()))
        now = timezone.now()  # after the read: history is ordered as decisions were made
        live = 0
        if read is not None and source == Source.KUSTOMER:
            if instance_id:
                if not touched:
                    # The instance that sent this event is alive too (it may not have
                    # sent a heartbeat yet); remember it as such.
                    adapter_instance_touch(agent_id=read.id, instance_id=instance_id, at=now)
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
            agent=selectors.agent_rule_state(read, config.cc_by_id) if read is not None else None,
            live_instances=live,
            change=rules.IncomingChange(
                source=source, occurred_at=effective_at, kustomer_status_id=kustomer_status_id or None,
                cc_status=requested.name if requested else None, kind=kind, force=force,
            ),
        )
        current = config.cc_by_id.get(read.cc_status_id) if read is not None and read.cc_status_id else None
        change = StatusChange(
            tenant=tenant, event_id=event_id[:200], agent_email=email[:254], source=source, feed=feed,
            kind=kind if source == Source.CONTACT_CENTER or kind != Kind.MANUAL else "",
            instance_id=(instance_id or "")[:100],
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
        gettext("The agent's status is changing faster than it can be decided; send the event again."),
        field="agent_email", status_code=503,
    )


def _after_decision(*, tenant: Tenant, read: agent_state.AgentRow | None, change: StatusChange,
                    outcome: rules.Outcome, config: selectors.StatusConfig) -> None:
    """What a stored decision sets off (after the commit when inside a transaction)."""
    if change.kustomer_status_id and change.kustomer_status_id not in config.kustomer_names:
        kustomer_statuses_refresh_soon(tenant=tenant)
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
    if outcome.kustomer_choice_id is not None:
        new.update(kustomer_choice_id=outcome.kustomer_choice_id)
    if outcome.flap_changes is not None:
        new.update(flap_window_at=outcome.flap_window_at, flap_changes=outcome.flap_changes)
    if outcome.damped_until is not None:
        new.update(damped_until=outcome.damped_until)
    if outcome.decision is rules.Decision.DAMPED:
        damped = cc_by_lower.get((outcome.damped_cc_status or "").lower())
        new.update(damped_cc_status_id=damped.pk if damped else None,
                   damped_kustomer_status_id=outcome.damped_kustomer_status_id or "")
    elif (outcome.clear_damped or outcome.cc_status_changed) and (read.damped_cc_status_id
                                                                  or read.damped_kustomer_status_id):
        # Applied: whatever was remembered during a hold is older than this change.
        new.update(damped_cc_status_id=None, damped_kustomer_status_id="")
    return dataclasses.replace(read, **new) if new else read


def agents_damped_release(*, now: datetime | None = None, limit: int = 200) -> int:
    """R-O7: agents whose flapping hold ended get the change damped during it (the
    latest one), decided again on their state now; returns how many were released."""
    now = now or timezone.now()
    due = (Agent.objects.filter(damped_until__lte=now).filter(
        ~Q(damped_kustomer_status_id="") | Q(damped_cc_status__isnull=False))
        .select_related("tenant", "damped_cc_status")[:limit])
    released = 0
    for agent in due:
        event_id = f"damped-release:{agent.pk}:{agent.damped_until.isoformat()}"
        if agent.damped_kustomer_status_id:
            agent_status_change_record(tenant=agent.tenant, event_id=event_id, source=Source.KUSTOMER,
                                       agent_email=agent.email, occurred_at=now,
                                       kustomer_status_id=agent.damped_kustomer_status_id,
                                       kind=Kind.DAMPED_RELEASE, feed=Feed.WATCHER, force=True)
        else:
            agent_status_change_record(tenant=agent.tenant, event_id=event_id, source=Source.CONTACT_CENTER,
                                       agent_email=agent.email, occurred_at=now, status=agent.damped_cc_status.name,
                                       kind=Kind.DAMPED_RELEASE, feed=Feed.API)
        # A release whose decision did not apply (stale, unmapped) still ends the hold's memory.
        Agent.objects.filter(pk=agent.pk, damped_until=agent.damped_until).update(
            damped_cc_status=None, damped_kustomer_status_id="")
        released += 1
    return released
