from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from tenants.models import ApiKey, Tenant, User


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "default_region", "created_at")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "email", "role", "tenant", "is_active", "last_login")
    list_filter = ("role", "tenant", "is_active")
    fieldsets = BaseUserAdmin.fieldsets + (("Tenant", {"fields": ("role", "tenant")}),)
    add_fieldsets = BaseUserAdmin.add_fieldsets + (("Tenant", {"fields": ("role", "tenant")}),)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are created in the portal, where the plain key is shown once; here they can
    only be inspected and revoked. The hash is never displayed."""

    list_display = ("name", "tenant", "prefix", "scopes", "created_at", "last_used_at", "revoked_at")
    list_filter = ("tenant",)
    fields = ("tenant", "name", "prefix", "scopes", "created_by", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("tenant", "prefix", "created_by", "created_at", "last_used_at")

    def has_add_permission(self, request) -> bool:
        return False
