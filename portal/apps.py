from django.apps import AppConfig


class PortalConfig(AppConfig):
    """Cross-cutting pieces: static files, the stack runner and demo set-up commands."""

    name = "portal"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from portal import checks  # noqa: F401 - registers the system checks
