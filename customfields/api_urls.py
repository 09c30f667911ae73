"""API routes of customfields (mounted under /api/v1/)."""
from django.urls import path

from customfields import apis

urlpatterns = [
    path("custom-fields", apis.CustomFieldListCreateApi.as_view(), name="api-custom-fields"),
    path("custom-fields/<int:id>", apis.CustomFieldDetailApi.as_view(), name="api-custom-field"),
    path("custom-fields/<int:id>/retry", apis.CustomFieldRetryApi.as_view(), name="api-custom-field-retry"),
    path("custom-fields/<int:id>/backfills", apis.CustomFieldBackfillApi.as_view(), name="api-custom-field-backfills"),
    path("backfills/<int:id>", apis.BackfillDetailApi.as_view(), name="api-backfill"),
    path("backfills/<int:id>/cancel", apis.BackfillCancelApi.as_view(), name="api-backfill-cancel"),
]
