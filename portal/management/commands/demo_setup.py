"""Create (or refresh) the demo tenant, its people and its Kustomer connection.

Idempotent: run it as often as you like; it prints the log-ins every time.
"""
from __future__ import annotations

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

        self.stdout.write(self.style.SUCCESS("Demo tenant ready: " + tenant.name))
        self.stdout.write(f"  Tenant admin  : {admin.username} / {DEMO_ADMIN[1]}")
        self.stdout.write(f"  Support staff : {support.username} / {DEMO_SUPPORT[1]}")
        self.stdout.write(f"  API key (all scopes, shown once): {plain_key}")

    def _user(self, credentials, *, role, tenant, email) -> User:
        username, password = credentials
        user = User.objects.filter(username=username).first()
        if user is None:
            return tenant_services.user_create(username=username, password=password, role=role, tenant=tenant, email=email)
        user.set_password(password)
        user.role, user.tenant, user.is_active = role, tenant, True
        user.save()
        return user
