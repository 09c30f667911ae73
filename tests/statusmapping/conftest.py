"""Fixtures of the status inheritance tests: a tenant connected to a sandbox org that
has agents, teams, routing statuses and team routing."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
import requests

from kustomer_sandbox.store import add_queue, add_status, add_team, add_user, set_team_routing
from integrations.models import KustomerConnection
from core.crypto import encrypt_secret


@dataclass
class ConnectedOrg:
    sandbox: object  # SandboxOrg
    statuses: dict[str, str]  # name -> Kustomer id
    users: dict[str, str]  # email -> Kustomer user id
    teams: dict[str, str]  # name -> Kustomer team id

    def set_status(self, email: str, status: str) -> dict:
        """An agent picks a status in the Kustomer desktop (the sandbox's control endpoint)."""
        response = requests.post(
            f"{self.sandbox.base_url}/__sandbox/orgs/{self.sandbox.org_id}/agents/status",
            json={"email": email, "status": status}, timeout=10,
        )
        response.raise_for_status()
        return response.json()["data"]

    def work_session_status(self, email: str) -> str | None:
        user_id = self.users[email]
        for ws in self.sandbox.dump()["work_sessions"]:
            if ws["relationships"]["user"]["data"]["id"] == user_id and ws["attributes"]["active"]:
                return ws["relationships"]["status"]["data"]["id"]
        return None


def seed_sandbox_org(sandbox_org) -> ConnectedOrg:
    """agent1 on team Support (team routing on, an external queue to the contact
    center), agent2 on Sales (team routing off); five routing statuses."""
    org = sandbox_org.org
    with sandbox_org.server.state.lock:
        statuses = {
            name: add_status(org, name=name, status_type=kind, system=system)["id"]
            for name, kind, system in (
                ("Available", "available", True), ("Busy", "busy", True), ("Away", "unavailable", False),
                ("Email", "busy", False), ("Offline", "offline", True),
            )
        }
        users = {email: add_user(org, name=email.split("@")[0], email=email)["id"]
                 for email in ("agent1@example.com", "agent2@example.com")}
        support = add_team(org, name="Support", member_ids=[users["agent1@example.com"]])["id"]
        sales = add_team(org, name="Sales", member_ids=[users["agent2@example.com"]])["id"]
        external = add_queue(org, name="Contact Center", external="amazon-connect")["id"]
        set_team_routing(org, support, enabled=True, queue_ids=[add_queue(org, name="Support Q")["id"], external])
        set_team_routing(org, sales, enabled=False, queue_ids=[add_queue(org, name="Sales Q")["id"]])
    return ConnectedOrg(sandbox=sandbox_org, statuses=statuses, users=users, teams={"Support": support, "Sales": sales})


@pytest.fixture
def connected(tenant, sandbox_org):
    """`tenant` connected to a sandbox org seeded by `seed_sandbox_org`."""
    seeded = seed_sandbox_org(sandbox_org)
    KustomerConnection.objects.create(
        tenant=tenant, base_url=sandbox_org.base_url, api_key_encrypted=encrypt_secret(sandbox_org.api_key),
        verify_state=KustomerConnection.VerifyState.OK,
    )
    return seeded


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Debounce keys (refresh-soon, the watcher tick) must not leak between tests whose
    tenants reuse primary keys."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
