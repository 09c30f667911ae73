"""Template helpers of every page: relative times in words, links that keep the
current filters, pretty JSON."""
from __future__ import annotations

import json
from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def ago(value: datetime | None) -> str:
    """'just now' under a minute, else '3 minutes ago', '2 hours, 5 minutes ago'."""
    if not value:
        return ""
    seconds = (timezone.now() - value).total_seconds()
    if seconds < 60:
        return _("just now") if seconds > -60 else _("in %(time)s") % {"time": timesince(timezone.now(), value)}
    return _("%(time)s ago") % {"time": timesince(value)}


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current query string with some parameters changed ('' or None drops one);
    a change of anything but the page goes back to page 1."""
    params = context["request"].GET.copy()
    if "page" not in changes:
        params.pop("page", None)
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.filter
def pretty_json(value) -> str:
    """A JSON value (or JSON text) indented for reading; other text as it is."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)
