from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from portal import views

api_v1 = [
    path("", include("integrations.api_urls")),
    path("", include("customfields.api_urls")),
    path("", include("statusmapping.api_urls")),
    path("", include("conversations.api_urls")),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("", include("tenants.urls")),
    path("", include("integrations.urls")),
    path("", include("customfields.urls")),
    path("", include("statusmapping.urls")),
    path("", include("conversations.urls")),
    path("", include("adapter.urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("webhooks/", include("integrations.webhook_urls")),
]
