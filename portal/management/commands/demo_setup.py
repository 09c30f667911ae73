"""Create (or refresh) the demo tenant, its people and its Kustomer connection.

Idempotent: run it as often as you like; it prints the log-ins every time.
"""
from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from tenants import services as tenant_services
from tenants.models import ApiKey, ApiKeyScope, Tenant, User

DEMO_TENANT_SLUG = "demo"
DEMO_ADMIN = ("demo-admin", "Demo-admin-2026!")
DEMO_SUPPORT = ("demo-support", "Demo-support-2026!")
DEMO_KEY_NAME = "Demo telephony"


class Command(BaseCommand):
    help = "Create the demo tenant, a tenant admin, a support user and a connection to the Kustomer sandbox."

    def add_arguments(self, parser):
        parser.add_argument("--sandbox-url", default=settings.KUSTOMER_SANDBOX_URL)
        parser.add_argument("--sandbox-api-key", default="sandbox-demo-key")
        parser.add_argument("--no-connect", action="store_true", help="Do not connect the tenant to the sandbox.")

    def handle(self, *args, sandbox_url: str, sandbox_api_key: str, no_connect: bool, **options):
        with transaction.atomic():
            tenant = Tenant.objects.filter(slug=DEMO_TENANT_SLUG).first() or tenant_services.tenant_create(
                name="Demo Contact Center", slug=DEMO_TENANT_SLUG, default_region="US"
            )
            admin = self._user(DEMO_ADMIN, role=User.Role.TENANT_ADMIN, tenant=tenant, email="admin@demo.example.com")
            support = self._user(DEMO_SUPPORT, role=User.Role.SUPPORT, tenant=None, email="support@platform.example.com")
            # A fresh key each run: the plain text of an older one cannot be shown again.
            ApiKey.objects.filter(tenant=tenant, name=DEMO_KEY_NAME, revoked_at__isnull=True).delete()
            _, plain_key = tenant_services.api_key_create(
                tenant=tenant, name=DEMO_KEY_NAME, scopes=list(ApiKeyScope.values), created_by=admin
            )
        if not no_connect:
            from integrations.services import kustomer_connection_save

            kustomer_connection_save(tenant=tenant, base_url=sandbox_url, api_key=sandbox_api_key)
            self._status_inheritance(tenant)
            self._kustomer_app(tenant)

        self.stdout.write(self.style.SUCCESS("Demo tenant ready: " + tenant.name))
        self.stdout.write(f"  Tenant admin  : {admin.username} / {DEMO_ADMIN[1]}")
        self.stdout.write(f"  Support staff : {support.username} / {DEMO_SUPPORT[1]}")
        key_file = _keep_demo_key(plain_key)
        self.stdout.write(f"  API key (all scopes, shown once): {plain_key}")
        self.stdout.write(f"  (kept for `make simulate` in {key_file}, readable by you only)")

    def _kustomer_app(self, tenant: Tenant) -> None:
        """The tenant's Kustomer app installed in the sandbox org (R-X4): the sandbox's
        agent desktop then shows the adapter as the app's widget."""
        from core.errors import ApplicationError
        from integrations import app_services, services
        from integrations.kustomer.errors import KustomerError

        try:
            services.kustomer_connection_verify(connection_id=tenant.kustomer_connection.pk)
            app = app_services.kustomer_app_request(tenant=tenant, install=True, enqueue=False)
            app = app_services.kustomer_app_sync(app_id=app.pk)
        except (ApplicationError, KustomerError) as exc:
            self.stderr.write(f"Could not install the Kustomer app yet ({exc}); press Install on the connection page.")
            return
        self.stdout.write(f"  Kustomer app  : {app.app_name} v{app.installed_version or '?'} installed in the sandbox org")

    def _status_inheritance(self, tenant: Tenant) -> None:
        """The sandbox's demo agents as CC agents, inheritance made available and on, and
        Kustomer statuses mapped to the CC statuses of the same name (the rest is left
        for the admin, who sees the portal's warning about them)."""
        from integrations.kustomer.errors import KustomerError
        from statusmapping import services as status_services
        from statusmapping.models import Agent, KustomerStatus

        for number, name in enumerate(["One", "Two", "Three", "Four", "Five"], start=1):
            email = f"agent{number}@example.com"
            if not Agent.objects.filter(tenant=tenant, email=email).exists():
                status_services.agent_create(tenant=tenant, email=email, name=f"Agent {name}")
        status_services.status_inheritance_availability_set(tenant=tenant, available=True, changed_by="demo_setup")
        status_services.status_inheritance_update(tenant=tenant, enabled=True)
        try:
            status_services.kustomer_statuses_refresh(tenant_id=tenant.pk)
        except KustomerError as exc:
            self.stderr.write(f"Could not read the sandbox's statuses yet ({exc}); refresh them on the mapping page.")
            return
        status_services.cc_status_ensure_defaults(tenant=tenant)
        cc_names = {name.lower(): name for name in tenant.cc_statuses.values_list("name", flat=True)}
        mapping = {
            status.kustomer_id: cc_names.get(status.name.lower())
            for status in KustomerStatus.objects.filter(tenant=tenant, removed_at__isnull=True)
        }
        status_services.status_mapping_save(tenant=tenant, mapping=mapping)

    def _user(self, credentials, *, role, tenant, email) -> User:
        username, password = credentials
        user = User.objects.filter(username=username).first()
        if user is None:
            return tenant_services.user_create(username=username, password=password, role=role, tenant=tenant, email=email)
        user.set_password(password)
        user.role, user.tenant, user.is_active = role, tenant, True
        user.save()
        return user


def _keep_demo_key(plain_key: str) -> Path:
    """The demo key in var/demo-api-key (mode 600), where `make simulate` reads it."""
    path = Path(settings.VAR_DIR) / "demo-api-key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(plain_key + "\n")
    os.chmod(path, 0o600)  # an older file keeps its mode through O_CREAT
    return path
