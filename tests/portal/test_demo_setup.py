"""The demo that `make run` sets up: log-ins, agents, and a tenant connected to the
sandbox's demo org with status inheritance on."""
import pytest
from django.core.management import call_command

from statusmapping.models import Agent, KustomerStatus
from tenants.models import ApiKey, Tenant


@pytest.mark.django_db
def test_demo_setup_creates_log_ins_agents_and_a_mapped_connected_tenant(client, sandbox_demo_org, capsys):
    call_command("demo_setup", sandbox_url=sandbox_demo_org.base_url, sandbox_api_key=sandbox_demo_org.api_key)
    out = capsys.readouterr().out
    tenant = Tenant.objects.get(slug="demo")
    assert "demo-admin / Demo-admin-2026!" in out and "demo-support / Demo-support-2026!" in out
    client.post("/login/", {"username": "demo-admin", "password": "Demo-admin-2026!"})
    assert client.get("/").context["current_tenant"] == tenant

    plain = out.split("API key (all scopes, shown once): ")[1].split()[0]
    assert ApiKey.objects.filter(tenant=tenant, prefix=plain.split("_")[1], revoked_at__isnull=True).exists()

    assert sorted(Agent.objects.filter(tenant=tenant).values_list("email", flat=True)) == [
        f"agent{n}@example.com" for n in range(1, 6)
    ]
    mapped = {k.name: k.cc_status.name for k in KustomerStatus.objects.filter(tenant=tenant, cc_status__isnull=False)}
    assert mapped["Available"] == "Available" and mapped["Lunch"] == "Lunch"
    assert tenant.status_inheritance.enabled

    # Run again: the same log-ins work, the older demo key is replaced, nothing doubles.
    call_command("demo_setup", sandbox_url=sandbox_demo_org.base_url, sandbox_api_key=sandbox_demo_org.api_key)
    assert Agent.objects.filter(tenant=tenant).count() == 5
    assert ApiKey.objects.filter(tenant=tenant, revoked_at__isnull=True).count() == 1
