"""Signals of the Kustomer connection, for apps that build on it.

`connection_verified` is sent (after the commit) when a tenant's connection is verified,
so that the conversation sync can subscribe the tenant's Kustomer webhooks without this
lower layer knowing about it.
"""
from django.dispatch import Signal

connection_verified = Signal()  # sender=KustomerConnection, tenant_id=int

# R-S14: sent inside the transaction that makes another org's URL/key the working
# connection. Receivers clear what belongs to the old org in that same transaction
# (DB writes only) and queue their Kustomer work on commit; each notes what it did
# with integrations.verification.org_move_note.
org_moved = Signal()  # sender=KustomerConnection, tenant=Tenant, move=OrgMove
