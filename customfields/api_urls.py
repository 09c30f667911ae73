"""API routes of customfields (mounted under /api/v1/)."""
urlpatterns: list = []
