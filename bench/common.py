"""Set-up shared by the benchmark and the fault suite, run in the driver process after
`bench.stack.configure()` and `django.setup()`: a tenant connected to a sandbox org,
its API key, agents and status inheritance."""
from __future__ import annotations

from dataclasses import dataclass

CC_FOR_KUSTOMER = {"Available": "Available", "Busy": "On call", "Unavailable": "Unavailable", "Offline": "Offline",
                   "Lunch": "Lunch", "Break": "Break", "Training": "Training"}


@dataclass
class Tenancy:
    tenant_id: int
    slug: str
    api_key: str
    kustomer_status_ids: dict[str, str]  # name -> Kustomer id
    agents: list[str]


def tenant_setup(*, slug: str, sandbox_url: str, sandbox_api_key: str, rate_limit_per_minute: int,
                 agents: int, kustomer_agents: int = 5, watch_interval_seconds: int = 5,
                 inheritance: bool = True, kustomer_org_id: str = "") -> Tenancy:
    """A tenant connected to the sandbox org, an all-scope API key, ``agents`` agents
    (the first ``kustomer_agents`` have Kustomer users in the demo org, resolved now),
    Kustomer statuses read and mapped, inheritance on (one-way, latest wins)."""
    from integrations.models import KustomerConnection
    from core.crypto import encrypt_secret
    from statusmapping import services as status_services
    from statusmapping.models import Agent, KustomerStatus
    from tenants import services as tenant_services
    from tenants.models import ApiKeyScope

    tenant = tenant_services.tenant_create(name=f"Bench {slug}", slug=slug, default_region="US")
    _, api_key = tenant_services.api_key_create(tenant=tenant, name="bench", scopes=list(ApiKeyScope.values))
    KustomerConnection.objects.create(
        tenant=tenant, base_url=sandbox_url, api_key_encrypted=encrypt_secret(sandbox_api_key),
        verify_state=KustomerConnection.VerifyState.OK, rate_limit_per_minute=rate_limit_per_minute,
        # The org id keys the org's request budget (many sandbox orgs share one host).
        kustomer_org_id=kustomer_org_id,
    )
    status_ids: dict[str, str] = {}
    emails = [f"agent{i}@example.com" for i in range(1, agents + 1)]
    if inheritance:
        status_services.cc_status_ensure_defaults(tenant=tenant)
        status_services.status_inheritance_availability_set(tenant=tenant, available=True, changed_by="bench")
        status_services.kustomer_statuses_refresh(tenant_id=tenant.pk)
        status_ids = dict(KustomerStatus.objects.filter(tenant=tenant).values_list("name", "kustomer_id"))
        status_services.status_mapping_save(
            tenant=tenant, mapping={kid: CC_FOR_KUSTOMER.get(name) for name, kid in status_ids.items()})
        status_services.status_inheritance_update(tenant=tenant, enabled=True, priority="LATEST_WINS",
                                                  direction="ONE_WAY", watch_interval_seconds=watch_interval_seconds)
    from django.db import transaction

    for email in emails:
        # Created without the resolve task (it would reach the broker before any worker
        # runs); the first few are resolved here, synchronously.
        with transaction.atomic():
            Agent.objects.create(tenant=tenant, email=email, name=email.split("@")[0])
    for agent in Agent.objects.filter(tenant=tenant, email__in=emails[:kustomer_agents]):
        status_services.agent_kustomer_user_resolve(agent_id=agent.pk)
    return Tenancy(tenant_id=tenant.pk, slug=slug, api_key=api_key, kustomer_status_ids=status_ids, agents=emails)


def sandbox_org_create(sandbox_url: str, *, api_key: str, rate_limit_per_minute: int, name: str) -> str:
    from bench.stack import http_json

    status, body = http_json("POST", f"{sandbox_url}/__sandbox/orgs", {
        "name": name, "api_key": api_key, "demo": True, "rate_limit_per_minute": rate_limit_per_minute})
    if status != 201:
        raise RuntimeError(f"sandbox org not created: {status} {body}")
    return body["id"]


def sandbox_requests(sandbox_url: str, org_id: str) -> list[dict]:
    from bench.stack import http_json

    status, body = http_json("GET", f"{sandbox_url}/__sandbox/requests?org_id={org_id}", timeout=60)
    if status != 200:
        raise RuntimeError(f"sandbox request log: {status} {body}")
    return body["data"]
