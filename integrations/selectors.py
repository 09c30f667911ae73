"""Reads of the Kustomer connection."""
from __future__ import annotations

from integrations.kustomer.links import KustomerWebLinks, kustomer_web_links
from integrations.models import KustomerConnection
from tenants.models import Tenant


def kustomer_connection_get(*, tenant: Tenant | None = None, tenant_id: int | None = None) -> KustomerConnection | None:
    """The tenant's Kustomer connection (give the tenant or its id), or None."""
    if tenant is not None:
        tenant_id = tenant.pk
    return KustomerConnection.objects.filter(tenant_id=tenant_id).first()


def kustomer_connection_exists(*, tenant: Tenant | None = None, tenant_id: int | None = None) -> bool:
    """Whether the tenant has a Kustomer connection (give the tenant or its id)."""
    if tenant is not None:
        tenant_id = tenant.pk
    return KustomerConnection.objects.filter(tenant_id=tenant_id).exists()


def kustomer_web_links_for(*, tenant: Tenant) -> KustomerWebLinks | None:
    """Where the tenant's Kustomer records open (None without a connection)."""
    connection = kustomer_connection_get(tenant=tenant)
    if connection is None:
        return None
    return kustomer_web_links(base_url=connection.base_url, org_id=connection.kustomer_org_id)
