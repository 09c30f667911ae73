from django.urls import path

from integrations import views

app_name = "integrations"

urlpatterns = [
    path("settings/kustomer/", views.connection, name="connection"),
    path("settings/kustomer/verify/", views.connection_verify, name="connection_verify"),
    path("settings/kustomer/app/", views.kustomer_app_action, name="kustomer_app"),
]
