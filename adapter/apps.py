from django.apps import AppConfig


class AdapterConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "adapter"
    verbose_name = "Agent adapter (Kustomer app widget)"
