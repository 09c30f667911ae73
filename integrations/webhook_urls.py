"""Kustomer → us webhook routes (mounted under /webhooks/)."""
urlpatterns: list = []
