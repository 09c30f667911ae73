import factory

from tenants import services
from tenants.models import Tenant, User


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Tenant {n}")
    slug = factory.Sequence(lambda n: f"tenant-{n}")
    default_region = "US"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    role = User.Role.TENANT_ADMIN
    tenant = factory.SubFactory(TenantFactory)
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests-1")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class SupportUserFactory(UserFactory):
    role = User.Role.SUPPORT
    tenant = None
    is_staff = True


def make_api_key(tenant: Tenant, scopes=("events:write", "config:read", "config:write"), name="test key"):
    """An API key of the tenant and its plain text."""
    return services.api_key_create(tenant=tenant, name=name, scopes=list(scopes))
