"""API routes of the conversation sync (mounted under /api/v1/)."""
from django.urls import path

from conversations import apis

urlpatterns = [
    path("events", apis.EventCreateApi.as_view(), name="conversations-event-create"),
    # <path:...>: an event stored before ids were checked may hold "/" and is still
    # reachable; retry first, or its URL would read as an id ending in "/retry".
    path("events/<path:id>/retry", apis.EventRetryApi.as_view(), name="conversations-event-retry"),
    path("events/<path:id>", apis.EventDetailApi.as_view(), name="conversations-event-detail"),
    path("call-logging-policies", apis.CallLoggingPoliciesApi.as_view(), name="conversations-call-logging-policies"),
    path("click-to-call", apis.ClickToCallApi.as_view(), name="conversations-click-to-call"),
    path("sync-settings", apis.SyncSettingsApi.as_view(), name="conversations-sync-settings"),
]
