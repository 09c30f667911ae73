from django.apps import AppConfig


class CustomfieldsConfig(AppConfig):
    name = "customfields"
    default_auto_field = "django.db.models.BigAutoField"
