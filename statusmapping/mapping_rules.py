"""Pure rules about the status map and its upkeep rather than about one change (no
ORM, no settings, no I/O): the map's warnings (R-S3), the watcher's interval under the
org's rate budget, and the dry run of a proposed map (R-O4). The decision for one
change is `rules.decide_status_change`."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
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


def gettext_noop(text: str) -> str:
    """Marks a text for the catalogue (`make messages` knows the name); the caller
    translates it, so these rules stay free of settings."""
    return text


# R-S3's warnings, by code: %(name)s the Kustomer status, %(type)s its statusType,
# %(target)s the CC status it is mapped to.
WARNING_TEXTS = {
    "unmapped": gettext_noop("Kustomer status %(name)s is not mapped: changes to it leave the CC status as it is."),
    "routable_when_away": gettext_noop(
        "Kustomer status %(name)s (%(type)s) is mapped to %(target)s, which is routable: the contact center would "
        "send work to an agent who is not available."),
    "unroutable_when_available": gettext_noop(
        "Kustomer status %(name)s (available) is mapped to %(target)s, which is not routable: the contact center "
        "would send no work to an available agent."),
    "call_status": gettext_noop(
        "Kustomer status %(name)s is mapped to %(target)s, a status the contact center sets itself during calls."),
}


def meaningless_mapping_warnings(
    *, kustomer_statuses: list[tuple[str, str, str | None]], cc_statuses: Mapping[str, CCStatusInfo],
    mapping: Mapping[str, str | None], translate: Callable[[str], str] = lambda text: text,
) -> list[dict[str, str]]:
    """R-S3: warnings (never blocks) for a map that looks wrong.

    `kustomer_statuses`: (id, name, statusType) of the statuses Kustomer has now;
    `mapping`: Kustomer id → CC status name or None; `translate`: gettext, for the
    messages in the reader's language."""
    warnings: list[dict[str, str]] = []

    def warn(kid: str, code: str, **params: str | None) -> None:
        warnings.append({"kustomer_status_id": kid, "code": code, "message": translate(WARNING_TEXTS[code]) % params})

    for kid, name, status_type in kustomer_statuses:
        target = mapping.get(kid)
        if not target:
            warn(kid, "unmapped", name=name)
            continue
        info = cc_statuses.get(target)
        if info is None:
            continue
        if status_type in ("offline", "unavailable", "busy") and info.routable:
            warn(kid, "routable_when_away", name=name, type=status_type, target=target)
        elif status_type == "available" and not info.routable:
            warn(kid, "unroutable_when_available", name=name, target=target)
        if info.activity != ACTIVITY_NONE:
            warn(kid, "call_status", name=name, target=target)
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
    now: datetime, translate: Callable[[str], str] = lambda text: text,
) -> Outcome:
    """R-O4 dry run: what the agent's CC status would become if the agent's current
    Kustomer status were applied under `status_map` now (as a sign-in replays it, R-S8).
    Inheritance counts as on and the flapping guard as off: the question is the map's.
    The engine's own reasons stay as decide_status_change words them (its history's)."""
    trial = dataclasses.replace(settings, available=True, enabled=True, flap_max_changes=0)
    if not agent.kustomer_status_id:
        return Outcome(Decision.UNCHANGED, agent.cc_status, reason=translate(gettext_noop("No Kustomer status known for the agent yet.")))
    outcome = decide_status_change(
        settings=trial, status_map=status_map, agent=agent, live_instances=live_instances,
        change=IncomingChange(source=SOURCE_KUSTOMER, occurred_at=now, kustomer_status_id=agent.kustomer_status_id,
                              force=True),
    )
    if outcome.decision is Decision.APPLIED:
        same = outcome.cc_status == agent.cc_status
        return dataclasses.replace(outcome, reason=translate(gettext_noop("Stays as it is.")) if same else "")
    return outcome
