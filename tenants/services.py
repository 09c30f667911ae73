"""Writes of tenants, users and API keys."""
from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from portal.errors import ApplicationError
from tenants import keys
from tenants.models import ApiKey, ApiKeyScope, Tenant, User

# last_used_at is a hint for admins, not an audit log: refresh it at most this often so
# that authentication stays a single read on the hot path.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


def tenant_create(*, name: str, slug: str = "", default_region: str = "US") -> Tenant:
    slug = slug or slugify(name)
    if not slug:
        raise ApplicationError("Give the tenant a name with letters or digits.", field="name")
    if Tenant.objects.filter(slug=slug).exists():
        raise ApplicationError(f"A tenant with the slug '{slug}' already exists.", field="slug")
    tenant = Tenant(name=name, slug=slug, default_region=default_region.upper())
    tenant.full_clean()
    tenant.save()
    return tenant


def user_create(
    *, username: str, password: str, role: str, tenant: Tenant | None = None, email: str = ""
) -> User:
    if role == User.Role.TENANT_ADMIN and tenant is None:
        raise ApplicationError("A tenant admin belongs to a tenant.", field="tenant")
    if role == User.Role.SUPPORT:
        tenant = None
    user = User(username=username, email=email, role=role, tenant=tenant, is_staff=role == User.Role.SUPPORT)
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    return user


def api_key_create(*, tenant: Tenant, name: str, scopes: list[str], created_by: User | None = None) -> tuple[ApiKey, str]:
    """Create a key and return it with its plain text, which is never available again."""
    name = (name or "").strip()
    if not name:
        raise ApplicationError("Name the key so you can recognise it later.", field="name")
    valid = set(ApiKeyScope.values)
    unknown = sorted(set(scopes) - valid)
    if unknown:
        raise ApplicationError(f"Unknown scope(s): {', '.join(unknown)}. Valid: {', '.join(sorted(valid))}.", field="scopes")
    if not scopes:
        raise ApplicationError("Choose at least one scope.", field="scopes")
    new = keys.generate_key()
    key = ApiKey.objects.create(
        tenant=tenant,
        name=name,
        prefix=new.prefix,
        secret_hash=new.secret_hash,
        scopes=sorted(set(scopes)),
        created_by=created_by,
    )
    return key, new.plain


def api_key_revoke(*, key: ApiKey) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key


def api_key_authenticate(*, plain: str) -> ApiKey | None:
    """The active key for this plain text, or None. Records when it was last used."""
    parts = keys.split_key(plain)
    if parts is None:
        return None
    prefix, secret = parts
    key = ApiKey.objects.select_related("tenant").filter(prefix=prefix).first()
    if key is None or not keys.secret_matches(secret, key.secret_hash) or not key.is_active:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > _LAST_USED_RESOLUTION:
        with transaction.atomic():
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key
