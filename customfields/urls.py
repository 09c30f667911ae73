"""Portal pages of customfields (mounted at the site root)."""
app_name = "customfields"

urlpatterns: list = []
