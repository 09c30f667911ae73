"""API routes of the conversation sync (mounted under /api/v1/)."""
from django.urls import path

from conversations import apis

urlpatterns = [
    path("events", apis.EventCreateApi.as_view(), name="conversations-event-create"),
    path("events/<str:id>", apis.EventDetailApi.as_view(), name="conversations-event-detail"),
    path("events/<str:id>/retry", apis.EventRetryApi.as_view(), name="conversations-event-retry"),
    path("click-to-call", apis.ClickToCallApi.as_view(), name="conversations-click-to-call"),
]
