from django.apps import AppConfig


class CcaipConfig(AppConfig):
    """CCAI Platform's external session events in, the product's own events out: an
    inbound endpoint per tenant (basic auth), each delivery stored once, each session's
    state progression translated into events of the product's inbox (SPEC §4 applies
    unchanged)."""

    name = "ccaip"
    verbose_name = "CCAI Platform session events"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from ccaip import schema  # noqa: F401  (registers the OpenAPI auth scheme)
