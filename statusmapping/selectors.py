"""Reads of agents, statuses, the status map, settings and history."""
from __future__ import annotations

from datetime import timedelta

from django.conf import settings as django_settings
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from portal.errors import NotFoundError
from statusmapping import rules
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
ADAPTER_INSTANCE_TTL = timedelta(seconds=django_settings.ADAPTER_INSTANCE_TTL_SECONDS)


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


def agent_get(*, tenant: Tenant, email: str) -> Agent:
    """Like `agent_get_by_email`, but a missing agent is a 404 (R-A1)."""
    agent = agent_get_by_email(tenant=tenant, email=email)
    if agent is None:
        raise NotFoundError("No agent with this email.")
    return agent


def agent_list(*, tenant: Tenant) -> QuerySet[Agent]:
    """The tenant's agents with their number of live adapter instances (`live_instances`)."""
    since = timezone.now() - ADAPTER_INSTANCE_TTL
    return (
        Agent.objects.filter(tenant=tenant)
        .select_related("cc_status", "held_cc_status")
        .annotate(live_instances=Count("adapter_instances", filter=Q(adapter_instances__last_seen_at__gte=since)))
        .order_by("email")
    )


def agent_live_instance_ids(*, agent: Agent) -> set[str]:
    since = timezone.now() - ADAPTER_INSTANCE_TTL
    return set(
        AdapterInstance.objects.filter(agent=agent, last_seen_at__gte=since).values_list("instance_id", flat=True)
    )


def agent_status_history(*, agent: Agent, limit: int = 100) -> QuerySet[StatusChange]:
    return StatusChange.objects.filter(agent=agent).order_by("-received_at", "-id")[:limit]


# ------------------------------------------------------------------------------ settings
def inheritance_settings_get(*, tenant: Tenant) -> StatusInheritanceSettings:
    """The tenant's settings (defaults until anyone changed them)."""
    found = StatusInheritanceSettings.objects.filter(tenant=tenant).first()
    return found if found is not None else StatusInheritanceSettings(tenant=tenant)


def inheritance_settings_for_rules(settings: StatusInheritanceSettings) -> rules.InheritanceSettings:
    return rules.InheritanceSettings(
        available=settings.available,
        enabled=settings.enabled,
        priority=settings.priority,
        direction=settings.direction,
        two_way_ready=settings.two_way_ready,
        inherit_on_login=settings.inherit_on_login,
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


def status_map_get(*, tenant: Tenant) -> rules.StatusMap:
    return status_map_build(
        cc_statuses=list(CCStatus.objects.filter(tenant=tenant)),
        kustomer_statuses=list(KustomerStatus.objects.filter(tenant=tenant, cc_status__isnull=False)),
    )


def status_mapping_warnings(*, tenant: Tenant) -> list[dict[str, str]]:
    """R-S3: what looks meaningless in the saved map (statuses Kustomer still has)."""
    cc = list(cc_status_list(tenant=tenant))
    present = [k for k in kustomer_status_list(tenant=tenant) if k.removed_at is None]
    names = {s.pk: s.name for s in cc}
    return rules.meaningless_mapping_warnings(
        kustomer_statuses=[(k.kustomer_id, k.name, k.status_type) for k in present],
        cc_statuses=status_map_build(cc_statuses=cc, kustomer_statuses=[]).cc_statuses,
        mapping={k.kustomer_id: names.get(k.cc_status_id) for k in present},
    )


def kustomer_status_names(*, tenant: Tenant) -> dict[str, str]:
    return dict(KustomerStatus.objects.filter(tenant=tenant).values_list("kustomer_id", "name"))
