from django.urls import path
from django.views.generic import TemplateView

from tenants import views

app_name = "tenants"

urlpatterns = [
    path("support/tenants/", views.support_tenants, name="support_tenants"),
    path("support/tenants/<slug:slug>/open/", views.support_tenant_open, name="support_tenant_open"),
    path("settings/users/", views.users, name="users"),
    path("settings/users/<int:user_id>/", views.user_change, name="user_change"),
    path("settings/api-keys/", views.api_keys, name="api_keys"),
    path("settings/api-keys/<int:key_id>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    # One-time links of invitations and "Forgot password?" (Django's token generator).
    path("invitation/<uidb64>/<token>/", views.InvitationAcceptView.as_view(), name="invitation_accept"),
    path("password/forgot/", views.PasswordForgotView.as_view(), name="password_forgot"),
    path("password/forgot/sent/", TemplateView.as_view(template_name="tenants/password_forgot_sent.html"),
         name="password_forgot_sent"),
]
