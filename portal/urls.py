from django.utils.translation import gettext as _
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import JsonResponse
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from portal import views
from portal.metrics import metrics_view

api_v1 = [
    path("", include("integrations.api_urls")),
    path("", include("customfields.api_urls")),
    path("", include("statusmapping.api_urls")),
    path("", include("conversations.api_urls")),
    path("", include("ccaip.api_urls")),
]

@csrf_exempt  # a 404 changes nothing; without this, a POST to a wrong URL would get CSRF's HTML 403
def api_not_found(request, *args, **kwargs):
    """An API or webhook URL that matches no route still answers in the contract's
    error shape (not Django's HTML 404 page)."""
    return JsonResponse({"detail": _("Not found."), "errors": {}}, status=404)


def server_error(request, *args, **kwargs):
    """500 in the contract's shape on API and webhook URLs; the HTML page elsewhere."""
    if request.path.startswith(("/api/", "/webhooks/")):
        return JsonResponse({"detail": _("Internal server error."), "errors": {}}, status=500)
    from django.views.defaults import server_error as html_server_error

    return html_server_error(request)


handler500 = server_error

urlpatterns = [
    # First: machine clients call these hundreds of times a second, and Django tries
    # the patterns in order (the pages' includes below all start with "").
    path("api/v1/", include(api_v1)),
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("language/", views.language_set, name="language"),
    path("metrics", metrics_view, name="metrics"),
    path("login/", views.LogInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("", include("tenants.urls")),
    path("", include("integrations.urls")),
    path("", include("customfields.urls")),
    path("", include("statusmapping.urls")),
    path("", include("conversations.urls")),
    path("", include("adapter.urls")),
    path("", include("ccaip.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("webhooks/", include("conversations.webhook_urls")),
    re_path(r"^(api|webhooks)/", api_not_found),
]
