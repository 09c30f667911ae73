"""What every principal that is not a person's user row answers to Django and DRF
(request.user): an API key (tenants), an adapter session (adapter), CCAI Platform's
delivery credentials (ccaip). Authenticated, never staff or support, and no user pk, so
nothing that checks a person's rights mistakes one of them for a person."""
from __future__ import annotations


class NonUserPrincipal:
    is_authenticated = True
    is_anonymous = False
    is_support = False
    is_staff = False
    is_superuser = False
    is_active = True
    pk = None  # no user row behind it
