"""DRF authentication for machine clients: `Authorization: Bearer <tenant API key>`."""
from __future__ import annotations

from core.principals import NonUserPrincipal

from dataclasses import dataclass, field

from rest_framework import authentication, exceptions

from tenants.models import ApiKey, Tenant
from tenants.services import api_key_authenticate


@dataclass
class ApiClient(NonUserPrincipal):
    """The principal of a request made with an API key (stands in for request.user)."""

    api_key: ApiKey
    tenant: Tenant = field(init=False)
    scopes: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        self.tenant = self.api_key.tenant
        self.scopes = frozenset(self.api_key.scopes)

    throttle_scope = "api_key"  # core/throttling.py

    @property
    def throttle_key(self) -> str:
        return f"key:{self.api_key.prefix}"

    def __str__(self) -> str:
        return f"API key {self.api_key.prefix}"


class HeaderTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: <keyword> <credential>`; subclasses check the credential."""

    keyword = ""
    realm = ""
    malformed_message = ""  # the header has the keyword but not one credential after it
    undecodable_message = ""  # the credential is not text

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(self.malformed_message)
        try:
            credential = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed(self.undecodable_message) from None
        return self.authenticate_credential(credential)

    def authenticate_credential(self, credential: str):
        raise NotImplementedError

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (not 403) to unauthenticated requests.
        return f'{self.keyword} realm="{self.realm}"'


class ApiKeyAuthentication(HeaderTokenAuthentication):
    keyword = "Bearer"
    realm = "api"
    malformed_message = "Send the key as 'Authorization: Bearer <API key>'."
    undecodable_message = "The API key has characters a key never has."

    def authenticate_credential(self, credential: str):
        key = api_key_authenticate(plain=credential)
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        return ApiClient(api_key=key), key


class SupportStaffBackend:
    """Support staff (R-A2: cross-tenant) may view and change every model in /admin/,
    without a permission row per model. Authenticates nobody itself."""

    def authenticate(self, request, **credentials):
        return None

    def get_user(self, user_id):
        return None

    @staticmethod
    def _support(user_obj) -> bool:
        return bool(getattr(user_obj, "is_active", False) and getattr(user_obj, "is_support", False))

    def has_perm(self, user_obj, perm, obj=None) -> bool:
        return self._support(user_obj)

    def has_module_perms(self, user_obj, app_label) -> bool:
        return self._support(user_obj)
