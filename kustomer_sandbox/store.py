"""In-memory state of the Kustomer sandbox.

One `SandboxState` holds every org. Each `Org` keeps its records as plain dicts shaped
like Kustomer's attributes, plus the relationship ids the JSON:API renderer needs. All
reads and writes happen under `SandboxState.lock` (one re-entrant lock for the whole
sandbox: the server is threaded, and a coarse lock keeps multi-record rules such as
uniqueness checks atomic without any cleverness).
"""
from __future__ import annotations

import itertools
import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .faults import FaultConfig

# Kustomer org plans: 1,000/min (Enterprise), 2,000 (Ultimate), 500 or 300 (older plans).
DEFAULT_RATE_LIMIT_PER_MINUTE = 1000
# Kustomer caps creating conversations, messages and notes at 120/min per customer.
DEFAULT_CUSTOMER_CREATE_LIMIT_PER_MINUTE = 120
RATE_WINDOW_SECONDS = 60.0
# Kustomer: "Search requests by machine users (API keys): 100 per minute".
DEFAULT_SEARCH_LIMIT_PER_MINUTE = 100

METADATA_RESOURCES = ("customer", "conversation", "message")

# The roles of a key created without a list: the legacy all-access pair (every endpoint).
FULL_ACCESS_ROLES = ("org.admin", "org.user")

_counter = itertools.count(int.from_bytes(os.urandom(3), "big"))
_process_bytes = os.urandom(5)


def new_object_id() -> str:
    """A 24-hex MongoDB-style ObjectId: 4 bytes time, 5 random, 3 counter (as Kustomer's)."""
    seconds = int(time.time()).to_bytes(4, "big")
    count = (next(_counter) & 0xFFFFFF).to_bytes(3, "big")
    return (seconds + _process_bytes + count).hex()


def now_iso() -> str:
    """UTC timestamp in Kustomer's format: ISO 8601 with milliseconds and a Z."""
    moment = datetime.now(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class RateWindow:
    """Fixed 60 s window per org: starts at the first request, resets when it ends."""

    started_at: float = 0.0
    count: int = 0

    def seconds_left(self, now: float) -> float:
        return max(0.0, self.started_at + RATE_WINDOW_SECONDS - now)


@dataclass
class Org:
    id: str
    name: str
    api_keys: dict[str, str]  # API key -> id of the machine user acting for it
    rate_limit_per_minute: int = DEFAULT_RATE_LIMIT_PER_MINUTE
    customer_create_limit_per_minute: int = DEFAULT_CUSTOMER_CREATE_LIMIT_PER_MINUTE
    # Kustomer does not document whether a metadata PUT drops the properties its body
    # leaves out. False: it merges (the documented per-property reading); True: it
    # replaces, so a client can prove its PUTs are safe under either reading.
    metadata_put_replaces: bool = False
    created_at: str = field(default_factory=now_iso)
    customers: dict[str, dict] = field(default_factory=dict)
    conversations: dict[str, dict] = field(default_factory=dict)
    messages: dict[str, dict] = field(default_factory=dict)
    notes: dict[str, dict] = field(default_factory=dict)
    attachments: dict[str, dict] = field(default_factory=dict)
    metadata: dict[str, dict[str, dict]] = field(
        default_factory=lambda: {resource: {} for resource in METADATA_RESOURCES}
    )
    users: dict[str, dict] = field(default_factory=dict)
    teams: dict[str, dict] = field(default_factory=dict)
    statuses: dict[str, dict] = field(default_factory=dict)
    work_sessions: dict[str, dict] = field(default_factory=dict)
    routing_settings: dict[str, dict] = field(default_factory=dict)  # keyed by team id
    queues: dict[str, dict] = field(default_factory=dict)
    webhooks: dict[str, dict] = field(default_factory=dict)
    tags: dict[str, dict] = field(default_factory=dict)
    kobjects: dict[str, dict] = field(default_factory=dict)  # custom objects ({klass, attributes})
    shortcuts: dict[str, dict] = field(default_factory=dict)
    webhook_deliveries: list[dict] = field(default_factory=list)
    faults: FaultConfig = field(default_factory=FaultConfig)
    rate_window: RateWindow = field(default_factory=RateWindow)
    # (kind, customer id) -> monotonic times of recent creates; kind is conversation,
    # message or note (Kustomer caps each separately)
    customer_creates: dict[tuple[str, str], deque] = field(default_factory=dict)
    search_limit_per_minute: int = DEFAULT_SEARCH_LIMIT_PER_MINUTE
    searches: deque = field(default_factory=deque)  # monotonic times of recent searches

    def find_user_by_email(self, email: str) -> dict | None:
        wanted = email.strip().lower()
        for user in self.users.values():
            if (user["attributes"].get("email") or "").lower() == wanted:
                return user
        return None

    def find_status_by_name(self, name: str) -> dict | None:
        wanted = name.strip().lower()
        for status in self.statuses.values():
            if status["attributes"]["name"].lower() == wanted:
                return status
        return None

    def active_work_session(self, user_id: str) -> dict | None:
        for session in self.work_sessions.values():
            if session["user"] == user_id and session["attributes"]["active"]:
                return session
        return None

    def teams_of_user(self, user_id: str) -> list[dict]:
        return [team for team in self.teams.values() if user_id in team["attributes"]["members"]]


class SandboxState:
    """Everything the sandbox knows; guarded by `lock`."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.orgs: dict[str, Org] = {}
        self.org_by_api_key: dict[str, Org] = {}
        self.global_faults = FaultConfig()
        self.request_log: list[dict] = []
        # Set on shutdown so sleeping fault-injected requests wake up and finish.
        self.stopping = threading.Event()

    # -- orgs ---------------------------------------------------------------------------
    def create_org(
        self,
        name: str,
        api_key: str,
        rate_limit_per_minute: int = DEFAULT_RATE_LIMIT_PER_MINUTE,
        *,
        customer_create_limit_per_minute: int = DEFAULT_CUSTOMER_CREATE_LIMIT_PER_MINUTE,
        org_id: str | None = None,
        roles: list[str] | tuple[str, ...] | None = None,
    ) -> Org:
        if not api_key:
            raise ValueError("api_key must not be empty")
        with self.lock:
            if api_key in self.org_by_api_key:
                raise ValueError("api_key is already used by another org")
            org = Org(
                id=org_id or new_object_id(),
                name=name,
                api_keys={},
                rate_limit_per_minute=rate_limit_per_minute,
                customer_create_limit_per_minute=customer_create_limit_per_minute,
            )
            self.orgs[org.id] = org
            self.add_api_key(org, api_key, roles=roles)
            return org

    def add_api_key(
        self, org: Org, api_key: str, *, name: str = "Sandbox API key",
        roles: list[str] | tuple[str, ...] | None = None,
    ) -> dict:
        """Each API key acts as its own machine user (what GET /v1/users/current returns)
        with the roles it was created with (all-access `org.admin`/`org.user` by default)."""
        if not api_key:
            raise ValueError("api_key must not be empty")
        with self.lock:
            if api_key in self.org_by_api_key:
                raise ValueError("api_key is already used by another org")
            user = add_user(org, name=name, email=None, user_type="machine")
            user["attributes"]["roles"] = list(FULL_ACCESS_ROLES if roles is None else roles)
            org.api_keys[api_key] = user["id"]
            self.org_by_api_key[api_key] = org
            return user

    def org_for_key(self, api_key: str) -> tuple[Org, str] | None:
        with self.lock:
            org = self.org_by_api_key.get(api_key)
            if org is None:
                return None
            return org, org.api_keys[api_key]

    def reset(self) -> None:
        """Forget every org, fault and logged request (the server keeps running)."""
        with self.lock:
            for org in self.orgs.values():
                org.webhooks.clear()  # pending deliveries of forgotten orgs are cancelled
            self.orgs.clear()
            self.org_by_api_key.clear()
            self.global_faults = FaultConfig()
            self.request_log.clear()

    def log_request(self, entry: dict) -> None:
        with self.lock:
            self.request_log.append(entry)
            # Bound memory for long demo runs; tests never come close.
            if len(self.request_log) > 50_000:
                del self.request_log[:10_000]


def add_user(org: Org, *, name: str, email: str | None, user_type: str = "user") -> dict:
    now = now_iso()
    user = {
        "id": new_object_id(),
        "attributes": {
            "name": name,
            "displayName": name,
            "email": email,
            "userType": user_type,
            "roles": ["org.user", "org.permission.routing.read"] if user_type == "user" else [
                "org.admin", "org.user",
                "org.permission.customer.create", "org.permission.conversation.update",
                "org.permission.metadata.update", "org.permission.routing.read",
            ],
            "createdAt": now,
            "updatedAt": now,
            "modifiedAt": now,
        },
    }
    org.users[user["id"]] = user
    return user


def add_team(org: Org, *, name: str, member_ids: list[str]) -> dict:
    now = now_iso()
    team = {
        "id": new_object_id(),
        "attributes": {
            "name": name,
            "displayName": name,
            "members": list(member_ids),
            "createdAt": now,
            "updatedAt": now,
        },
    }
    org.teams[team["id"]] = team
    return team


def add_status(org: Org, *, name: str, status_type: str, system: bool = False) -> dict:
    if status_type not in ("available", "busy", "unavailable", "offline"):
        raise ValueError(f"unknown statusType {status_type!r}")
    now = now_iso()
    status = {
        "id": new_object_id(),
        "attributes": {
            "name": name,
            "statusType": status_type,
            "system": system,
            "createdAt": now,
            "updatedAt": now,
        },
    }
    org.statuses[status["id"]] = status
    return status


def add_queue(org: Org, *, name: str, external: str | None = None) -> dict:
    now = now_iso()
    queue = {
        "id": new_object_id(),
        "attributes": {
            "name": name,
            "displayName": name,
            # An external queue stands for work routed by another system (a contact
            # center); `external` names it, as conversations' `queue.external` does.
            "external": external,
            "priority": 1,
            "itemSize": 1,
            "createdAt": now,
            "updatedAt": now,
        },
    }
    org.queues[queue["id"]] = queue
    return queue


def set_team_routing(org: Org, team_id: str, *, enabled: bool, queue_ids: list[str]) -> dict:
    """Team routing settings are one record per team, addressed by the team id."""
    now = now_iso()
    external_names = [
        org.queues[qid]["attributes"]["external"]
        for qid in queue_ids
        if org.queues[qid]["attributes"]["external"]
    ]
    settings = {
        "id": team_id,
        "attributes": {
            "enabled": enabled,
            "queues": [qid for qid in queue_ids if not org.queues[qid]["attributes"]["external"]],
            # Kustomer allows at most one external queue name per team.
            "externalQueues": external_names[:1],
            "capacity": {"conversation": 3, "voice": 1},
            "createdAt": now,
            "updatedAt": now,
        },
    }
    org.routing_settings[team_id] = settings
    return settings
