"""Reads of agents, statuses, the status map, settings and history."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings as django_settings
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from core.errors import NotFoundError
from statusmapping import mapping_rules, rules
from statusmapping.models import (
    AdapterInstance,
    Agent,
    CCStatus,
    KustomerStatus,
    StatusChange,
    StatusInheritanceSettings,
)
from tenants.models import Tenant

#: R-S6: an adapter instance unseen for this long is gone.
def adapter_instance_ttl() -> timedelta:
    """An adapter instance unseen this long is gone (R-S6; ADAPTER_INSTANCE_TTL_SECONDS)."""
    return timedelta(seconds=django_settings.ADAPTER_INSTANCE_TTL_SECONDS)


def normalize_email(email: str) -> str:
    """Agents are matched by email (R-S5); emails are stored and compared lower-cased."""
    return (email or "").strip().lower()


# ------------------------------------------------------------------------------ agents
def agent_get_by_email(*, tenant: Tenant, email: str) -> Agent | None:
    """The tenant's agent with this email (any case), or None (R-A1: only `tenant`'s)."""
    email = normalize_email(email)
    if not email:
        return None
    return Agent.objects.filter(tenant=tenant, email=email).select_related("cc_status", "held_cc_status").first()


def agent_get_by_id(*, tenant: Tenant, agent_id: int) -> Agent | None:
    """The tenant's agent with this id (another tenant's: None)."""
    return Agent.objects.filter(tenant=tenant, pk=agent_id).first()


def agent_get(*, tenant: Tenant, email: str) -> Agent:
    """Like `agent_get_by_email`, but a missing agent is a 404 (R-A1)."""
    agent = agent_get_by_email(tenant=tenant, email=email)
    if agent is None:
        raise NotFoundError(gettext("No agent with this email."))
    return agent


def agent_list(*, tenant: Tenant) -> QuerySet[Agent]:
    """The tenant's agents with their number of live adapter instances (`live_instances`)."""
    since = timezone.now() - adapter_instance_ttl()
    return (
        Agent.objects.filter(tenant=tenant)
        .select_related("cc_status", "held_cc_status")
        .annotate(live_instances=Count("adapter_instances", filter=Q(adapter_instances__last_seen_at__gte=since)))
        .order_by("email")
    )


def agent_live_instance_ids(*, agent: Agent) -> set[str]:
    since = timezone.now() - adapter_instance_ttl()
    return set(
        AdapterInstance.objects.filter(agent=agent, last_seen_at__gte=since).values_list("instance_id", flat=True)
    )


def agent_status_history(*, agent: Agent, limit: int = 100) -> QuerySet[StatusChange]:
    return StatusChange.objects.filter(agent=agent).order_by("-received_at", "-id")[:limit]


# ------------------------------------------------------------------------------ settings
def inheritance_settings_get(*, tenant: Tenant) -> StatusInheritanceSettings:
    """The tenant's settings (defaults until anyone changed them)."""
    found = StatusInheritanceSettings.objects.filter(tenant=tenant).select_related("sign_out_cc_status").first()
    return found if found is not None else StatusInheritanceSettings(tenant=tenant)


def inheritance_settings_for_rules(settings: StatusInheritanceSettings) -> rules.InheritanceSettings:
    return rules.InheritanceSettings(
        available=settings.available,
        enabled=settings.enabled,
        priority=settings.priority,
        direction=settings.direction,
        two_way_ready=settings.two_way_ready,
        inherit_on_login=settings.inherit_on_login,
        sign_out_cc_status=settings.sign_out_cc_status.name if settings.sign_out_cc_status_id else None,
        flap_max_changes=settings.flap_max_changes,
        flap_hold_seconds=settings.flap_hold_seconds,
    )


# ------------------------------------------------------------------------------ statuses
def cc_status_list(*, tenant: Tenant) -> QuerySet[CCStatus]:
    return CCStatus.objects.filter(tenant=tenant).order_by("position", "name")


def cc_status_find(*, tenant: Tenant, name: str) -> CCStatus | None:
    return CCStatus.objects.filter(tenant=tenant, name__iexact=(name or "").strip()).first()


def kustomer_status_list(*, tenant: Tenant) -> QuerySet[KustomerStatus]:
    """Present ones first, then those Kustomer no longer has (kept, marked)."""
    return KustomerStatus.objects.filter(tenant=tenant).select_related("cc_status").order_by(
        "removed_at", "name"
    )


def status_map_build(*, cc_statuses: list[CCStatus], kustomer_statuses: list[KustomerStatus]) -> rules.StatusMap:
    names = {s.pk: s.name for s in cc_statuses}
    return rules.StatusMap(
        kustomer_to_cc={k.kustomer_id: names[k.cc_status_id] for k in kustomer_statuses if k.cc_status_id in names},
        cc_statuses={
            s.name: rules.CCStatusInfo(name=s.name, routable=s.routable, activity=s.activity) for s in cc_statuses
        },
        push_as={s.name: s.push_kustomer_status_id for s in cc_statuses if s.push_kustomer_status_id},
    )


# ------------------------------------------------------------------------------ decision config
@dataclass(frozen=True, slots=True)
class CCStatusRef:
    """A CC status as a decision needs it (a read-only copy, shared by requests)."""

    pk: int
    name: str
    routable: bool
    activity: str


@dataclass(frozen=True)
class StatusConfig:
    """Everything a status decision reads of a tenant's configuration: the inheritance
    settings, the CC statuses, the Kustomer → CC map and the Kustomer status names.

    Read on every status event and changed a few times a day, so each process keeps one
    copy per tenant (`status_config_get`) instead of three queries per event. Treat it as
    immutable: it is shared by every request of the process."""

    version: int
    loaded_at: float
    settings: rules.InheritanceSettings
    status_map: rules.StatusMap
    cc_by_lower: dict[str, CCStatusRef]
    cc_by_id: dict[int, CCStatusRef]
    kustomer_names: dict[str, str]


_status_configs: dict[int, StatusConfig] = {}
_status_configs_lock = threading.Lock()


def status_config_get(*, tenant: Tenant, fresh: bool = False, max_age: float | None = None) -> StatusConfig:
    """The tenant's decision configuration, from this process's copy when that copy is
    at least as new as `tenant.config_version` (bumped in the same transaction as every
    change, see `tenants.services.tenant_config_changed`) and younger than
    STATUS_CONFIG_MAX_AGE_SECONDS (or `max_age`); `fresh` reads the database regardless."""
    now = time.monotonic()
    cached = _status_configs.get(tenant.pk)
    # A copy is read again after STATUS_CONFIG_MAX_AGE_SECONDS even when no version bump
    # said so: the bound on staleness after a change made behind the services' back.
    oldest = django_settings.STATUS_CONFIG_MAX_AGE_SECONDS
    limit = oldest if max_age is None else min(max_age, oldest)
    if (not fresh and cached is not None and cached.version >= tenant.config_version
            and now - cached.loaded_at < limit):
        return cached
    # Labelled with the version the caller saw: what is read now is at least that new
    # (a newer label would claim changes this read may have missed).
    config = _status_config_load(tenant=tenant, version=tenant.config_version, loaded_at=now)
    with _status_configs_lock:
        current = _status_configs.get(tenant.pk)
        if current is None or current.version <= config.version:
            _status_configs[tenant.pk] = config
    return config


def status_config_read(*, tenant: Tenant) -> StatusConfig:
    """The tenant's configuration read now, without touching this process's copies (for
    pages and reads that are not on the status event path)."""
    return _status_config_load(tenant=tenant, version=tenant.config_version, loaded_at=time.monotonic())


def status_configs_forget() -> None:
    """Drop this process's copies (tests, which reuse ids of rolled-back tenants)."""
    with _status_configs_lock:
        _status_configs.clear()


def _status_config_load(*, tenant: Tenant, version: int, loaded_at: float) -> StatusConfig:
    cc_statuses = list(CCStatus.objects.filter(tenant=tenant))
    kustomer_statuses = list(KustomerStatus.objects.filter(tenant=tenant).only("kustomer_id", "name", "cc_status_id"))
    refs = [CCStatusRef(pk=s.pk, name=s.name, routable=s.routable, activity=s.activity) for s in cc_statuses]
    return StatusConfig(
        version=version,
        loaded_at=loaded_at,
        settings=inheritance_settings_for_rules(inheritance_settings_get(tenant=tenant)),
        status_map=status_map_build(cc_statuses=cc_statuses,
                                    kustomer_statuses=[k for k in kustomer_statuses if k.cc_status_id]),
        cc_by_lower={r.name.lower(): r for r in refs},
        cc_by_id={r.pk: r for r in refs},
        kustomer_names={k.kustomer_id: k.name for k in kustomer_statuses},
    )


def status_mapping_warnings(*, tenant: Tenant) -> list[dict[str, str]]:
    """R-S3: what looks meaningless in the saved map (statuses Kustomer still has)."""
    cc = list(cc_status_list(tenant=tenant))
    present = [k for k in kustomer_status_list(tenant=tenant) if k.removed_at is None]
    names = {s.pk: s.name for s in cc}
    return mapping_rules.meaningless_mapping_warnings(
        kustomer_statuses=[(k.kustomer_id, k.name, k.status_type) for k in present],
        cc_statuses=status_map_build(cc_statuses=cc, kustomer_statuses=[]).cc_statuses,
        mapping={k.kustomer_id: names.get(k.cc_status_id) for k in present}, translate=gettext,
    )


def kustomer_statuses_new_unmapped(*, tenant: Tenant) -> QuerySet[KustomerStatus]:
    """R-O5: Kustomer statuses that appeared since an earlier refresh, are still there
    and are not mapped (the dashboard's alert; cleared by mapping them)."""
    return KustomerStatus.objects.filter(tenant=tenant, appeared_at__isnull=False, cc_status__isnull=True,
                                         removed_at__isnull=True).order_by("appeared_at", "name")


def kustomer_status_names(*, tenant: Tenant) -> dict[str, str]:
    return dict(KustomerStatus.objects.filter(tenant=tenant).values_list("kustomer_id", "name"))


def agent_rule_state(agent, cc_by_id: dict[int, CCStatusRef]) -> rules.AgentState:
    """The agent's state as the status rules see it, from an `Agent` or an
    `agent_state.AgentRow` (they share the attribute names)."""
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
        kustomer_choice_id=agent.kustomer_choice_id,
        flap_window_at=agent.flap_window_at,
        flap_changes=agent.flap_changes,
        damped_until=agent.damped_until,
        damped_cc_status=damped.name if (damped := cc_by_id.get(agent.damped_cc_status_id)) else None,
        damped_kustomer_status_id=agent.damped_kustomer_status_id or None,
    )


def agent_status_agreement(*, agent: Agent, config: StatusConfig) -> rules.AgreementResult:
    """R-S13: whether the agent's two statuses agree under two-way sync, or why not."""
    return rules.status_agreement(
        settings=config.settings, status_map=config.status_map, agent=agent_rule_state(agent, config.cc_by_id),
        push_error=agent.push_error, kustomer_name=config.kustomer_names.get(agent.kustomer_status_id, ""),
    )


def agent_list_with_statuses(*, tenant: Tenant) -> list[Agent]:
    """The tenant's agents (as `agent_list`), each with `kustomer_status_name` and
    `agreement` (R-S13), for the pages that show agents live."""
    config = status_config_read(tenant=tenant)
    agents = list(agent_list(tenant=tenant))
    for agent in agents:
        agent.kustomer_status_name = config.kustomer_names.get(agent.kustomer_status_id, "")
        agent.agreement = agent_status_agreement(agent=agent, config=config)
    return agents


def cc_status_holders(*, status):
    """Agents whose current status (or status held for after the call) is `status`."""
    from django.db.models import Q

    from statusmapping.models import Agent

    return Agent.objects.filter(Q(cc_status=status) | Q(held_cc_status=status), tenant_id=status.tenant_id)


def cc_status_get(*, tenant, status_id: int):
    from statusmapping.models import CCStatus

    status = CCStatus.objects.filter(tenant=tenant, pk=status_id).first()
    if status is None:
        raise NotFoundError(gettext("No such CC status."))
    return status


def cc_status_usage(*, status) -> dict:
    """What a rename or removal of `status` touches: the Kustomer statuses mapped to it,
    the Kustomer status it is pushed as (two-way), and the agents holding it."""
    from statusmapping.models import KustomerStatus

    pushed_as = KustomerStatus.objects.filter(tenant_id=status.tenant_id,
                                              kustomer_id=status.push_kustomer_status_id).first()
    return {
        "mapped_from": list(KustomerStatus.objects.filter(tenant_id=status.tenant_id, cc_status=status)
                            .values_list("name", flat=True)),
        "pushed_as": pushed_as.name if pushed_as else "",
        "holders": list(cc_status_holders(status=status).values_list("email", flat=True)),
    }
