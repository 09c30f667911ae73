"""Signals of the Kustomer connection, for apps that build on it.

`connection_verified` is sent (after the commit) when a tenant's connection is verified,
so that the conversation sync can subscribe the tenant's Kustomer webhooks without this
lower layer knowing about it.
"""
from django.dispatch import Signal

connection_verified = Signal()  # sender=KustomerConnection, tenant_id=int
