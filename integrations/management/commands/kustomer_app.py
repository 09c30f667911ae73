"""`manage.py kustomer_app`: register the product's Kustomer app version with tenants' orgs (R-X4).

Run it after a deploy that changed KUSTOMER_APP_VERSION: every connected tenant's org is
offered the new version (admins upgrade in Kustomer: Manage Apps › Installed Apps ›
Attention required › Upgrade). `--install` also installs it where it is not installed.
"""
from django.core.management.base import BaseCommand, CommandError

from core.errors import ApplicationError
from integrations import app_services
from integrations.models import KustomerConnection


class Command(BaseCommand):
    help = "Register (and with --install, install) the product's Kustomer app version with each tenant's org."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", action="append", default=[], help="tenant slug (repeatable; default: every verified connection)")
        parser.add_argument("--install", action="store_true", help="also install the app where it is not installed")
        parser.add_argument("--check", action="store_true", help="only read the org's apps, register nothing")
        parser.add_argument("--queue", action="store_true", help="queue the work for the Celery workers instead of doing it now")

    def handle(self, *args, **options):
        connections = KustomerConnection.objects.select_related("tenant").filter(verify_state=KustomerConnection.VerifyState.OK)
        if options["tenant"]:
            connections = connections.filter(tenant__slug__in=options["tenant"])
        if not connections:
            raise CommandError("No verified Kustomer connection matches.")
        for connection in connections:
            tenant = connection.tenant
            try:
                app = app_services.kustomer_app_request(tenant=tenant, install=options["install"],
                                                        register=not options["check"], enqueue=options["queue"])
            except ApplicationError as exc:
                self.stderr.write(f"{tenant.slug}: {exc.message}")
                continue
            if options["queue"]:
                self.stdout.write(f"{tenant.slug}: queued")
                continue
            app = app_services.kustomer_app_sync(app_id=app.pk)
            status = app_services.kustomer_app_status(tenant=tenant)
            line = (f"{tenant.slug}: {app.app_name or '-'} installed {app.installed_version or 'no'}, "
                    f"registered {', '.join(app.registered_versions) or 'none'} -> {status.state.value}")
            if app.state == app.State.FAILED:
                self.stderr.write(f"{line} (failed: {app.last_error})")
            else:
                self.stdout.write(self.style.SUCCESS(line))
