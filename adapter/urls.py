"""The agent adapter (mounted at the site root): the page and its agent-bound API."""
from django.urls import path

from adapter import apis, views

app_name = "adapter"

urlpatterns = [
    path("adapter/", views.adapter_page, name="page"),
    path("adapter/sign-in/", views.sign_in, name="sign_in"),
    path("adapter/sign-out/", views.sign_out, name="sign_out"),
    path("adapter/api/state", apis.AdapterStateApi.as_view(), name="api_state"),
    path("adapter/api/agent-status/events", apis.AdapterAgentStatusEventApi.as_view(), name="api_status_event"),
    path("adapter/api/heartbeat", apis.AdapterHeartbeatTokenApi.as_view(), name="api_heartbeat"),
    path("adapter/api/click-to-call", apis.AdapterClickToCallApi.as_view(), name="api_click_to_call"),
]
