"""Read-only views of the sync's rows for platform operators (no secrets: the webhook
token is not shown anywhere)."""
from django.contrib import admin

from core.admin import ReadOnlyAdmin
from conversations.models import CustomerLink, Event, EventAction, SyncedConversation


class EventActionInline(admin.TabularInline):
    model = EventAction
    extra = 0
    can_delete = False
    fields = ("index", "kind", "rule", "state", "attempts", "error", "result", "done_at")
    readonly_fields = fields


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("event_id", "tenant", "type", "state", "attempts", "occurred_at", "received_at")
    list_filter = ("state", "type", "tenant")
    search_fields = ("event_id", "session_id", "customer_key", "kustomer_conversation_id")
    inlines = [EventActionInline]
    exclude = ("raw_body",)


@admin.register(CustomerLink)
class CustomerLinkAdmin(ReadOnlyAdmin):
    list_display = ("customer_key", "tenant", "kustomer_customer_id", "created_by_us", "created_at")
    search_fields = ("customer_key", "kustomer_customer_id")


@admin.register(SyncedConversation)
class SyncedConversationAdmin(ReadOnlyAdmin):
    list_display = ("kustomer_conversation_id", "tenant", "kind", "channel", "menu", "status", "status_synced_at")
    list_filter = ("kind", "status", "tenant")
    search_fields = ("kustomer_conversation_id", "external_id", "founding_session_id")
