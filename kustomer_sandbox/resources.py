"""JSON:API rendering of sandbox records, in the shapes Kustomer answers with.

`{"data": {"type", "id", "attributes", "relationships", "links"}}`; lists add `meta`
{page, pageSize, total} and `links` {self, first, prev, next} with relative paths.
"""
from __future__ import annotations

import copy
from typing import Any, Callable
from urllib.parse import urlencode

from .errors import bad_param
from .store import Org

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


def _ref(kind: str, id_: str, collection: str) -> dict[str, Any]:
    return {"links": {"self": f"/v1/{collection}/{id_}"}, "data": {"type": kind, "id": id_}}


def _org_ref(org: Org) -> dict[str, Any]:
    return _ref("org", org.id, "orgs")


def _user_ref(user_id: str) -> dict[str, Any]:
    return _ref("user", user_id, "users")


def render_customer(org: Org, record: dict) -> dict[str, Any]:
    return {
        "type": "customer",
        "id": record["id"],
        "attributes": copy.deepcopy(record["attributes"]),
        "relationships": {
            "org": _org_ref(org),
            "messages": {"links": {"self": f"/v1/customers/{record['id']}/messages"}},
            "createdBy": _user_ref(record["createdBy"]),
            "modifiedBy": _user_ref(record["modifiedBy"]),
        },
        "links": {"self": f"/v1/customers/{record['id']}"},
    }


def render_conversation(org: Org, record: dict) -> dict[str, Any]:
    return {
        "type": "conversation",
        "id": record["id"],
        "attributes": copy.deepcopy(record["attributes"]),
        "relationships": {
            "org": _org_ref(org),
            "customer": _ref("customer", record["customer"], "customers"),
            "messages": {"links": {"self": f"/v1/conversations/{record['id']}/messages"}},
            "createdBy": _user_ref(record["createdBy"]),
            "modifiedBy": _user_ref(record["modifiedBy"]),
        },
        "links": {"self": f"/v1/conversations/{record['id']}"},
    }


def render_message(org: Org, record: dict) -> dict[str, Any]:
    return {
        "type": "message",
        "id": record["id"],
        "attributes": copy.deepcopy(record["attributes"]),
        "relationships": {
            "org": _org_ref(org),
            "createdBy": _user_ref(record["createdBy"]),
            "modifiedBy": _user_ref(record["modifiedBy"]),
            "customer": _ref("customer", record["customer"], "customers"),
            "conversation": _ref("conversation", record["conversation"], "conversations"),
            "attachments": {
                "links": {"self": f"/v1/messages/{record['id']}/attachments"},
                "data": [{"type": "attachment", "id": aid} for aid in record["attachments"]],
            },
        },
        # `related` points at the channel app's view of the message, as Kustomer's does.
        "links": {
            "self": f"/v1/messages/{record['id']}",
            "related": f"/v1/{record['attributes'].get('app', 'kustomer')}/messages/{record['id']}",
        },
    }


def render_note(org: Org, record: dict) -> dict[str, Any]:
    return {
        "type": "note",
        "id": record["id"],
        "attributes": copy.deepcopy(record["attributes"]),
        "relationships": {
            "org": _org_ref(org),
            "customer": _ref("customer", record["customer"], "customers"),
            "createdBy": _user_ref(record["createdBy"]),
            "modifiedBy": _user_ref(record["modifiedBy"]),
            "conversation": _ref("conversation", record["conversation"], "conversations"),
            "userMentions": {"data": []},
        },
        "links": {"self": f"/v1/notes/{record['id']}"},
    }


def render_attachment(org: Org, record: dict, base_url: str) -> dict[str, Any]:
    return {
        "id": record["id"],
        "type": "attachment",
        "attributes": copy.deepcopy(record["attributes"]),
        "relationships": {"org": {"data": {"id": org.id, "type": "org"}, "links": {"self": f"/v1/orgs/{org.id}"}}},
        "links": {
            "self": f"/v1/attachments/{record['id']}",
            "related": f"{base_url}/__uploads/{record['id']}",
        },
    }


def render_metadata(org: Org, resource: str) -> dict[str, Any]:
    return {
        "type": "metadata",
        "id": resource,
        "attributes": {"properties": copy.deepcopy(org.metadata[resource])},
        "relationships": {"org": _org_ref(org)},
        "links": {"self": f"/v1/metadata/{resource}"},
    }


def _plain_resource(resource_type: str, path: str) -> Callable[[Org, dict], dict[str, Any]]:
    """The renderer of a resource whose only relationship is its org (users, teams,
    routing statuses, queues): Kustomer renders them all in this one shape."""
    def render(org: Org, record: dict) -> dict[str, Any]:
        return {
            "type": resource_type,
            "id": record["id"],
            "attributes": copy.deepcopy(record["attributes"]),
            "relationships": {"org": _org_ref(org)},
            "links": {"self": f"/v1/{path}/{record['id']}"},
        }

    render.__name__ = f"render_{resource_type}"
    return render


render_user = _plain_resource("user", "users")
render_team = _plain_resource("team", "teams")
render_status = _plain_resource("routing_status", "routing/statuses")
render_queue = _plain_resource("queue", "routing/queues")


def render_work_session(org: Org, record: dict) -> dict[str, Any]:
    relationships: dict[str, Any] = {
        "org": _org_ref(org),
        "user": _user_ref(record["user"]),
        "status": _ref("routing_status", record["status"], "routing/statuses"),
    }
    relationships["team"] = _ref("team", record["team"], "teams") if record["team"] else {"data": None}
    return {
        "type": "work_session",
        "id": record["id"],
        "attributes": copy.deepcopy(record["attributes"]),
        "relationships": relationships,
        "links": {"self": f"/v1/routing/work-sessions/{record['id']}"},
    }


def render_routing_settings(org: Org, record: dict) -> dict[str, Any]:
    return {
        "type": "team_routing_settings",
        "id": record["id"],
        "attributes": copy.deepcopy(record["attributes"]),
        "relationships": {"org": _org_ref(org), "team": _ref("team", record["id"], "teams")},
        "links": {"self": f"/v1/routing/settings/{record['id']}"},
    }


def render_webhook(org: Org, record: dict, *, with_token: bool) -> dict[str, Any]:
    attributes = copy.deepcopy(record["attributes"])
    if not with_token:
        attributes.pop("token", None)
    return {
        "type": "outbound_webhook",
        "id": record["id"],
        "attributes": attributes,
        "relationships": {"org": _org_ref(org)},
        "links": {"self": f"/v1/outbound-webhooks/{record['id']}"},
    }


# -- paging -----------------------------------------------------------------------------
def page_params(args: Any) -> tuple[int, int]:
    """`?page=` (from 1) and `?pageSize=` (default 100), rejected like Kustomer when invalid."""
    def positive(name: str, default: int) -> int:
        raw = args.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise bad_param(f"Invalid type: string (expected integer)", name, f"/properties/{name}/type") from None
        if value < 1:
            raise bad_param(f"Value {value} is less than minimum 1", name, f"/properties/{name}/minimum")
        return value

    page = positive("page", 1)
    size = min(positive("pageSize", DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE)
    return page, size


def render_list(
    items: list[Any],
    render: Callable[[Any], dict[str, Any]],
    *,
    path: str,
    args: Any,
    extra_query: dict[str, str] | None = None,
) -> dict[str, Any]:
    page, size = page_params(args)
    total = len(items)
    chunk = items[(page - 1) * size: page * size]
    query = dict(extra_query or {})

    def link(number: int) -> str:
        return f"{path}?{urlencode({**query, 'page': number, 'pageSize': size})}"

    return {
        "data": [render(item) for item in chunk],
        "meta": {"page": page, "pageSize": size, "total": total},
        "links": {
            "self": link(page),
            "first": link(1),
            "prev": link(page - 1) if page > 1 else None,
            "next": link(page + 1) if page * size < total else None,
        },
    }
