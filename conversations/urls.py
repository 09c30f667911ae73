"""Portal pages of the conversation sync (mounted at the site root)."""
app_name = "conversations"

urlpatterns: list = []
