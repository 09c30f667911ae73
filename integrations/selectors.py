"""Reads of the Kustomer connection."""
from __future__ import annotations

from integrations.kustomer.links import KustomerWebLinks, kustomer_web_links
from integrations.models import KustomerConnection
from tenants.models import Tenant


def kustomer_web_links_for(*, tenant: Tenant) -> KustomerWebLinks | None:
    """Where the tenant's Kustomer records open (None without a connection)."""
    connection = KustomerConnection.objects.filter(tenant=tenant).only("base_url", "kustomer_org_id").first()
    if connection is None:
        return None
    return kustomer_web_links(base_url=connection.base_url, org_id=connection.kustomer_org_id)
