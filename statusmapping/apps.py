from django.apps import AppConfig


class StatusmappingConfig(AppConfig):
    name = "statusmapping"
    default_auto_field = "django.db.models.BigAutoField"
