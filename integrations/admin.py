from django.contrib import admin

from integrations.models import KustomerConnection


@admin.register(KustomerConnection)
class KustomerConnectionAdmin(admin.ModelAdmin):
    """The API key is entered in the portal only; it never appears here."""

    list_display = ("tenant", "base_url", "verify_state", "verified_at", "rate_limit_per_minute")
    list_filter = ("verify_state",)
    exclude = ("api_key_encrypted",)
    readonly_fields = ("api_key_set_at", "api_key_base_url", "verify_state", "verified_at", "kustomer_user_id", "kustomer_user_name", "kustomer_org_id", "last_error", "last_error_at")

    def has_add_permission(self, request) -> bool:
        return False
