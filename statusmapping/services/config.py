"""A tenant's status configuration (SPEC §3): inheritance settings, contact-center
statuses, Kustomer statuses read from the org, and the status map. Every change bumps
the tenant's configuration version in the same transaction."""
from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from core.errors import ApplicationError, ConflictError
from core.queue import enqueue_on_commit
from integrations.kustomer.errors import KustomerError
from integrations.selectors import kustomer_connection_exists, kustomer_connection_get
from integrations.services import kustomer_client_for, kustomer_connection_record_error
from statusmapping import selectors
from statusmapping.models import (
    Activity,
    CCStatus,
    Direction,
    KustomerStatus,
    Priority,
    StatusInheritanceSettings,
)
from tenants.models import Tenant
from tenants.services import tenant_config_changed, tenant_config_check

# (name, routable, activity): the CC statuses every tenant starts with. "On call" and
# "Wrap-up" are the ones the CC sets itself during a call (R-S12 holds Kustomer changes
# while the agent is in them).
DEFAULT_CC_STATUSES = (
    ("Available", True, Activity.NONE),
    ("In-chat", True, Activity.NONE),
    ("Unavailable", False, Activity.NONE),
    ("Break", False, Activity.NONE),
    ("Lunch", False, Activity.NONE),
    ("Meeting", False, Activity.NONE),
    ("Training", False, Activity.NONE),
    ("On call", False, Activity.CALL),
    ("Wrap-up", False, Activity.WRAP_UP),
    ("Offline", False, Activity.NONE),
)


class NoKustomerConnection(ApplicationError):
    def __init__(self) -> None:
        super().__init__("Connect the tenant to Kustomer first (Developer settings › Kustomer connection).")


def inheritance_settings_ensure(*, tenant: Tenant) -> StatusInheritanceSettings:
    settings, _ = StatusInheritanceSettings.objects.get_or_create(tenant=tenant)
    return settings


def status_inheritance_availability_set(*, tenant: Tenant, available: bool, changed_by: str = "") -> StatusInheritanceSettings:
    """R-S1 step 1 (support staff). Taking availability away also turns inheritance off,
    so giving it back later needs the tenant admin's consent again."""
    with transaction.atomic():
        tenant_config_changed(tenant=tenant)
        inheritance_settings_ensure(tenant=tenant)
        settings = StatusInheritanceSettings.objects.select_for_update().get(tenant=tenant)
        settings.available = available
        settings.available_changed_at = timezone.now()
        settings.available_changed_by = changed_by[:150]
        if not available:
            settings.enabled = False
        settings.save()
    return settings


def status_inheritance_update(
    *,
    tenant: Tenant,
    enabled: bool | None = None,
    priority: str | None = None,
    direction: str | None = None,
    inherit_on_login: bool | None = None,
    watch_interval_seconds: int | None = None,
    sign_out_status: str | None = None,
    flap_max_changes: int | None = None,
    flap_hold_seconds: int | None = None,
    email_new_unmapped_statuses: bool | None = None,
    expected_version: int | None = None,
) -> StatusInheritanceSettings:
    """R-S1 step 2, R-S7, R-S8, R-S9 (the tenant admin). Only the given values change.
    Choosing two-way (again) queues the check of Kustomer's prerequisites; pushes go out
    only once it passed."""
    if priority is not None and priority not in Priority.values:
        raise ApplicationError(gettext("Choose one of %(items)s.")
                               % {"items": ', '.join(Priority.values)}, field="priority")
    if direction is not None and direction not in Direction.values:
        raise ApplicationError(gettext("Choose one of %(items)s.")
                               % {"items": ', '.join(Direction.values)}, field="direction")
    if watch_interval_seconds is not None and not 1 <= watch_interval_seconds <= 3600:
        raise ApplicationError(gettext("Give an interval of 1 to 3,600 seconds."), field="watch_interval_seconds")
    if flap_max_changes is not None and not 0 <= flap_max_changes <= 100:
        raise ApplicationError(gettext("Give 0 (off) to 100 changes a minute."), field="flap_max_changes")
    if flap_hold_seconds is not None and not 5 <= flap_hold_seconds <= 600:
        raise ApplicationError(gettext("Give a hold of 5 to 600 seconds."), field="flap_hold_seconds")
    sign_out = None
    if sign_out_status:
        sign_out = CCStatus.objects.filter(tenant=tenant, name__iexact=sign_out_status.strip()).first()
        if sign_out is None:
            raise ApplicationError(gettext("No CC status named %(sign_out_status)s.")
                                   % {"sign_out_status": repr(sign_out_status)}, field="sign_out_status")
        if sign_out.activity != Activity.NONE:
            raise ApplicationError(gettext("%(name)s is a status the contact center sets during "
                                           "calls; choose another.") % {"name": sign_out.name},
                                   field="sign_out_status")
    from statusmapping.tasks import two_way_prerequisites_check_task

    with transaction.atomic():
        tenant_config_check(tenant=tenant, expected_version=expected_version)
        tenant_config_changed(tenant=tenant)
        inheritance_settings_ensure(tenant=tenant)
        settings = StatusInheritanceSettings.objects.select_for_update().get(tenant=tenant)
        if enabled and not settings.available:
            raise ApplicationError(
                gettext("Kustomer status inheritance is not available to this tenant yet: ask "
                        "support to make it available."),
                field="enabled",
            )
        was_two_way = settings.direction == Direction.TWO_WAY and settings.enabled
        if enabled is not None:
            settings.enabled = enabled
        if priority is not None:
            settings.priority = priority
        if direction is not None:
            settings.direction = direction
        if inherit_on_login is not None:
            settings.inherit_on_login = inherit_on_login
        if watch_interval_seconds is not None:
            settings.watch_interval_seconds = watch_interval_seconds
        if sign_out_status is not None:  # "" turns it off
            settings.sign_out_cc_status = sign_out
        if flap_max_changes is not None:
            settings.flap_max_changes = flap_max_changes
        if flap_hold_seconds is not None:
            settings.flap_hold_seconds = flap_hold_seconds
        if email_new_unmapped_statuses is not None:
            settings.email_new_unmapped_statuses = email_new_unmapped_statuses
        now_two_way = settings.direction == Direction.TWO_WAY and settings.enabled
        if now_two_way and not was_two_way:
            settings.two_way_ready = False
            settings.two_way_checks = []
            settings.two_way_check_error = ""
            settings.two_way_checked_at = None
            enqueue_on_commit(two_way_prerequisites_check_task, tenant.pk)
        settings.save()
    return settings


def two_way_prerequisites_check_request(*, tenant: Tenant) -> None:
    from statusmapping.tasks import two_way_prerequisites_check_task

    if not kustomer_connection_exists(tenant=tenant):
        raise NoKustomerConnection()
    enqueue_on_commit(two_way_prerequisites_check_task, tenant.pk)


def cc_status_ensure_defaults(*, tenant: Tenant) -> None:
    """Create the default CC statuses the first time a tenant needs them (idempotent,
    safe under concurrency: the unique name constraint drops a second insert)."""
    if CCStatus.objects.filter(tenant=tenant).exists():
        return
    with transaction.atomic():
        tenant_config_changed(tenant=tenant)
        CCStatus.objects.bulk_create(
            [
                CCStatus(tenant=tenant, name=name, routable=routable, activity=activity, is_default=True, position=i)
                for i, (name, routable, activity) in enumerate(DEFAULT_CC_STATUSES)
            ],
            ignore_conflicts=True,
        )


def cc_status_create(*, tenant: Tenant, name: str, routable: bool = False, activity: str = Activity.NONE) -> CCStatus:
    name = (name or "").strip()
    if not name:
        raise ApplicationError(gettext("Give the status a name."), field="name")
    if len(name) > 60:
        raise ApplicationError(gettext("Use at most 60 characters."), field="name")
    if activity not in Activity.values:
        raise ApplicationError(gettext("Choose one of %(items)s.")
                               % {"items": ', '.join(Activity.values)}, field="activity")
    cc_status_ensure_defaults(tenant=tenant)
    if selectors.cc_status_find(tenant=tenant, name=name):
        raise ConflictError(gettext("A CC status named %(name)s already exists.") % {"name": name}, field="name")
    try:
        with transaction.atomic():
            tenant_config_changed(tenant=tenant)
            return CCStatus.objects.create(tenant=tenant, name=name, routable=routable, activity=activity, position=1000)
    except IntegrityError:
        raise ConflictError(gettext("A CC status named %(name)s already exists.")
                            % {"name": name}, field="name") from None


def cc_status_rename(*, status: CCStatus, name: str) -> CCStatus:
    """A new name; the map, two-way choice and agents keep pointing at the status (the
    history keeps the names as they were)."""
    name = (name or "").strip()
    if not name:
        raise ApplicationError(gettext("Give the status a name."), field="name")
    if len(name) > 60:
        raise ApplicationError(gettext("Use at most 60 characters."), field="name")
    other = selectors.cc_status_find(tenant=status.tenant, name=name)
    if other is not None and other.pk != status.pk:
        raise ConflictError(gettext("A CC status named %(name)s already exists.") % {"name": name}, field="name")
    try:
        with transaction.atomic():
            tenant_config_changed(tenant=status.tenant)
            CCStatus.objects.filter(pk=status.pk).update(name=name)
    except IntegrityError:
        raise ConflictError(gettext("A CC status named %(name)s already exists.")
                            % {"name": name}, field="name") from None
    status.refresh_from_db()
    return status


def cc_status_remove(*, status: CCStatus) -> None:
    """Remove a CC status: refused while an agent holds it (now, or as the status held
    for after a call); Kustomer statuses mapped to it become unmapped."""
    from statusmapping.models import Agent

    with transaction.atomic():
        tenant_config_changed(tenant=status.tenant)
        holders = list(selectors.cc_status_holders(status=status))
        if holders:
            raise ConflictError(gettext("%(name)s cannot be removed while an agent holds it: "
                                        "%(items)s.")
                                        % {"name": status.name, "items": ', '.join(a.email for a in holders[:10])})
        Agent.objects.filter(tenant=status.tenant, held_cc_status=status).update(held_cc_status=None)
        status.delete()


def kustomer_statuses_refresh_request(*, tenant: Tenant) -> None:
    """R-S2: read Kustomer's statuses again (in a task: no request calls Kustomer)."""
    from statusmapping.tasks import kustomer_statuses_refresh_task

    if not kustomer_connection_exists(tenant=tenant):
        raise NoKustomerConnection()
    enqueue_on_commit(kustomer_statuses_refresh_task, tenant.pk)


def kustomer_statuses_refresh_soon(*, tenant: Tenant) -> None:
    """A status event named a Kustomer status we have not read yet (added in Kustomer
    since the last refresh): read them again, at most once a minute per tenant."""
    from django.core.cache import cache

    from statusmapping.tasks import kustomer_statuses_refresh_task

    if cache.add(f"statusmapping:refresh-soon:{tenant.pk}", 1, timeout=60) and \
            kustomer_connection_exists(tenant=tenant):
        enqueue_on_commit(kustomer_statuses_refresh_task, tenant.pk)


def kustomer_statuses_refresh(*, tenant_id: int) -> int:
    """Store `GET /v1/routing/statuses`; a status Kustomer no longer lists is marked
    removed (its mapping and history stay), one that comes back is unmarked."""
    tenant = Tenant.objects.get(pk=tenant_id)
    connection = kustomer_connection_get(tenant=tenant)
    if connection is None:
        return 0
    try:
        with kustomer_client_for(connection=connection) as client:
            statuses = client.list_routing_statuses()
    except KustomerError as exc:
        kustomer_connection_record_error(connection=connection, error=str(exc))
        StatusInheritanceSettings.objects.filter(tenant=tenant).update(statuses_refresh_error=str(exc)[:2000])
        raise
    now = timezone.now()
    known = {k.kustomer_id: (k.name, k.status_type, k.system, k.removed_at is None)
             for k in KustomerStatus.objects.filter(tenant=tenant)}
    # R-O5: a status this refresh finds that no earlier one did appeared in Kustomer since
    # the last refresh (on the first read every status is simply there).
    refreshed_before = StatusInheritanceSettings.objects.filter(
        tenant=tenant, statuses_refreshed_at__isnull=False).exists() or bool(known)
    appeared = [st.id for st in statuses if st.id not in known] if refreshed_before else []
    read = {st.id: ((st.name or st.id)[:200], st.status_type or "", st.system, True) for st in statuses}
    changed = read != {kid: v for kid, v in known.items() if v[3] or kid in read}
    with transaction.atomic():
        if changed:
            # New statuses, new names. An unchanged list bumps nothing, so a form open
            # across the periodic refresh still saves (optimistic concurrency).
            tenant_config_changed(tenant=tenant)
        seen = []
        for status in statuses:
            seen.append(status.id)
            KustomerStatus.objects.update_or_create(
                tenant=tenant, kustomer_id=status.id,
                defaults={
                    "name": (status.name or status.id)[:200], "status_type": status.status_type or "",
                    "system": status.system, "last_seen_at": now, "removed_at": None,
                },
            )
        KustomerStatus.objects.filter(tenant=tenant, removed_at__isnull=True).exclude(kustomer_id__in=seen).update(
            removed_at=now
        )
        if appeared:
            KustomerStatus.objects.filter(tenant=tenant, kustomer_id__in=appeared).update(appeared_at=now)
            from statusmapping.tasks import kustomer_status_alerts_email_task

            enqueue_on_commit(kustomer_status_alerts_email_task, tenant.pk)
        inheritance_settings_ensure(tenant=tenant)
        StatusInheritanceSettings.objects.filter(tenant=tenant).update(
            statuses_refreshed_at=now, statuses_refresh_error=""
        )
    return len(statuses)


def status_mapping_save(
    *, tenant: Tenant, mapping: dict[str, str | None], push: dict[str, str | None] | None = None,
    expected_version: int | None = None,
) -> None:
    """R-S2/R-S3: store the whole Kustomer → CC map at once (a Kustomer status left out
    is unmapped), and for two-way sync the Kustomer status chosen per CC status (R-S9;
    `push` None leaves those choices as they are). Any map is allowed; warnings come
    from `selectors.status_mapping_warnings`. All or nothing. `expected_version`: the
    configuration version the form was built from (a stale tab is refused)."""
    cc_status_ensure_defaults(tenant=tenant)
    cc_by_name = {s.name.lower(): s for s in CCStatus.objects.filter(tenant=tenant)}
    kustomer = {k.kustomer_id: k for k in KustomerStatus.objects.filter(tenant=tenant)}
    errors: dict[str, list[str]] = {}
    targets: dict[str, CCStatus | None] = {}
    for kid, cc_name in (mapping or {}).items():
        if kid not in kustomer:
            errors.setdefault(f"mapping.{kid}", []).append(gettext("No such Kustomer status: "
                                                                   "refresh the list from "
                                                                   "Kustomer."))
            continue
        if cc_name in (None, ""):
            targets[kid] = None
            continue
        cc = cc_by_name.get(str(cc_name).strip().lower())
        if cc is None:
            errors.setdefault(f"mapping.{kid}", []).append(gettext("No CC status named %(name)s.") % {"name": cc_name})
            continue
        targets[kid] = cc
    push_targets: dict[int, str] = {}
    for cc_name, kid in (push or {}).items():
        cc = cc_by_name.get(str(cc_name).strip().lower())
        if cc is None:
            errors.setdefault(f"push.{cc_name}", []).append(gettext("No CC status named %(name)s.") % {"name": cc_name})
            continue
        if kid in (None, ""):
            push_targets[cc.pk] = ""
            continue
        k = kustomer.get(kid)
        if k is None or k.removed_at is not None:
            errors.setdefault(f"push.{cc_name}", []).append(gettext("No such Kustomer status "
                                                                    "(or Kustomer no longer has "
                                                                    "it)."))
            continue
        push_targets[cc.pk] = kid
    with transaction.atomic():
        tenant_config_check(tenant=tenant, expected_version=expected_version)
        if errors:
            raise ApplicationError(gettext("The map was not saved: fix the marked statuses."), errors=errors)
        tenant_config_changed(tenant=tenant)
        for kid, status in kustomer.items():
            target = targets.get(kid)
            if status.cc_status_id != (target.pk if target else None):
                KustomerStatus.objects.filter(pk=status.pk).update(cc_status=target)
        if push is not None:
            for cc in cc_by_name.values():
                wanted = push_targets.get(cc.pk, "")
                if cc.push_kustomer_status_id != wanted:
                    CCStatus.objects.filter(pk=cc.pk).update(push_kustomer_status_id=wanted)


def kustomer_status_alerts_email(*, tenant_id: int) -> int:
    """R-O5: e-mail the tenant's admins (Django's e-mail backend) about the Kustomer
    statuses that appeared since an earlier refresh and are still not mapped, when the
    tenant turned it on; each status once. Returns how many statuses the e-mail named."""
    from django.conf import settings as django_settings
    from django.core.mail import send_mail
    from django.template.loader import render_to_string

    from django.utils import translation

    from tenants.selectors import tenant_admin_emails_by_language

    tenant = Tenant.objects.get(pk=tenant_id)
    if not StatusInheritanceSettings.objects.filter(tenant=tenant, email_new_unmapped_statuses=True).exists():
        return 0
    # One e-mail per language the admins chose (the portal's default for the others).
    recipients = tenant_admin_emails_by_language(tenant=tenant, default=django_settings.LANGUAGE_CODE)
    with transaction.atomic():
        # Locked and marked in one transaction: two runs never both send about one status.
        pending = list(selectors.kustomer_statuses_new_unmapped(tenant=tenant).filter(alert_emailed_at__isnull=True)
                       .select_for_update(skip_locked=True, of=("self",)))
        if not pending or not recipients:
            return 0
        names = ", ".join(k.name for k in pending)
        for language, emails in recipients.items():
            with translation.override(language):
                send_mail(
                    subject=ngettext("New Kustomer status not mapped: %(names)s",
                                     "New Kustomer statuses not mapped: %(names)s", len(pending)) % {"names": names},
                    message=render_to_string("statusmapping/new_statuses_email.txt", {
                        "tenant": tenant, "statuses": pending,
                        "link": django_settings.PORTAL_PUBLIC_URL.rstrip("/") + "/settings/status-mapping/"}),
                    from_email=None, recipient_list=emails,
                )
        KustomerStatus.objects.filter(pk__in=[k.pk for k in pending]).update(alert_emailed_at=timezone.now())
    return len(pending)
