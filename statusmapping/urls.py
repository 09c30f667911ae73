"""Portal pages of statusmapping (mounted at the site root)."""
from django.urls import path

from statusmapping import views

app_name = "statusmapping"

urlpatterns = [
    path("settings/agent-status/", views.settings_page, name="settings"),
    path("settings/agent-status/two-way-check/", views.two_way_check, name="two_way_check"),
    path("settings/status-mapping/", views.mapping_page, name="mapping"),
    path("settings/status-mapping/export/", views.mapping_export, name="mapping_export"),
    path("settings/status-mapping/import/", views.mapping_import, name="mapping_import"),
    path("settings/status-mapping/refresh/", views.kustomer_statuses_refresh, name="refresh"),
    path("settings/status-mapping/cc-statuses/", views.cc_status_create, name="cc_status_create"),
    path("settings/status-mapping/cc-statuses/<int:status_id>/", views.cc_status_edit, name="cc_status_edit"),
    path("agents/", views.agents_page, name="agents"),
    # By id, not email: any stored email (even one from before emails were checked)
    # makes a working link.
    path("agents/<int:agent_id>/edit/", views.agent_edit, name="agent_edit"),
    path("agents/<int:agent_id>/remove/", views.agent_remove, name="agent_remove"),
    path("agents/<int:agent_id>/history/", views.agent_history_page, name="agent_history"),
    path("support/status-inheritance/", views.support_tenants, name="support_tenants"),
    path("support/status-inheritance/<slug:slug>/", views.support_availability, name="support_availability"),
]
