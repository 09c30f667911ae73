from django.urls import path

from tenants import views

app_name = "tenants"

urlpatterns = [
    path("support/tenants/", views.support_tenants, name="support_tenants"),
    path("support/tenants/<slug:slug>/open/", views.support_tenant_open, name="support_tenant_open"),
    path("settings/api-keys/", views.api_keys, name="api_keys"),
    path("settings/api-keys/<int:key_id>/revoke/", views.api_key_revoke, name="api_key_revoke"),
]
