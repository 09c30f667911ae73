"""API routes of statusmapping (mounted under /api/v1/)."""
urlpatterns: list = []
