"""The demo org: agents, teams, routing statuses, routing settings, queues, sessions.

Everything an operator needs to show status inheritance and the conversation sync:
agent1..agent5@example.com (Agent One..Agent Five), two teams with team routing on, the
standard routing statuses (with `statusType` and the `system` flag) plus custom
unavailable ones, an internal queue per team and one external queue pointing to the
contact center, an active work session for every agent, and a few tags and shortcuts.
"""
from __future__ import annotations

from .catalog import seed_catalog
from .work_sessions import work_session_start
from .store import Org, SandboxState, add_queue, add_status, add_team, add_user, set_team_routing

AGENT_NAMES = ("One", "Two", "Three", "Four", "Five")

# (name, statusType, system): Kustomer's built-in statuses come with system: true.
STANDARD_STATUSES = (
    ("Available", "available", True),
    ("Busy", "busy", True),
    ("Unavailable", "unavailable", True),
    ("Offline", "offline", True),
    ("Lunch", "unavailable", False),
    ("Break", "unavailable", False),
    ("Training", "unavailable", False),
)

# The only external queue value Kustomer's OpenAPI file accepts on conversations and
# messages (`queue.external`), so demo conversations can point at it.
EXTERNAL_QUEUE = "amazon-connect"


def seed_statuses(org: Org) -> dict[str, dict]:
    return {name: add_status(org, name=name, status_type=kind, system=system) for name, kind, system in STANDARD_STATUSES}


def seed_demo_org(
    state: SandboxState,
    *,
    name: str = "Sandbox Demo",
    api_key: str = "sandbox-demo-key",
    rate_limit_per_minute: int = 1000,
    agent_count: int = 5,
    initial_status: str = "Available",
) -> Org:
    org = state.create_org(name, api_key, rate_limit_per_minute)
    with state.lock:
        agents = [
            add_user(org, name=f"Agent {AGENT_NAMES[i] if i < len(AGENT_NAMES) else i + 1}", email=f"agent{i + 1}@example.com")
            for i in range(agent_count)
        ]
        agent_ids = [agent["id"] for agent in agents]
        split = (len(agent_ids) + 1) // 2
        support = add_team(org, name="Support", member_ids=agent_ids[:split])
        # The last support agent is also on Sales: membership in several teams is normal.
        sales = add_team(org, name="Sales", member_ids=agent_ids[split - 1:])
        statuses = seed_statuses(org)
        external = add_queue(org, name="Contact Center", external=EXTERNAL_QUEUE)
        support_queue = add_queue(org, name="Support Queue")
        sales_queue = add_queue(org, name="Sales Queue")
        set_team_routing(org, support["id"], enabled=True, queue_ids=[support_queue["id"], external["id"]])
        set_team_routing(org, sales["id"], enabled=True, queue_ids=[sales_queue["id"], external["id"]])
        for agent in agents:
            work_session_start(org, agent["id"], statuses[initial_status])
        seed_catalog(org)
    return org
