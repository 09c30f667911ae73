from django.core.management.base import BaseCommand

from integrations.services import kustomer_connection_rotate_encryption


class Command(BaseCommand):
    help = "Re-encrypt every stored secret with the first key of FIELD_ENCRYPTION_KEYS."

    def handle(self, *args, **options):
        count = kustomer_connection_rotate_encryption()
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {count} Kustomer API key(s) with the newest key."))
