"""Fault injection: make the sandbox misbehave the ways the real network and API do.

A `FaultConfig` exists globally and per org; both apply to a `/v1/` request (the global
one first). Counters such as `error_next` are consumed one request at a time, so a test
can say "the next two POSTs fail" deterministically; rates (`error_rate`) are random.
"""
from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class FaultConfigError(ValueError):
    """A control request asked for a fault setting that makes no sense."""


@dataclass
class FaultConfig:
    # Added to every matching request before it is handled.
    latency_ms: int = 0
    # Answer 5xx *before* doing anything: nothing is written.
    error_rate: float = 0.0
    error_next: int = 0
    error_status: int = 503
    # Every matching request answers 429 until this moment (time.monotonic()).
    rate_limit_storm_until: float = 0.0
    # Sleep longer than clients wait, then handle the request anyway (the write lands
    # after the client gave up: exactly the case externalIds exist for).
    timeout_next: int = 0
    timeout_seconds: float = 30.0
    # Perform the write, then close the connection without answering.
    drop_after_commit_next: int = 0
    # Optional filters: only requests with one of these methods / whose path contains
    # this text are affected. Empty means every /v1/ request.
    methods: list[str] = field(default_factory=list)
    path_contains: str = ""

    def matches(self, method: str, path: str) -> bool:
        if self.methods and method.upper() not in self.methods:
            return False
        return not self.path_contains or self.path_contains in path

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        storm_left = self.rate_limit_storm_until - time.monotonic()
        data.pop("rate_limit_storm_until")
        data["rate_limit_storm_seconds_left"] = round(storm_left, 3) if storm_left > 0 else 0
        return data


_SETTABLE = {f.name for f in fields(FaultConfig)} - {"rate_limit_storm_until"} | {"rate_limit_storm_seconds"}


def fault_config_update(config: FaultConfig, changes: dict[str, Any]) -> None:
    """Apply a control request's JSON to a config (only the keys it names)."""
    unknown = set(changes) - _SETTABLE
    if unknown:
        raise FaultConfigError(f"unknown fault settings: {sorted(unknown)}")
    try:
        for key, value in changes.items():
            if key == "rate_limit_storm_seconds":
                config.rate_limit_storm_until = time.monotonic() + float(value)
            elif key == "methods":
                config.methods = [str(m).upper() for m in value]
            elif key == "path_contains":
                config.path_contains = str(value)
            elif key in ("error_rate", "timeout_seconds"):
                setattr(config, key, float(value))
            else:
                setattr(config, key, int(value))
    except (TypeError, ValueError) as exc:
        raise FaultConfigError(str(exc)) from exc
    if not 0.0 <= config.error_rate <= 1.0:
        raise FaultConfigError("error_rate must be between 0 and 1")
    if not 500 <= config.error_status <= 599:
        raise FaultConfigError("error_status must be a 5xx status")


@dataclass
class FaultPlan:
    """What the faults decided for one request."""

    latency_seconds: float = 0.0
    error_status: int | None = None
    rate_limit_storm_seconds: float = 0.0
    timeout_seconds: float = 0.0
    drop_after_commit: bool = False


def fault_plan_for(configs: list[FaultConfig], method: str, path: str, rng: random.Random) -> FaultPlan:
    """Decide (and consume counters of) the faults for one request. Caller holds the lock."""
    plan = FaultPlan()
    now = time.monotonic()
    for config in configs:
        if not config.matches(method, path):
            continue
        plan.latency_seconds += config.latency_ms / 1000.0
        if config.rate_limit_storm_until > now:
            plan.rate_limit_storm_seconds = max(plan.rate_limit_storm_seconds, config.rate_limit_storm_until - now)
        if plan.error_status is None:
            if config.error_next > 0:
                config.error_next -= 1
                plan.error_status = config.error_status
            elif config.error_rate and rng.random() < config.error_rate:
                plan.error_status = config.error_status
        if config.timeout_next > 0 and not plan.timeout_seconds:
            config.timeout_next -= 1
            plan.timeout_seconds = config.timeout_seconds
        if config.drop_after_commit_next > 0 and method.upper() in WRITE_METHODS and not plan.drop_after_commit:
            config.drop_after_commit_next -= 1
            plan.drop_after_commit = True
    return plan
