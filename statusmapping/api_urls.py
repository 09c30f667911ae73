"""API routes of statusmapping (mounted under /api/v1/)."""
from django.urls import path

from statusmapping import apis

urlpatterns = [
    path("agent-status/events", apis.AgentStatusEventApi.as_view(), name="api-agent-status-events"),
    path("adapter/heartbeat", apis.AdapterHeartbeatApi.as_view(), name="api-adapter-heartbeat"),
    path("status-inheritance", apis.StatusInheritanceApi.as_view(), name="api-status-inheritance"),
    path("status-inheritance/two-way-check", apis.TwoWayCheckApi.as_view(), name="api-status-inheritance-two-way-check"),
    path(
        "support/tenants/<slug:slug>/status-inheritance-availability",
        apis.SupportStatusInheritanceAvailabilityApi.as_view(),
        name="api-support-status-inheritance-availability",
    ),
    path("kustomer-statuses", apis.KustomerStatusListApi.as_view(), name="api-kustomer-statuses"),
    path("kustomer-statuses/refresh", apis.KustomerStatusRefreshApi.as_view(), name="api-kustomer-statuses-refresh"),
    path("status-mapping", apis.StatusMappingApi.as_view(), name="api-status-mapping"),
    path("status-mapping/export", apis.StatusMappingExportApi.as_view(), name="api-status-mapping-export"),
    path("status-mapping/import", apis.StatusMappingImportApi.as_view(), name="api-status-mapping-import"),
    path("status-mapping/dry-run", apis.StatusMappingDryRunApi.as_view(), name="api-status-mapping-dry-run"),
    path("cc-statuses", apis.CCStatusListApi.as_view(), name="api-cc-statuses"),
    path("agents", apis.AgentListApi.as_view(), name="api-agents"),
    # <path:...>: an agent stored before emails were checked may hold "/" and can still be
    # read and removed; the history first, or its URL would read as an email.
    path("agents/<path:email>/status-history", apis.AgentStatusHistoryApi.as_view(), name="api-agent-status-history"),
    path("agents/<path:email>", apis.AgentDetailApi.as_view(), name="api-agent"),
]
