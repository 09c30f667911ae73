"""The tenant's Kustomer app (SPEC R-X4): build its definition, register it with the
tenant's org, install it, and read back what the org runs.

Views and the management command call `kustomer_app_request` (writes a row, queues the
task); the task calls `kustomer_app_sync`, the only code here that calls Kustomer.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from core.errors import ApplicationError
from core.queue import enqueue_on_commit
from integrations import rules
from integrations.kustomer import apps as kustomer_apps
from integrations.kustomer.app_definition import build_app_definition
from integrations.kustomer.errors import KustomerConflictError, KustomerError, KustomerTransientError
from integrations.models import KustomerApp, KustomerConnection
from integrations.selectors import kustomer_connection_get
from integrations.services import kustomer_client_for
from tenants.models import Tenant

logger = logging.getLogger(__name__)


def kustomer_app_definition(*, tenant: Tenant, connection: KustomerConnection,
                            product_version: str | None = None) -> dict[str, Any]:
    """The tenant's app definition at the product's version (settings read now)."""
    try:
        plan = rules.plan_kustomer_app(
            tenant_slug=tenant.slug, tenant_name=tenant.name, org_id=connection.kustomer_org_id,
            portal_url=settings.PORTAL_PUBLIC_URL, product_version=product_version or settings.KUSTOMER_APP_VERSION,
            external_queue=settings.KUSTOMER_APP_EXTERNAL_QUEUE,
        )
    except ValueError as exc:
        raise ApplicationError(str(exc)) from None
    return build_app_definition(plan)


def definition_fingerprint(definition: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(definition, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def kustomer_app_request(*, tenant: Tenant, install: bool = False, register: bool = True,
                         enqueue: bool = True) -> KustomerApp:
    """Ask for the product's version to be registered with the tenant's org (and, with
    `install`, installed); `register=False` only reads the org's apps again. The task
    does the HTTP; this writes the row it works from."""
    connection = kustomer_connection_get(tenant=tenant)
    if connection is None or connection.verify_state != KustomerConnection.VerifyState.OK:
        raise ApplicationError(gettext("Connect and verify the Kustomer org first."))
    definition = kustomer_app_definition(tenant=tenant, connection=connection) if register else {}
    from integrations.tasks import kustomer_app_sync_task

    with transaction.atomic():
        app, _ = KustomerApp.objects.select_for_update().get_or_create(tenant=tenant)
        if register:
            app.definition = definition
            app.product_version = definition["version"]
        app.install_requested = app.install_requested or install
        app.state = KustomerApp.State.PENDING
        app.save()
        if enqueue:
            enqueue_on_commit(kustomer_app_sync_task, app.pk)
    return app


def _ours(name: str, wanted: str) -> bool:
    # Kustomer namespaces a private app's name with `_<orgId>` when we sent it without.
    return bool(wanted) and (name == wanted or name.startswith(wanted + "_"))


def kustomer_app_sync(*, app_id: int) -> KustomerApp:
    """Register the requested version (409 "already registered" is success), install it
    when asked, then record the versions the org holds. A transient Kustomer error is
    shown on the row and re-raised for the task to retry; a permanent one marks it failed."""
    app = KustomerApp.objects.select_related("tenant").get(pk=app_id)
    connection = KustomerConnection.objects.get(tenant_id=app.tenant_id)
    client = kustomer_client_for(connection=connection)
    wanted = app.app_name or (app.definition or {}).get("app") or rules.APP_BASE_NAME
    fingerprint = app.registered_fingerprint
    try:
        if app.definition:
            try:
                registered = kustomer_apps.app_register(client, definition=app.definition)
                wanted = registered.app
                fingerprint = definition_fingerprint(app.definition)
            except KustomerConflictError:
                logger.info("kustomer app %s %s was registered already", wanted, app.product_version)
        versions = [a for a in kustomer_apps.apps_available(client) if _ours(a.app, wanted)]
        if versions:
            wanted = versions[-1].app
        installed = next((a for a in kustomer_apps.apps_installed(client) if _ours(a.app, wanted)), None)
        if app.install_requested and installed is None and versions:
            version = app.product_version or max((v.version for v in versions), key=rules.version_key)
            installed = kustomer_apps.app_install(client, app=wanted, version=version)
    except KustomerError as exc:
        # Shown at once; a transient error is also re-raised, and the task's retry that
        # succeeds sets the row right again.
        KustomerApp.objects.filter(pk=app.pk).update(state=KustomerApp.State.FAILED, last_error=str(exc)[:2000],
                                                     checked_at=timezone.now())
        logger.info("kustomer app of tenant %s failed: %s", app.tenant_id, exc)
        if isinstance(exc, KustomerTransientError):
            raise
    else:
        KustomerApp.objects.filter(pk=app.pk).update(
            app_name=wanted, registered_versions=sorted({v.version for v in versions}, key=rules.version_key),
            installed_version=installed.version if installed else "", state=KustomerApp.State.IDLE,
            last_error="", checked_at=timezone.now(), definition={}, install_requested=False,
            registered_fingerprint=fingerprint,
        )
    finally:
        client.close()
    app.refresh_from_db()
    return app


@dataclass(frozen=True)
class KustomerAppStatus:
    """What the connection page shows about the app."""

    app: KustomerApp | None
    product_version: str
    state: rules.AppInstallState
    latest_registered: str
    # The definition this portal would register now differs from the one it registered
    # at this same version (e.g. PORTAL_PUBLIC_URL moved): only a new version can carry it.
    definition_changed: bool = False

    @property
    def installed_version(self) -> str:
        return self.app.installed_version if self.app else ""


def kustomer_app_status(*, tenant: Tenant) -> KustomerAppStatus:
    app = KustomerApp.objects.filter(tenant=tenant).first()
    registered = list(app.registered_versions) if app else []
    state = rules.decide_app_install_state(
        product_version=settings.KUSTOMER_APP_VERSION, registered_versions=registered,
        installed_version=app.installed_version if app else None,
    )
    latest = max(registered, key=rules.version_key) if registered else ""
    changed = False
    connection = kustomer_connection_get(tenant=tenant)
    if app and app.registered_fingerprint and connection and state is not rules.AppInstallState.NEW_VERSION:
        try:
            current = kustomer_app_definition(tenant=tenant, connection=connection)
        except ApplicationError:
            current = None
        changed = current is not None and definition_fingerprint(current) != app.registered_fingerprint
    return KustomerAppStatus(app=app, product_version=settings.KUSTOMER_APP_VERSION, state=state,
                             latest_registered=latest, definition_changed=changed)
