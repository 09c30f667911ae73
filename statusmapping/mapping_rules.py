"""Pure rules about the status map and its upkeep rather than about one change (no
ORM, no settings, no I/O): the map's warnings (R-S3), the watcher's interval under the
org's rate budget, and the dry run of a proposed map (R-O4). The decision for one
change is `rules.decide_status_change`."""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime

from statusmapping.rules import (
    ACTIVITY_NONE,
    SOURCE_KUSTOMER,
    AgentState,
    CCStatusInfo,
    Decision,
    IncomingChange,
    InheritanceSettings,
    Outcome,
    StatusMap,
    decide_status_change,
)


def meaningless_mapping_warnings(
    *, kustomer_statuses: list[tuple[str, str, str | None]], cc_statuses: Mapping[str, CCStatusInfo],
    mapping: Mapping[str, str | None],
) -> list[dict[str, str]]:
    """R-S3: warnings (never blocks) for a map that looks wrong.

    `kustomer_statuses`: (id, name, statusType) of the statuses Kustomer has now;
    `mapping`: Kustomer id → CC status name or None."""
    warnings: list[dict[str, str]] = []
    for kid, name, status_type in kustomer_statuses:
        target = mapping.get(kid)
        if not target:
            warnings.append({"kustomer_status_id": kid, "code": "unmapped",
                             "message": f"Kustomer status {name} is not mapped: changes to it leave the CC status as it is."})
            continue
        info = cc_statuses.get(target)
        if info is None:
            continue
        if status_type in ("offline", "unavailable", "busy") and info.routable:
            warnings.append({"kustomer_status_id": kid, "code": "routable_when_away",
                             "message": f"Kustomer status {name} ({status_type}) is mapped to {target}, which is routable: "
                                        "the contact center would send work to an agent who is not available."})
        elif status_type == "available" and not info.routable:
            warnings.append({"kustomer_status_id": kid, "code": "unroutable_when_available",
                             "message": f"Kustomer status {name} (available) is mapped to {target}, which is not routable: "
                                        "the contact center would send no work to an available agent."})
        if info.activity != ACTIVITY_NONE:
            warnings.append({"kustomer_status_id": kid, "code": "call_status",
                             "message": f"Kustomer status {name} is mapped to {target}, a status the contact center sets "
                                        "itself during calls."})
    return warnings


def watch_interval_seconds(*, configured: int, pages_last_run: int, rate_limit_per_minute: int,
                           budget_share: float = 0.1) -> float:
    """The watcher's interval: the configured one, stretched so its list calls use at
    most `budget_share` of the org's per-minute budget (the rest is for the sync)."""
    calls_per_run = max(1, pages_last_run)
    allowed_per_minute = max(1.0, rate_limit_per_minute * budget_share)
    return max(float(configured), 60.0 * calls_per_run / allowed_per_minute)


def preview_status(
    *, settings: InheritanceSettings, status_map: StatusMap, agent: AgentState, live_instances: int,
    now: datetime,
) -> Outcome:
    """R-O4 dry run: what the agent's CC status would become if the agent's current
    Kustomer status were applied under `status_map` now (as a sign-in replays it, R-S8).
    Inheritance counts as on and the flapping guard as off: the question is the map's."""
    trial = dataclasses.replace(settings, available=True, enabled=True, flap_max_changes=0)
    if not agent.kustomer_status_id:
        return Outcome(Decision.UNCHANGED, agent.cc_status, reason="No Kustomer status known for the agent yet.")
    outcome = decide_status_change(
        settings=trial, status_map=status_map, agent=agent, live_instances=live_instances,
        change=IncomingChange(source=SOURCE_KUSTOMER, occurred_at=now, kustomer_status_id=agent.kustomer_status_id,
                              force=True),
    )
    if outcome.decision is Decision.APPLIED:
        same = outcome.cc_status == agent.cc_status
        return dataclasses.replace(outcome, reason="Stays as it is." if same else "")
    return outcome
