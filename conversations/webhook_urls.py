"""Kustomer → us webhook routes (mounted under /webhooks/)."""
from django.urls import path

from conversations import webhooks

urlpatterns = [
    path("kustomer/<uuid:public_id>", webhooks.kustomer_webhook, name="kustomer-webhook"),
]
