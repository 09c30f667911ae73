"""Admin helpers every app's admin uses."""
from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows operators may look at but not add, change or delete (the services are the
    one place they change)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
