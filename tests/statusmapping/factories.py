import factory

from statusmapping import services
from statusmapping.models import Agent, KustomerStatus, StatusInheritanceSettings


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agent

    email = factory.Sequence(lambda n: f"agent{n}@example.com")
    name = factory.Sequence(lambda n: f"Agent {n}")


class KustomerStatusFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = KustomerStatus

    kustomer_id = factory.Sequence(lambda n: f"{n:024x}")
    name = factory.Sequence(lambda n: f"Status {n}")
    status_type = "unavailable"


def inheritance_on(tenant, **changes) -> StatusInheritanceSettings:
    """R-S1 both steps: support made it available, the admin turned it on."""
    services.status_inheritance_availability_set(tenant=tenant, available=True, changed_by="support-1")
    return services.status_inheritance_update(tenant=tenant, enabled=True, **changes)


def seed_map(tenant) -> dict[str, KustomerStatus]:
    """The seed's example map with real CC statuses: Kustomer 1, 2 → Available (A);
    3 → Break (B); 4 → Lunch (D)."""
    services.cc_status_ensure_defaults(tenant=tenant)
    statuses = {
        "k1": KustomerStatusFactory(tenant=tenant, kustomer_id="k1", name="Status 1", status_type="available"),
        "k2": KustomerStatusFactory(tenant=tenant, kustomer_id="k2", name="Status 2", status_type="available"),
        "k3": KustomerStatusFactory(tenant=tenant, kustomer_id="k3", name="Status 3"),
        "k4": KustomerStatusFactory(tenant=tenant, kustomer_id="k4", name="Status 4"),
        "k5": KustomerStatusFactory(tenant=tenant, kustomer_id="k5", name="Status 5 (unmapped)"),
    }
    services.status_mapping_save(tenant=tenant, mapping={"k1": "Available", "k2": "Available", "k3": "Break", "k4": "Lunch"})
    return statuses
