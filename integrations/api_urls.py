"""API routes of the Kustomer integration (mounted under /api/v1/)."""
from django.urls import path

from integrations import apis

urlpatterns = [
    path("kustomer-connection", apis.KustomerConnectionApi.as_view(), name="api-kustomer-connection"),
]
