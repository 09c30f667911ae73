"""`/v1/` reads of an org's catalog records: tags, shortcuts, and a message by its
external id.

- `GET /v1/tags`: the org's conversation tags (`{name, color, createdAt, updatedAt}`).
- `GET /v1/shortcuts[?name=<prefix>]`: saved replies; Kustomer: "Retrieves all shortcuts
  or filter by shortcut name starting with text". The reply text is `draft.text`.
- `GET /v1/messages/externalid={externalId}` (the OpenAPI file's spelling): one message by
  its external id, 404 `notfound` (parameter `externalId`) when there is none.
Lists page like every Kustomer list (`?page=`, `?pageSize=`, `links.next`).
"""
from __future__ import annotations

import copy
from typing import Any, Callable

from .context import ApiContext
from .errors import not_found
from .resources import _org_ref, _user_ref, render_list, render_message
from .store import Org, new_object_id, now_iso

DEMO_TAGS = (("VIP", "gold"), ("Callback requested", "blue"), ("Escalated", "red"))
DEMO_SHORTCUTS = (
    ("Greeting", "Hi {{customer.firstName}}, thanks for calling. How can I help?"),
    ("Callback", "We will call you back at the number on your account within one business day."),
)


def add_tag(org: Org, *, name: str, color: str = "blue", created_by: str | None = None) -> dict:
    now = now_iso()
    tag = {
        "id": new_object_id(),
        "attributes": {"name": name, "color": color, "deleted": False, "createdAt": now, "updatedAt": now, "modifiedAt": now},
        "createdBy": created_by,
    }
    org.tags[tag["id"]] = tag
    return tag


def add_shortcut(org: Org, *, name: str, text: str, created_by: str | None = None) -> dict:
    now = now_iso()
    shortcut = {
        "id": new_object_id(),
        "attributes": {
            "name": name, "draft": {"text": text}, "payload": {}, "isPrivate": False, "deleted": False,
            "createdAt": now, "updatedAt": now, "modifiedAt": now,
        },
        "createdBy": created_by,
    }
    org.shortcuts[shortcut["id"]] = shortcut
    return shortcut


def seed_catalog(org: Org) -> None:
    """The demo org's tags and shortcuts."""
    for name, color in DEMO_TAGS:
        add_tag(org, name=name, color=color)
    for name, text in DEMO_SHORTCUTS:
        add_shortcut(org, name=name, text=text)


def _render(kind: str, collection: str) -> Callable[[Org, dict], dict[str, Any]]:
    def render(org: Org, record: dict) -> dict[str, Any]:
        relationships: dict[str, Any] = {"org": _org_ref(org)}
        if record.get("createdBy"):
            relationships["createdBy"] = _user_ref(record["createdBy"])
        return {
            "type": kind,
            "id": record["id"],
            "attributes": copy.deepcopy(record["attributes"]),
            "relationships": relationships,
            "links": {"self": f"/v1/{collection}/{record['id']}"},
        }
    return render


render_tag = _render("tag", "tags")
render_shortcut = _render("shortcut", "shortcuts")


def tags_list(ctx: ApiContext) -> tuple[int, dict]:
    return 200, render_list(list(ctx.org.tags.values()), lambda t: render_tag(ctx.org, t), path="/v1/tags", args=ctx.args)


def shortcuts_list(ctx: ApiContext) -> tuple[int, dict]:
    shortcuts = list(ctx.org.shortcuts.values())
    extra = {}
    prefix = ctx.args.get("name")
    if prefix:
        shortcuts = [s for s in shortcuts if s["attributes"]["name"].lower().startswith(prefix.lower())]
        extra["name"] = prefix
    return 200, render_list(
        shortcuts, lambda s: render_shortcut(ctx.org, s), path="/v1/shortcuts", args=ctx.args, extra_query=extra,
    )


def message_by_external_id(ctx: ApiContext) -> tuple[int, dict]:
    for record in ctx.org.messages.values():
        if record["attributes"].get("externalId") == ctx.params["value"]:
            return 200, {"data": render_message(ctx.org, record)}
    raise not_found("externalId")


ROUTES: list[tuple[str, str, Callable[..., tuple]]] = [
    ("GET", r"/v1/tags", tags_list),
    ("GET", r"/v1/shortcuts", shortcuts_list),
    ("GET", r"/v1/messages/externalid=(?P<value>[^/]+)", message_by_external_id),
]
