import factory
from django.utils import timezone

from customfields import rules
from customfields.models import CustomField
from tests.tenants.factories import TenantFactory


class CustomFieldFactory(factory.django.DjangoModelFactory):
    """A catalogue field already created in Kustomer (pass catalogue_key to choose one)."""

    class Meta:
        model = CustomField

    class Params:
        definition = factory.LazyAttribute(lambda o: rules.CATALOGUE_BY_KEY[o.catalogue_key])

    tenant = factory.SubFactory(TenantFactory)
    kind = CustomField.Kind.CATALOGUE
    catalogue_key = "queue_name"
    klass = factory.LazyAttribute(lambda o: o.definition.klass.value)
    attribute_name = factory.LazyAttribute(lambda o: o.definition.attribute_name)
    display_name = factory.LazyAttribute(lambda o: o.definition.display_name)
    value_type = factory.LazyAttribute(lambda o: o.definition.value_type.value)
    state = CustomField.State.CREATED
    created_at = factory.LazyFunction(timezone.now)
    attempts = 1


class SdkFieldFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomField

    tenant = factory.SubFactory(TenantFactory)
    kind = CustomField.Kind.SDK
    sdk_key = "orderId"
    klass = CustomField.Klass.MESSAGE
    value_type = "Str"
    attribute_name = factory.LazyAttribute(lambda o: rules.sdk_attribute_name(sdk_key=o.sdk_key, value_type=o.value_type))
    display_name = "Order ID"
    state = CustomField.State.CREATED
    created_at = factory.LazyFunction(timezone.now)
    attempts = 1
