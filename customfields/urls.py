"""Portal pages of customfields (mounted at the site root)."""
from django.urls import path

from customfields import views

app_name = "customfields"

urlpatterns = [
    path("settings/custom-fields/", views.custom_field_list, name="list"),
    path("settings/custom-fields/create/<slug:key>/", views.custom_field_create, name="create"),
    path("settings/custom-fields/<int:field_id>/retry/", views.custom_field_retry, name="retry"),
    path("settings/custom-fields/<int:field_id>/delete/", views.custom_field_delete, name="delete"),
    path("settings/custom-fields/backfill/", views.backfill, name="backfill"),
    path("settings/custom-fields/backfill/<int:job_id>/cancel/", views.backfill_cancel, name="backfill_cancel"),
]
