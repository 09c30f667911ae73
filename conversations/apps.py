from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    """Conversation and contact sync (SPEC §4, §5): the event inbox, the rules that turn
    contact-center events into Kustomer actions, and the executor that applies them."""

    name = "conversations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from conversations import receivers  # noqa: F401  (connects the signal receivers)
