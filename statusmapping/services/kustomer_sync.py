"""Two-way sync (R-S9): pushing an agent's status to Kustomer, sweeping pushes left
behind, and checking Kustomer's team routing prerequisites."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from core.queue import enqueue
from integrations.kustomer.errors import KustomerError, KustomerNotFoundError, KustomerTransientError
from integrations.selectors import kustomer_connection_get
from integrations.services import kustomer_client_for, kustomer_connection_record_error
from statusmapping import selectors
from statusmapping.models import (
    Agent,
    AgentPush,
    StatusInheritanceSettings,
)
from statusmapping.services.agents import agent_kustomer_user_resolve
from statusmapping.services.config import inheritance_settings_ensure
from tenants.models import Tenant
from tenants.services import tenant_config_changed

logger = logging.getLogger(__name__)


def kustomer_client_for_tenant(tenant: Tenant):
    connection = kustomer_connection_get(tenant=tenant)
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
        except KustomerTransientError:
            raise
        except KustomerError:
            pass  # not found or refused: the push gives up below for want of a user
    with transaction.atomic():
        AgentPush.objects.select_for_update().get(agent_id=agent_id)
        agent = Agent.objects.select_related("tenant").get(pk=agent_id)
        wanted = agent.push_kustomer_status_id
        if not wanted:
            return "nothing to push"
        settings = selectors.inheritance_settings_get(tenant=agent.tenant)
        if not selectors.inheritance_settings_for_rules(settings).pushes:
            return _push_give_up(agent, wanted, "Two-way sync is off or its prerequisites failed.")
        connection, client = kustomer_client_for_tenant(agent.tenant)
        if client is None:
            return _push_give_up(agent, wanted, "No Kustomer connection.")
        try:
            user_id = agent.kustomer_user_id
            if not user_id:
                return _push_give_up(agent, wanted, "No Kustomer user with the agent's email.")
            session = client.get_active_work_session(user_id=user_id)
            if session is None:
                return _push_give_up(agent, wanted, "The agent has no active Kustomer work session.")
            if session.team_id not in (settings.two_way_team_ids or []):
                return _push_give_up(
                    agent, wanted,
                    f"The agent's selected Kustomer team ({session.team_id}) has no team routing with an external "
                    "queue to the contact center.",
                )
            if session.status_id == wanted:
                updated = session
            else:
                updated = client.update_work_session_status(work_session_id=session.id, status_id=wanted)
        except KustomerTransientError as exc:
            failure = exc  # recorded below, outside this transaction (which a raise rolls back)
        except KustomerError as exc:
            kustomer_connection_record_error(connection=connection, error=str(exc))
            return _push_give_up(agent, wanted, str(exc))
        else:
            failure = None
            changed_at = updated.status_updated_at or timezone.now()
            Agent.objects.filter(pk=agent.pk).update(
                kustomer_status_id=wanted, kustomer_status_at=changed_at, kustomer_work_session_id=session.id,
                pushed_at=timezone.now(), push_error="",
            )
            # Collapse: a newer wanted status set meanwhile stays for the push queued with it.
            Agent.objects.filter(pk=agent.pk, push_kustomer_status_id=wanted).update(push_kustomer_status_id="")
        finally:
            client.close()
    if failure is not None:
        # The wanted status stays: the task's retry sends the latest one.
        kustomer_connection_record_error(connection=connection, error=str(failure))
        # Its task retries (backoff up to PUSH_RETRY_HOLD): the sweeper leaves it alone till then.
        Agent.objects.filter(pk=agent_id).update(push_error=str(failure)[:500],
                                                 push_requested_at=timezone.now() + PUSH_RETRY_HOLD)
        raise failure
    return "pushed"


# The push task's longest retry wait (statusmapping/tasks.py: retry_backoff_max) and a margin.
PUSH_RETRY_HOLD = timedelta(seconds=330)


def agent_pushes_sweep(*, older_than: timedelta = timedelta(seconds=30), queued_before: datetime | None = None) -> int:
    """Re-queue two-way pushes still wanted past the deadline (R-S9): their task was lost
    by the broker or a killed worker, or gave up on a long Kustomer outage. The push task
    always sends the latest wanted status, so an extra one is harmless; still, only a
    push last sent before `queued_before` (the sweeper's mark, core.queue) is sent again,
    and one waiting for its retry is left to it (a failed push moves `push_requested_at`
    past its retry wait)."""
    from statusmapping.tasks import agent_status_push_task

    cutoff = timezone.now() - older_than
    if queued_before is not None:
        cutoff = min(cutoff, queued_before)
    stale = list(
        Agent.objects.exclude(push_kustomer_status_id="")
        .filter(push_requested_at__lt=cutoff)
        .values_list("pk", flat=True)[:1000]
    )
    Agent.objects.filter(pk__in=stale).update(push_requested_at=timezone.now())
    return sum(enqueue(agent_status_push_task, pk) for pk in stale)


def _push_give_up(agent: Agent, wanted: str, error: str) -> str:
    Agent.objects.filter(pk=agent.pk, push_kustomer_status_id=wanted).update(push_kustomer_status_id="")
    Agent.objects.filter(pk=agent.pk).update(push_error=error[:500])
    logger.info("status push of agent %s not sent: %s", agent.pk, error)
    return f"not pushed: {error}"


def two_way_prerequisites_check(*, tenant_id: int) -> list[dict]:
    """R-S9: team routing on and an external queue (to the contact center) for each team
    the tenant's agents work as, and each agent's selected team being such a team.
    Stores every check with its outcome (shown on the settings page)."""
    tenant = Tenant.objects.get(pk=tenant_id)
    connection, client = kustomer_client_for_tenant(tenant)
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
    finally:
        client.close()
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
        external = list(routing.external_queues if routing else ())
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
