from django.apps import AppConfig


class StatusmappingConfig(AppConfig):
    name = "statusmapping"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from statusmapping import receivers  # noqa: F401  (connects the signal receivers)
