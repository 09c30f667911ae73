"""Template context: the tenant being acted on and the navigation."""
from __future__ import annotations

from django.urls import NoReverseMatch, reverse

from tenants.selectors import portal_tenant

# (section, label, url name). An entry whose page does not exist is left out, so each
# app adds its page by defining the url name.
NAVIGATION = [
    ("Home", "Dashboard", "home"),
    ("Developer settings", "Kustomer connection", "integrations:connection"),
    ("Developer settings", "Custom fields for Account and Record", "customfields:list"),
    ("Developer settings", "Agent status", "statusmapping:settings"),
    ("Developer settings", "Status mapping › Set and manage", "statusmapping:mapping"),
    ("Developer settings", "Agents", "statusmapping:agents"),
    ("Developer settings", "API keys", "tenants:api_keys"),
    ("Sync", "Events", "conversations:events"),
]
SUPPORT_NAVIGATION = [("Support", "Tenants", "tenants:support_tenants")]


def _entries(items):
    entries = []
    for section, label, name in items:
        try:
            entries.append({"section": section, "label": label, "url": reverse(name), "name": name})
        except NoReverseMatch:
            continue
    return entries


def tenant(request):
    user = getattr(request, "user", None)
    if not (user and user.is_authenticated):
        return {}
    nav = _entries(NAVIGATION)
    if getattr(user, "is_support", False):
        nav += _entries(SUPPORT_NAVIGATION)
    return {"current_tenant": portal_tenant(request), "navigation": nav}
