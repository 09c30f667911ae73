"""API routes of the conversation sync (mounted under /api/v1/)."""
urlpatterns: list = []
