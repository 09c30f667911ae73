"""The `/v1/` route table: (method, path pattern) -> handler.

A small regex router rather than Werkzeug's `Map`, because Kustomer puts lookups in the
last path segment (`/v1/customers/email=a@b.c`), and those must win over
`/v1/customers/{id}` explicitly, in the order listed here.
"""
from __future__ import annotations

import re
from typing import Callable

from . import api_directory as directory
from . import api_records as records
from . import api_timeline as timeline
from . import catalog, search
from .apps_platform import API_ROUTES as APPS_ROUTES

Handler = Callable[..., tuple]

_ROUTES_SPEC: list[tuple[str, str, Handler]] = [
    *search.ROUTES,  # POST /v1/customers/search
    *catalog.ROUTES,  # tags, shortcuts, message by externalid
    # customers
    ("POST", r"/v1/customers", records.customer_create),
    ("GET", r"/v1/customers/(?P<lookup>phone|email|externalId)=(?P<value>[^/]+)", records.customer_lookup),
    ("GET", r"/v1/customers/(?P<id>[^/=]+)", records.customer_get),
    ("PUT", r"/v1/customers/(?P<id>[^/=]+)", records.customer_update),
    ("PATCH", r"/v1/customers/(?P<id>[^/=]+)", records.customer_update),
    ("GET", r"/v1/customers/(?P<id>[^/=]+)/conversations", records.customer_conversations),
    ("POST", r"/v1/customers/(?P<id>[^/=]+)/conversations", records.conversation_create),
    # conversations, messages, notes
    ("GET", r"/v1/conversations/externalId=(?P<value>[^/]+)", records.conversation_by_external_id),
    ("GET", r"/v1/conversations/(?P<id>[^/=]+)", records.conversation_get),
    ("PUT", r"/v1/conversations/(?P<id>[^/=]+)", records.conversation_update),
    ("PATCH", r"/v1/conversations/(?P<id>[^/=]+)", records.conversation_update),
    ("GET", r"/v1/conversations/(?P<id>[^/=]+)/messages", timeline.conversation_messages),
    ("POST", r"/v1/conversations/(?P<id>[^/=]+)/messages", timeline.message_create),
    ("GET", r"/v1/messages/(?P<id>[^/=]+)", timeline.message_get),
    ("PUT", r"/v1/messages/(?P<id>[^/=]+)", timeline.message_update),
    ("PATCH", r"/v1/messages/(?P<id>[^/=]+)", timeline.message_update),
    ("GET", r"/v1/conversations/(?P<id>[^/=]+)/notes", timeline.conversation_notes),
    ("POST", r"/v1/conversations/(?P<id>[^/=]+)/notes", timeline.note_create),
    # attachments, metadata
    ("POST", r"/v1/attachments", timeline.attachment_create),
    ("GET", r"/v1/attachments/(?P<id>[^/]+)", timeline.attachment_get),
    ("GET", r"/v1/metadata/(?P<resource>[^/]+)", records.metadata_get),
    ("PUT", r"/v1/metadata/(?P<resource>[^/]+)", records.metadata_update),
    # users and teams
    ("GET", r"/v1/users", directory.users_list),
    ("GET", r"/v1/users/current", directory.user_current),
    ("GET", r"/v1/users/(?P<id>[^/]+)", directory.user_get),
    ("GET", r"/v1/users/(?P<id>[^/]+)/teams", directory.user_teams),
    ("GET", r"/v1/teams", directory.teams_list),
    ("GET", r"/v1/teams/(?P<id>[^/]+)", directory.team_get),
    # routing
    ("GET", r"/v1/routing/statuses", directory.statuses_list),
    ("GET", r"/v1/routing/statuses/(?P<id>[^/]+)", directory.status_get),
    ("GET", r"/v1/routing/users/(?P<id>[^/]+)/work-sessions", directory.user_work_sessions),
    ("GET", r"/v1/routing/work-sessions", directory.work_sessions_list),
    ("GET", r"/v1/routing/work-sessions/(?P<id>[^/]+)", directory.work_session_get),
    ("PUT", r"/v1/routing/work-sessions/(?P<id>[^/]+)", directory.work_session_update),
    ("GET", r"/v1/routing/settings", directory.routing_settings_list),
    ("GET", r"/v1/routing/settings/(?P<id>[^/]+)", directory.routing_settings_get),
    ("GET", r"/v1/routing/queues", directory.queues_list),
    ("GET", r"/v1/routing/queues/(?P<id>[^/]+)", directory.queue_get),
    # outbound webhooks
    ("POST", r"/v1/outbound-webhooks", directory.webhook_create),
    ("GET", r"/v1/outbound-webhooks", directory.webhooks_list),
    ("GET", r"/v1/outbound-webhooks/(?P<id>[^/]+)", directory.webhook_get),
    ("DELETE", r"/v1/outbound-webhooks/(?P<id>[^/]+)", directory.webhook_delete),
    *APPS_ROUTES,
]

ROUTES = [(method, re.compile(pattern + r"/?"), handler) for method, pattern, handler in _ROUTES_SPEC]


def resolve(method: str, path: str) -> tuple[Handler, dict[str, str]] | None:
    """The handler and path parameters for a request, or None (Kustomer answers 404)."""
    for route_method, pattern, handler in ROUTES:
        if route_method != method:
            continue
        match = pattern.fullmatch(path)
        if match:
            return handler, match.groupdict()
    return None
