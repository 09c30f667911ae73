from django.apps import AppConfig


class CustomfieldsConfig(AppConfig):
    name = "customfields"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from customfields import receivers  # noqa: F401  (connects the signal receivers)
