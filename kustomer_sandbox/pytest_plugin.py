"""Pytest fixtures for code that talks to Kustomer.

Registered in tests/conftest.py (`pytest_plugins`). Fixtures:
- `kustomer_sandbox` (session): a running `SandboxServer` on a free port, with webhook
  retries after fractions of a second instead of minutes.
- `sandbox_org` (function): a fresh org with a random API key; global faults are reset
  before and after the test. Returns a `SandboxOrg` (`.api_key`, `.base_url`, `.org_id`,
  data readers and control helpers).
- `sandbox_demo_org` (function): the same, seeded like `--demo` (agents, teams, statuses,
  routing settings, queues, active work sessions).
"""
from __future__ import annotations

import copy
import secrets
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import pytest
import requests

from .control import org_dump
from .demo import seed_demo_org
from .faults import FaultConfig, fault_config_update
from .work_sessions import agent_status_set
from .server import SandboxServer
from .store import Org

TEST_WEBHOOK_RETRY_DELAYS = [0.05, 0.05, 0.1, 0.1, 0.2, 0.2, 0.3]


@dataclass
class SandboxOrg:
    server: SandboxServer
    org: Org
    api_key: str

    @property
    def org_id(self) -> str:
        return self.org.id

    @property
    def base_url(self) -> str:
        """The sandbox URL; clients append /v1/..."""
        return self.server.url

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    def session(self) -> requests.Session:
        """A requests session that authenticates as this org's API key."""
        session = requests.Session()
        session.headers.update(self.headers)
        return session

    def add_api_key(self, roles: list[str]) -> str:
        """A second API key of this org holding only `roles`; returns the key."""
        api_key = secrets.token_hex(20)
        self.server.state.add_api_key(self.org, api_key, name=f"key {' '.join(roles)[:40]}", roles=roles)
        return api_key

    # -- reading what the org holds (records as the API renders them) ---------------------
    def dump(self) -> dict[str, Any]:
        with self.server.state.lock:
            return copy.deepcopy(org_dump(self.org, self.server.url))

    def customers(self) -> list[dict]:
        return self.dump()["customers"]

    def conversations(self) -> list[dict]:
        return self.dump()["conversations"]

    def messages(self, conversation_id: str | None = None) -> list[dict]:
        return [
            m for m in self.dump()["messages"]
            if conversation_id is None or m["relationships"]["conversation"]["data"]["id"] == conversation_id
        ]

    def notes(self, conversation_id: str | None = None) -> list[dict]:
        return [
            n for n in self.dump()["notes"]
            if conversation_id is None or n["relationships"]["conversation"]["data"]["id"] == conversation_id
        ]

    def attachment_content(self, attachment_id: str) -> bytes | None:
        with self.server.state.lock:
            return self.org.attachments[attachment_id]["content"]

    def requests(self, **filters: str) -> list[dict]:
        """Logged Kustomer requests of this org (filters: method, path_contains)."""
        with self.server.state.lock:
            entries = [dict(e) for e in self.server.state.request_log if e["org_id"] == self.org.id]
        if "method" in filters:
            entries = [e for e in entries if e["method"] == filters["method"].upper()]
        if "path_contains" in filters:
            entries = [e for e in entries if filters["path_contains"] in e["path"]]
        return entries

    def webhook_deliveries(self) -> list[dict]:
        with self.server.state.lock:
            return copy.deepcopy(self.org.webhook_deliveries)

    # -- acting on the org ----------------------------------------------------------------
    def inject_faults(self, **settings: Any) -> None:
        """Same settings as POST /__sandbox/orgs/{org}/faults."""
        with self.server.state.lock:
            fault_config_update(self.org.faults, settings)

    def clear_faults(self) -> None:
        with self.server.state.lock:
            self.org.faults = FaultConfig()

    def set_agent_status(self, email: str, status_name: str) -> dict | None:
        """Play an agent picking a status in Kustomer; returns the work session record."""
        with self.server.state.lock:
            user = self.org.find_user_by_email(email)
            status = self.org.find_status_by_name(status_name)
            if user is None or status is None:
                raise LookupError(f"no user {email!r} or no status {status_name!r}")
            session = agent_status_set(self.org, user["id"], status)
            return copy.deepcopy(session)

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0, interval: float = 0.02) -> Any:
        """Poll until `predicate()` is truthy (webhooks arrive from another thread)."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result or time.monotonic() > deadline:
                return result
            time.sleep(interval)


@pytest.fixture(scope="session")
def kustomer_sandbox() -> Iterator[SandboxServer]:
    server = SandboxServer(port=0, webhook_retry_delays=TEST_WEBHOOK_RETRY_DELAYS).start()
    try:
        yield server
    finally:
        server.stop()


def _reset_global_faults(server: SandboxServer) -> None:
    with server.state.lock:
        server.state.global_faults = FaultConfig()


@pytest.fixture
def sandbox_org(kustomer_sandbox: SandboxServer) -> Iterator[SandboxOrg]:
    _reset_global_faults(kustomer_sandbox)
    api_key = secrets.token_hex(20)
    org = kustomer_sandbox.create_org(f"test-{secrets.token_hex(4)}", api_key)
    yield SandboxOrg(server=kustomer_sandbox, org=org, api_key=api_key)
    _reset_global_faults(kustomer_sandbox)
    with kustomer_sandbox.state.lock:
        org.faults = FaultConfig()
        org.webhooks.clear()  # stop pending deliveries to receivers the test shut down


@pytest.fixture
def sandbox_demo_org(kustomer_sandbox: SandboxServer) -> Iterator[SandboxOrg]:
    _reset_global_faults(kustomer_sandbox)
    api_key = secrets.token_hex(20)
    org = seed_demo_org(kustomer_sandbox.state, name=f"demo-{secrets.token_hex(4)}", api_key=api_key)
    yield SandboxOrg(server=kustomer_sandbox, org=org, api_key=api_key)
    _reset_global_faults(kustomer_sandbox)
    with kustomer_sandbox.state.lock:
        org.faults = FaultConfig()
        org.webhooks.clear()
