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
    # R-X4: the tenant's Kustomer app is installed in the sandbox org (its widget: the adapter).
    installed = sandbox_demo_org.session().get(f"{sandbox_demo_org.base_url}/v1/apps", timeout=10).json()["data"]
    assert [a["attributes"]["app"] for a in installed] == [f"ccaip_contact_center_{sandbox_demo_org.org_id}"]

    # Run again: the same log-ins work, the older demo key is replaced, nothing doubles.
    call_command("demo_setup", sandbox_url=sandbox_demo_org.base_url, sandbox_api_key=sandbox_demo_org.api_key)
    assert Agent.objects.filter(tenant=tenant).count() == 5
    assert ApiKey.objects.filter(tenant=tenant, revoked_at__isnull=True).count() == 1
    assert "Kustomer app  : ccaip_contact_center_" in capsys.readouterr().out  # the same version, still installed
