"""Mounted under /api/v1/ by portal/urls.py."""
from django.urls import path

from ccaip import apis

urlpatterns = [
    path("ccai-platform/<uuid:endpoint_id>/calls", apis.SessionEventsApi.as_view(), name="ccaip-calls"),
    path("ccai-platform/<uuid:endpoint_id>/chats", apis.ChatSessionEventsApi.as_view(), name="ccaip-chats"),
]
