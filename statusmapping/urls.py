"""Portal pages of statusmapping (mounted at the site root)."""
app_name = "statusmapping"

urlpatterns: list = []
