"""Read-only views for platform operators (the password digest is never shown)."""
from django.contrib import admin

from ccaip.models import Delivery, Endpoint, Session
from core.admin import ReadOnlyAdmin


@admin.register(Endpoint)
class EndpointAdmin(ReadOnlyAdmin):
    list_display = ("tenant", "username", "public_id", "password_set_at", "last_delivery_at")
    fields = ("tenant", "username", "public_id", "password_set_at", "agent_emails", "last_delivery_at")
    readonly_fields = fields


@admin.register(Session)
class SessionAdmin(ReadOnlyAdmin):
    list_display = ("call_id", "channel", "tenant", "waiting", "problem", "updated_at")
    list_filter = ("channel", "tenant")
    search_fields = ("call_id",)


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ("event_id", "tenant", "session", "timestamp_ms", "received_at", "repeats")
    search_fields = ("event_id", "session__call_id")
