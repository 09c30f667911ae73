"""The product's URLs plus the benchmark's bare reference view."""
from django.urls import path

from bench import views
from portal.urls import handler500  # noqa: F401 - Django looks it up in the root URLconf
from portal.urls import urlpatterns as product_urlpatterns

urlpatterns = [path("bench/bare-update", views.bare_update, name="bench-bare-update"), *product_urlpatterns]
