"""Portal pages of the conversation sync (mounted at the site root)."""
from django.urls import path

from conversations import views

app_name = "conversations"

urlpatterns = [
    path("sync/events/", views.events, name="events"),
    path("sync/needs-customer/", views.needs_customer, name="needs_customer"),
    path("sync/events/<int:pk>/", views.event_detail, name="event_detail"),
    path("sync/events/<int:pk>/retry/", views.event_retry, name="event_retry"),
    path("settings/call-logging-policies/", views.call_logging_policies, name="call_logging_policies"),
    path("settings/sync-settings/", views.sync_settings, name="sync_settings"),
    path("sync/webhooks/", views.webhook_deliveries, name="webhook_deliveries"),
    path("sync/webhooks/<int:pk>/retry/", views.webhook_delivery_retry, name="webhook_delivery_retry"),
]
