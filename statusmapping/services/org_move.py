"""R-S14 for agent status: moving the tenant to another Kustomer org.

In the transaction that swaps the connection (integrations' `org_moved`), every id of
the old org is cleared: agents' Kustomer users, work sessions and statuses, the
Kustomer statuses and the two-way choices. What the admin had mapped is kept by name
on the move; a task then reads the new org's statuses, maps them again by name (names
the new org lacks are flagged) and re-links every agent by email."""
from __future__ import annotations

import logging

from django.db import transaction

from integrations.kustomer.errors import KustomerError
from integrations.verification import org_move_note
from statusmapping.models import Agent, CCStatus, Direction, KustomerStatus, StatusInheritanceSettings
from statusmapping.services.agents import agent_kustomer_user_resolve
from statusmapping.services.config import kustomer_statuses_refresh
from tenants.models import Tenant
from tenants.services import tenant_config_changed

logger = logging.getLogger(__name__)


def org_move_begin(*, tenant: Tenant, move_id: int) -> None:
    """Inside the swap's transaction: keep the map by name, drop the old org's ids."""
    from core.queue import enqueue_on_commit
    from statusmapping.tasks import org_move_finish_task

    tenant_config_changed(tenant=tenant)
    statuses = list(KustomerStatus.objects.filter(tenant=tenant).select_related("cc_status"))
    names = {s.kustomer_id: s.name for s in statuses}
    status_map = {s.name: s.cc_status.name for s in statuses if s.cc_status_id}
    push = {c.name: names[c.push_kustomer_status_id] for c in CCStatus.objects.filter(tenant=tenant)
            if c.push_kustomer_status_id in names}
    org_move_note(move_id=move_id, status_snapshot={"map": status_map, "push": push})
    Agent.objects.filter(tenant=tenant).update(
        kustomer_user_id="", kustomer_user_checked_at=None, kustomer_user_error="", kustomer_work_session_id="",
        kustomer_status_id="", kustomer_status_at=None, held_cc_status=None, held_kustomer_status_id="",
        held_at=None, push_kustomer_status_id="", push_requested_at=None)
    CCStatus.objects.filter(tenant=tenant).update(push_kustomer_status_id="")
    KustomerStatus.objects.filter(tenant=tenant).delete()
    # Two-way's teams were the old org's: no push until the new org's are checked.
    settings = StatusInheritanceSettings.objects.filter(tenant=tenant)
    settings.update(two_way_ready=False, two_way_team_ids=[], two_way_checks=[], two_way_checked_at=None,
                    two_way_check_error="")
    enqueue_on_commit(org_move_finish_task, tenant.pk, move_id)
    if settings.filter(enabled=True, direction=Direction.TWO_WAY).exists():
        from statusmapping.tasks import two_way_prerequisites_check_task

        enqueue_on_commit(two_way_prerequisites_check_task, tenant.pk)


def org_move_statuses_remap(*, tenant: Tenant, snapshot: dict) -> dict:
    """The new org's statuses take the old map by (case-blind) name."""
    by_name = {s.name.lower(): s for s in KustomerStatus.objects.filter(tenant=tenant, removed_at__isnull=True)}
    cc_by_name = {c.name.lower(): c for c in CCStatus.objects.filter(tenant=tenant)}
    kept, missing = [], []
    with transaction.atomic():
        tenant_config_changed(tenant=tenant)
        for kustomer_name, cc_name in sorted(snapshot.get("map", {}).items()):
            status, cc = by_name.get(kustomer_name.lower()), cc_by_name.get(cc_name.lower())
            if status is None or cc is None:
                missing.append(kustomer_name)
                continue
            KustomerStatus.objects.filter(pk=status.pk).update(cc_status=cc)
            kept.append(kustomer_name)
        for cc_name, kustomer_name in snapshot.get("push", {}).items():
            status, cc = by_name.get(kustomer_name.lower()), cc_by_name.get(cc_name.lower())
            if status is not None and cc is not None:
                CCStatus.objects.filter(pk=cc.pk).update(push_kustomer_status_id=status.kustomer_id)
            elif kustomer_name not in missing:
                missing.append(kustomer_name)
    return {"kept": kept, "missing": missing}


def org_move_finish(*, tenant_id: int, move_id: int) -> None:
    """Read the new org's statuses and map them by name; re-link agents by email.
    A transient Kustomer error propagates (the task retries; both steps repeat safely)."""
    from integrations.models import OrgMove

    tenant = Tenant.objects.get(pk=tenant_id)
    move = OrgMove.objects.get(pk=move_id)
    if "statuses" not in move.summary:
        snapshot = move.summary.get("status_snapshot", {})
        try:
            kustomer_statuses_refresh(tenant_id=tenant_id)
        except KustomerError as exc:
            if exc.retryable:
                raise
            org_move_note(move_id=move_id, statuses={"kept": [], "missing": sorted(snapshot.get("map", {})),
                                                     "error": str(exc)[:300]})
        else:
            org_move_note(move_id=move_id, statuses=org_move_statuses_remap(tenant=tenant, snapshot=snapshot))
    linked, unmatched = 0, []
    for agent in Agent.objects.filter(tenant=tenant).order_by("email"):
        try:
            user_id = agent_kustomer_user_resolve(agent_id=agent.pk)
        except KustomerError as exc:
            if exc.retryable:
                raise
            user_id = ""
        if user_id:
            linked += 1
        else:
            unmatched.append(agent.email)
    org_move_note(move_id=move_id, agents={"linked": linked, "unmatched": unmatched})
    logger.info("tenant %s org move %s: %s agents re-linked, %s not found", tenant_id, move_id, linked, len(unmatched))
