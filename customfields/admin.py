from django.contrib import admin

from customfields.models import CustomField


@admin.register(CustomField)
class CustomFieldAdmin(admin.ModelAdmin):
    """Read-only view for support: changes go through the portal page or the API, which
    talk to Kustomer; editing a row here would make it disagree with Kustomer."""

    list_display = ["display_name", "tenant", "klass", "attribute_name", "state", "created_at", "deleted_at"]
    list_filter = ["state", "klass", "kind"]
    search_fields = ["attribute_name", "display_name", "tenant__slug"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
