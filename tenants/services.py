"""Writes of tenants, users and API keys."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

from core.errors import ApplicationError
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


def tenant_config_changed(*, tenant: Tenant) -> None:
    """Tell every process that cached configuration of `tenant` is out of date.

    Call it first thing inside the transaction that changes the configuration: the
    bump commits with the change (a process that sees the new version also sees the
    change), and every configuration writer locks the tenant row before anything else,
    so two writers never wait on each other's rows in opposite orders. `tenant` is
    updated in place too, so the caller's next read with it sees the change."""
    Tenant.objects.filter(pk=tenant.pk).update(config_version=F("config_version") + 1)
    tenant.refresh_from_db(fields=["config_version"])
    # This process's authenticated keys carry the tenant (and so its version): read
    # them again. Other processes read theirs within API_KEY_CACHE_SECONDS.
    api_keys_forget(tenant_id=tenant.pk)
    transaction.on_commit(lambda: api_keys_forget(tenant_id=tenant.pk))  # a re-read before the commit


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
    """Revoked at once in this process; other processes refuse the key within
    API_KEY_CACHE_SECONDS (the life of their copy of an authenticated key)."""
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    api_keys_forget(tenant_id=key.tenant_id)
    return key


# Keys that authenticated lately, by prefix: (good until, in time.monotonic(); the key
# with its tenant). The status event endpoint takes hundreds of requests a second with
# one key, and reading the key row was a third of its time. The secret is still checked
# against the stored digest on every request, so a copy only saves the read; what it can
# miss is a revocation or a tenant change made by another process, for at most
# API_KEY_CACHE_SECONDS. Copies are shared by requests: never change them.
_recent_keys: dict[str, tuple[float, ApiKey]] = {}
_recent_keys_lock = threading.Lock()


def api_keys_forget(*, tenant_id: int | None = None) -> None:
    """Drop this process's copies of authenticated keys: `tenant_id`'s, or all (tests)."""
    with _recent_keys_lock:
        for prefix, (_, key) in list(_recent_keys.items()):
            if tenant_id is None or key.tenant_id == tenant_id:
                del _recent_keys[prefix]


def api_key_authenticate(*, plain: str) -> ApiKey | None:
    """The active key for this plain text, or None. Records when it was last used."""
    parts = keys.split_key(plain)
    if parts is None:
        return None
    prefix, secret = parts
    recent = _recent_keys.get(prefix)
    if recent is not None and recent[0] > time.monotonic():
        key = recent[1]
        return key if keys.secret_matches(secret, key.secret_hash) else None
    key = ApiKey.objects.select_related("tenant").filter(prefix=prefix).first()
    if key is None or not keys.secret_matches(secret, key.secret_hash) or not key.is_active:
        if key is not None:
            with _recent_keys_lock:
                _recent_keys.pop(prefix, None)
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > _LAST_USED_RESOLUTION:
        with transaction.atomic():
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    ttl = settings.API_KEY_CACHE_SECONDS
    if ttl > 0:
        with _recent_keys_lock:
            _recent_keys[prefix] = (time.monotonic() + ttl, key)
    return key
