"""Portal pages of the CCAI Platform endpoint (mounted at the site root)."""
from django.urls import path

from ccaip import views

app_name = "ccaip"

urlpatterns = [
    path("settings/ccai-platform/", views.settings_page, name="settings"),
    path("settings/ccai-platform/credentials/", views.credentials_set, name="credentials"),
]
