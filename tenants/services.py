"""Writes of tenants, users and API keys."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import phonenumbers
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext

from core.errors import ApplicationError
from tenants import keys
from tenants.models import ApiKey, ApiKeyScope, AuditEntry, Tenant, User

# last_used_at is a hint for admins, not an audit log: refresh it at most this often so
# that authentication stays a single read on the hot path.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


_NAME_MAX = Tenant._meta.get_field("name").max_length
_SLUG_MAX = Tenant._meta.get_field("slug").max_length


def region_check(region: str) -> str:
    """The region as stored (upper case), or ApplicationError naming `default_region`:
    only regions phonenumbers can read local numbers of (ISO 3166 alpha-2)."""
    region = (region or "").strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ApplicationError(gettext("'%(region)s' is not a country code phone numbers can be "
                                       "read in; use a two-letter ISO code such as US, GB or KR.")
                                       % {"region": region}, field="default_region")
    return region


def tenant_create(*, name: str, slug: str = "", default_region: str = "US", actor: User | None = None) -> Tenant:
    """Every bad value is an ApplicationError naming its field (never a 500): a long
    name gives a slug cut to the column's length, a given slug is checked as given."""
    name = (name or "").strip()
    if not name:
        raise ApplicationError(gettext("Give the tenant a name."), field="name")
    if len(name) > _NAME_MAX:
        raise ApplicationError(gettext("Use at most %(max)s characters for the name.") % {"max": _NAME_MAX}, field="name")
    if slug:
        slug = slug.strip()
        if len(slug) > _SLUG_MAX:
            raise ApplicationError(gettext("Use at most %(max)s characters for the slug.")
                                   % {"max": _SLUG_MAX}, field="slug")
        if slugify(slug) != slug:
            raise ApplicationError(gettext("Use only lower-case letters, digits and hyphens in "
                                           "the slug."), field="slug")
    else:
        slug = slugify(name)[:_SLUG_MAX].strip("-")
        if not slug:
            raise ApplicationError(gettext("Give the tenant a name with letters or digits, or a slug."), field="name")
    region = region_check(default_region)
    if Tenant.objects.filter(slug=slug).exists():
        raise ApplicationError(gettext("A tenant with the slug '%(slug)s' already exists.")
                               % {"slug": slug}, field="slug")
    tenant = Tenant(name=name, slug=slug, default_region=region)
    tenant.full_clean()
    tenant.save()
    audit_record(tenant=tenant, actor=actor, action="tenant created", target=tenant.name,
                 detail=f"slug {slug}, region {region}")
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


STALE_MESSAGE = ("These settings were changed since you opened this page (in another tab, or by someone else). "
                 "Nothing was saved: the current values are shown below; make your change again.")


def tenant_config_check(*, tenant: Tenant, expected_version: int | None) -> None:
    """Optimistic concurrency of forms that edit a whole set (status map, two-way
    choices, agent status settings): inside the writer's transaction, before
    tenant_config_changed, refuse a save based on an older configuration version.
    Locks the tenant row (every configuration writer's first lock)."""
    if expected_version is None:
        return
    current = Tenant.objects.select_for_update().values_list("config_version", flat=True).get(pk=tenant.pk)
    if current != expected_version:
        from core.errors import ConflictError

        raise ConflictError(STALE_MESSAGE, field="config_version")


def user_create(
    *, username: str, password: str, role: str, tenant: Tenant | None = None, email: str = ""
) -> User:
    if role == User.Role.TENANT_ADMIN and tenant is None:
        raise ApplicationError(gettext("A tenant admin belongs to a tenant."), field="tenant")
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
        raise ApplicationError(gettext("Name the key so you can recognise it later."), field="name")
    valid = set(ApiKeyScope.values)
    unknown = sorted(set(scopes) - valid)
    if unknown:
        raise ApplicationError(gettext("Unknown scope(s): %(unknown)s. Valid: %(items)s.")
                               % {"unknown": ', '.join(unknown), "items": ', '.join(sorted(valid))}, field="scopes")
    if not scopes:
        raise ApplicationError(gettext("Choose at least one scope."), field="scopes")
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


# ------------------------------------------------------------------------------ people
def audit_record(*, tenant: Tenant | None, actor: User | None, action: str, target: str = "", detail: str = "") -> AuditEntry:
    """One line of the audit log: who (`actor`), what (`action` on `target`), when."""
    return AuditEntry.objects.create(
        tenant=tenant, actor=actor if actor is not None and actor.pk else None,
        actor_name=(actor.get_username() if actor is not None else "system")[:150],
        action=action[:60], target=target[:300], detail=detail[:1000],
    )


TENANT_ROLES = (User.Role.TENANT_ADMIN, User.Role.VIEWER)


def _tenant_role(role: str) -> str:
    if role not in TENANT_ROLES:
        raise ApplicationError(gettext("Choose the role: admin or viewer (read-only)."), field="role")
    return role


def user_invite(*, tenant: Tenant, email: str, role: str = User.Role.TENANT_ADMIN, actor: User | None,
                portal_url: str, name: str = "") -> User:
    """A person of `tenant`, who sets their own password through the one-time link the
    invitation e-mail carries (until then the account has no usable password)."""
    from django.core.validators import validate_email
    from django.core.exceptions import ValidationError

    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ApplicationError(gettext("Enter the person's e-mail address."), field="email") from None
    role = _tenant_role(role)
    if User.objects.filter(username__iexact=email).exists() or User.objects.filter(email__iexact=email).exists():
        raise ApplicationError(gettext("%(email)s already has an account.") % {"email": email}, field="email")
    first, _, last = (name or "").strip().partition(" ")
    with transaction.atomic():
        user = User(username=email, email=email, role=role, tenant=tenant, first_name=first[:150], last_name=last[:150])
        user.set_unusable_password()
        user.full_clean(exclude=["password"])
        user.save()
        audit_record(tenant=tenant, actor=actor, action="user invited", target=email, detail=f"role {user.role_word}")
        transaction.on_commit(lambda: invitation_send(user=user, portal_url=portal_url))
    return user


def invitation_resend(*, user: User, actor: User | None, portal_url: str) -> None:
    if user.has_usable_password():
        raise ApplicationError(gettext("%(email)s already set a password: they can use “Forgot "
                                       "password?”.") % {"email": user.email})
    audit_record(tenant=user.tenant, actor=actor, action="invitation sent again", target=user.get_username())
    invitation_send(user=user, portal_url=portal_url)


def invitation_link(*, user: User, portal_url: str) -> str:
    """The one-time link that sets `user`'s password: Django's password-reset token,
    which stops working once the password changes (or the person logs in)."""
    from django.contrib.auth.tokens import default_token_generator
    from django.urls import reverse
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    path = reverse("tenants:invitation_accept", kwargs={
        "uidb64": urlsafe_base64_encode(force_bytes(user.pk)), "token": default_token_generator.make_token(user)})
    return portal_url.rstrip("/") + path


def invitation_send(*, user: User, portal_url: str) -> None:
    """The invitation e-mail, through Django's e-mail backend (EMAIL_BACKEND)."""
    from django.core.mail import send_mail
    from django.template.loader import render_to_string

    from django.utils import translation

    from tenants.selectors import user_language

    context = {"user": user, "tenant": user.tenant, "link": invitation_link(user=user, portal_url=portal_url),
               "days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400)}
    # The invited person's own language once they chose one; until then the language
    # of the admin who invites them (the page's).
    with translation.override(user_language(user=user) or translation.get_language() or settings.LANGUAGE_CODE):
        send_mail(
            subject=gettext("You are invited to the contact center portal of %(name)s") % {
                "name": user.tenant.name if user.tenant else gettext("support")},
            message=render_to_string("tenants/invitation_email.txt", context),
            from_email=None, recipient_list=[user.email],
        )


def _other_active_admins(user: User):
    return User.objects.filter(tenant_id=user.tenant_id, role=User.Role.TENANT_ADMIN, is_active=True).exclude(pk=user.pk)


def user_role_set(*, user: User, role: str, actor: User | None) -> User:
    role = _tenant_role(role)
    if user.role == role:
        return user
    if user.role == User.Role.TENANT_ADMIN and user.is_active and not _other_active_admins(user).exists():
        raise ApplicationError(gettext("The tenant needs at least one active admin: make "
                                       "someone else admin first."), field="role")
    before = user.role_word
    user.role = role
    user.save(update_fields=["role"])
    audit_record(tenant=user.tenant, actor=actor, action="role changed", target=user.get_username(),
                 detail=f"{before} → {user.role_word}")
    return user


def user_active_set(*, user: User, active: bool, actor: User | None) -> User:
    """Deactivating ends the person's sessions at their next request (Django's session
    check reads is_active) and keeps the account and its history."""
    if user.is_active == active:
        return user
    if not active and user.role == User.Role.TENANT_ADMIN and not _other_active_admins(user).exists():
        raise ApplicationError(gettext("The tenant needs at least one active admin: make "
                                       "someone else admin first."))
    user.is_active = active
    user.save(update_fields=["is_active"])
    audit_record(tenant=user.tenant, actor=actor, action="user reactivated" if active else "user deactivated",
                 target=user.get_username())
    return user


def tenant_create_with_admin(*, name: str, slug: str = "", default_region: str = "US", admin_email: str,
                             admin_name: str = "", actor: User | None, portal_url: str) -> tuple[Tenant, User]:
    """Support staff's one step: the tenant and its first admin, invited by e-mail. All
    or nothing: a bad e-mail leaves no tenant behind."""
    with transaction.atomic():
        tenant = tenant_create(name=name, slug=slug, default_region=default_region, actor=actor)
        try:
            admin = user_invite(tenant=tenant, email=admin_email, role=User.Role.TENANT_ADMIN, actor=actor,
                                portal_url=portal_url, name=admin_name)
        except ApplicationError as exc:
            if "email" in exc.errors:
                exc.errors["admin_email"] = exc.errors.pop("email")
            raise
    return tenant, admin
