"""Template context: the tenant being acted on and the navigation.

The navigation mirrors the source document's paths (SPEC §2, §3): Settings › Developer
settings › Custom fields for Account and Record, › Agent status, › Agent status
inheritance › Status mapping › Set and manage, › Kustomer connection; support staff also
see Support › Tenants (with the status inheritance availability switch).
"""
from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from tenants.selectors import portal_tenant

# (section, label, url name, depth, also lit for these url names). An entry whose page
# does not exist is left out, so each app adds its page by defining the url name. Depth
# indents an entry under the one above it, the way the source nests its settings; the
# full path of the source shows as the entry's tooltip.
NAVIGATION = [
    (_("Home"), _("Dashboard"), "home", 0, ()),
    (_("Settings › Developer settings"), _("Kustomer connection"), "integrations:connection", 0, ()),
    (_("Settings › Developer settings"), _("Custom fields for Account and Record"), "customfields:list", 0, ()),
    (_("Settings › Developer settings"), _("Backfill past sessions"), "customfields:backfill", 1, ()),
    (_("Settings › Developer settings"), _("Agent status"), "statusmapping:settings", 0, ()),
    (_("Settings › Developer settings"), _("Status mapping › Set and manage"), "statusmapping:mapping", 1, ()),
    (_("Settings › Developer settings"), _("Call logging policies"), "conversations:call_logging_policies", 0, ()),
    (_("Settings › Developer settings"), _("Sync settings"), "conversations:sync_settings", 0, ()),
    (_("Settings › Developer settings"), _("API keys"), "tenants:api_keys", 0, ()),
    (_("Settings › Developer settings"), _("CCAI Platform session events"), "ccaip:settings", 0, ()),
    (_("Settings"), _("Users"), "tenants:users", 0, ()),
    (_("Operations"), _("Agents"), "statusmapping:agents", 0, ("statusmapping:agent_history",)),
    (_("Operations"), _("Sync events"), "conversations:events", 0, ("conversations:event_detail",)),
    (_("Operations"), _("Needs a customer"), "conversations:needs_customer", 1, ()),
    (_("Operations"), _("Kustomer webhooks"), "conversations:webhook_deliveries", 1, ()),
]
# The source document's own path of a page, where the short label abbreviates it.
SOURCE_PATHS = {
    "integrations:connection": _("Settings › Developer settings › Kustomer connection"),
    "customfields:list": _("Settings › Developer settings › Custom fields for Account and Record"),
    "statusmapping:settings": _("Settings › Developer settings › Agent status"),
    "statusmapping:mapping": _("Settings › Developer settings › Agent status inheritance › Status mapping › Set and manage"),
    "tenants:support_tenants": _("Support › Tenants"),
    "statusmapping:support_tenants": _("Support › Tenants › Status inheritance (availability switch)"),
}
SUPPORT_NAVIGATION = [
    (_("Support"), _("Tenants"), "tenants:support_tenants", 0, ()),
    (_("Support"), _("Status inheritance"), "statusmapping:support_tenants", 1, ()),
]


def _entries(items, current: str) -> list[dict]:
    entries = []
    for section, label, name, depth, also in items:
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        entries.append({
            "section": section, "label": label, "url": url, "name": name, "depth": depth,
            "active": current == name or current in also, "path": SOURCE_PATHS.get(name, ""),
        })
    return entries


def _current_url_name(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return ""
    return match.view_name or ""


def tenant(request):
    user = getattr(request, "user", None)
    if not (user and user.is_authenticated):
        return {}
    current = _current_url_name(request)
    acting_on = portal_tenant(request)
    # Support staff see a tenant's pages once they opened one (Support › Tenants › Open);
    # before that those pages would only send them back to pick a tenant.
    nav = _entries(NAVIGATION, current) if acting_on is not None else []
    if getattr(user, "is_support", False):
        nav += _entries(SUPPORT_NAVIGATION, current)
    return {"current_tenant": acting_on, "navigation": nav}
