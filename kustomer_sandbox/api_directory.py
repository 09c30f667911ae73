"""`/v1/` handlers outside the OpenAPI file: users, teams, routing and outbound webhooks.

Shapes follow Kustomer's developer docs (users, teams, routing statuses with
`statusType` and `system`, work sessions, team routing settings, queues) and the
project's notes. Handlers return `(status, json_body)`.
"""
from __future__ import annotations

import secrets
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import best_match

from .api_common import find
from .context import ApiContext
from .errors import bad_param
from .resources import (
    render_list,
    render_queue,
    render_routing_settings,
    render_status,
    render_team,
    render_user,
    render_webhook,
    render_work_session,
)
from .work_sessions import work_session_change_status
from .store import new_object_id, now_iso
from .validation import FORMAT_CHECKER, api_error_from_schema_error
from .webhooks import EVENTS

MAX_WEBHOOKS_PER_ORG = 5  # Kustomer: "up to 5 outbound user-created webhooks"


# -- users and teams ---------------------------------------------------------------------
def users_list(ctx: ApiContext) -> tuple[int, dict]:
    users = list(ctx.org.users.values())
    email = ctx.args.get("email")
    extra = {}
    if email:
        wanted = email.strip().lower()
        users = [u for u in users if (u["attributes"].get("email") or "").lower() == wanted]
        extra["email"] = email
    return 200, render_list(users, lambda u: render_user(ctx.org, u), path="/v1/users", args=ctx.args, extra_query=extra)


def user_current(ctx: ApiContext) -> tuple[int, dict]:
    return 200, {"data": render_user(ctx.org, ctx.org.users[ctx.user_id])}


def user_get(ctx: ApiContext) -> tuple[int, dict]:
    return 200, {"data": render_user(ctx.org, find(ctx.org.users, ctx.params["id"]))}


def user_teams(ctx: ApiContext) -> tuple[int, dict]:
    user = find(ctx.org.users, ctx.params["id"])
    return 200, render_list(
        ctx.org.teams_of_user(user["id"]), lambda t: render_team(ctx.org, t),
        path=f"/v1/users/{user['id']}/teams", args=ctx.args,
    )


def teams_list(ctx: ApiContext) -> tuple[int, dict]:
    return 200, render_list(list(ctx.org.teams.values()), lambda t: render_team(ctx.org, t), path="/v1/teams", args=ctx.args)


def team_get(ctx: ApiContext) -> tuple[int, dict]:
    return 200, {"data": render_team(ctx.org, find(ctx.org.teams, ctx.params["id"]))}


# -- routing -----------------------------------------------------------------------------
def statuses_list(ctx: ApiContext) -> tuple[int, dict]:
    return 200, render_list(
        list(ctx.org.statuses.values()), lambda s: render_status(ctx.org, s), path="/v1/routing/statuses", args=ctx.args,
    )


def status_get(ctx: ApiContext) -> tuple[int, dict]:
    return 200, {"data": render_status(ctx.org, find(ctx.org.statuses, ctx.params["id"]))}


def _sessions_newest_first(sessions: list[dict]) -> list[dict]:
    # ObjectIds grow with creation order, so the id breaks ties within one millisecond.
    return sorted(sessions, key=lambda s: (s["attributes"]["createdAt"], s["id"]), reverse=True)


def user_work_sessions(ctx: ApiContext) -> tuple[int, dict]:
    user = find(ctx.org.users, ctx.params["id"])
    sessions = [s for s in ctx.org.work_sessions.values() if s["user"] == user["id"]]
    return 200, render_list(
        _sessions_newest_first(sessions), lambda s: render_work_session(ctx.org, s),
        path=f"/v1/routing/users/{user['id']}/work-sessions", args=ctx.args,
    )


def work_sessions_list(ctx: ApiContext) -> tuple[int, dict]:
    """Filters: active=true|false, statusType=<type>, user=true (the caller's own)."""
    sessions = list(ctx.org.work_sessions.values())
    extra: dict[str, str] = {}
    active = ctx.args.get("active")
    if active in ("true", "false"):
        sessions = [s for s in sessions if s["attributes"]["active"] == (active == "true")]
        extra["active"] = active
    status_type = ctx.args.get("statusType")
    if status_type:
        sessions = [s for s in sessions if s["attributes"]["statusType"] == status_type]
        extra["statusType"] = status_type
    if ctx.args.get("user") == "true":
        sessions = [s for s in sessions if s["user"] == ctx.user_id]
        extra["user"] = "true"
    return 200, render_list(
        _sessions_newest_first(sessions), lambda s: render_work_session(ctx.org, s),
        path="/v1/routing/work-sessions", args=ctx.args, extra_query=extra,
    )


def work_session_get(ctx: ApiContext) -> tuple[int, dict]:
    return 200, {"data": render_work_session(ctx.org, find(ctx.org.work_sessions, ctx.params["id"]))}


def _relationship_id(body: dict[str, Any], name: str) -> str | None:
    """A related id given flat (`status: id` or `{id}`) or as a JSON:API relationship."""
    value = body.get(name)
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if isinstance(value.get("id"), str):
            return value["id"]
        if isinstance(value.get("data"), dict):
            return value["data"].get("id")
    relationship = (body.get("relationships") or {}).get(name) or {}
    data = relationship.get("data") if isinstance(relationship, dict) else None
    return data.get("id") if isinstance(data, dict) else None


def work_session_update(ctx: ApiContext) -> tuple[int, dict]:
    """PUT /v1/routing/work-sessions/{id}: change the session's status (and team)."""
    body = ctx.body
    if not isinstance(body, dict):
        raise bad_param("Invalid type: expected object", "body", "/type")
    org = ctx.org
    session = find(org.work_sessions, ctx.params["id"])
    status_id = _relationship_id(body, "status")
    if status_id is None:
        raise bad_param("Missing required property: status", "status", "/required")
    status = org.statuses.get(status_id)
    if status is None:
        raise bad_param("Status not found", "status", f"routing status {status_id} does not exist in this org")
    team_id = _relationship_id(body, "team")
    if team_id is not None and team_id not in org.teams:
        raise bad_param("Team not found", "team", f"team {team_id} does not exist in this org")
    work_session_change_status(org, session, status, team_id)
    return 200, {"data": render_work_session(org, session)}


def routing_settings_list(ctx: ApiContext) -> tuple[int, dict]:
    return 200, render_list(
        list(ctx.org.routing_settings.values()), lambda r: render_routing_settings(ctx.org, r),
        path="/v1/routing/settings", args=ctx.args,
    )


def routing_settings_get(ctx: ApiContext) -> tuple[int, dict]:
    """Team routing settings are addressed by the team id."""
    return 200, {"data": render_routing_settings(ctx.org, find(ctx.org.routing_settings, ctx.params["id"]))}


def queues_list(ctx: ApiContext) -> tuple[int, dict]:
    return 200, render_list(list(ctx.org.queues.values()), lambda q: render_queue(ctx.org, q), path="/v1/routing/queues", args=ctx.args)


def queue_get(ctx: ApiContext) -> tuple[int, dict]:
    return 200, {"data": render_queue(ctx.org, find(ctx.org.queues, ctx.params["id"]))}


# -- outbound webhooks -------------------------------------------------------------------
WEBHOOK_CREATE_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 256},
        "description": {"type": "string", "maxLength": 1024},
        "url": {"type": "string", "format": "uri", "pattern": "^https?://"},
        "events": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"type": "string", "enum": sorted(EVENTS)}},
        "headers": {
            "type": "array",
            "maxItems": 10,
            "items": {
                "type": "object",
                "properties": {"name": {"type": "string", "minLength": 1}, "value": {"type": "string"}},
                "required": ["name", "value"],
                "additionalProperties": False,
            },
        },
        "enabled": {"type": "boolean"},
    },
    "required": ["name", "url", "events"],
    "additionalProperties": False,
}
_WEBHOOK_VALIDATOR = Draft7Validator(WEBHOOK_CREATE_SCHEMA, format_checker=FORMAT_CHECKER)


def webhook_create(ctx: ApiContext) -> tuple[int, dict]:
    errors = list(_WEBHOOK_VALIDATOR.iter_errors(ctx.body))
    if errors:
        raise api_error_from_schema_error(best_match(errors))
    org = ctx.org
    if len(org.webhooks) >= MAX_WEBHOOKS_PER_ORG:
        raise bad_param(f"An org can have at most {MAX_WEBHOOKS_PER_ORG} outbound webhooks", "url")
    now = now_iso()
    record = {
        "id": new_object_id(),
        "attributes": {
            "name": ctx.body["name"],
            "description": ctx.body.get("description", ""),
            "url": ctx.body["url"],
            "events": list(ctx.body["events"]),
            "headers": list(ctx.body.get("headers", [])),
            "enabled": ctx.body.get("enabled", True),
            # The signing secret: shown on create, used as the HMAC key of each delivery.
            "token": secrets.token_hex(32),
            "createdAt": now,
            "updatedAt": now,
        },
    }
    org.webhooks[record["id"]] = record
    return 201, {"data": render_webhook(org, record, with_token=True)}


def webhooks_list(ctx: ApiContext) -> tuple[int, dict]:
    return 200, render_list(
        list(ctx.org.webhooks.values()), lambda w: render_webhook(ctx.org, w, with_token=False),
        path="/v1/outbound-webhooks", args=ctx.args,
    )


def webhook_get(ctx: ApiContext) -> tuple[int, dict]:
    # Kustomer: the signing token "You can also read it later with GET /v1/outbound-webhooks/{id}".
    return 200, {"data": render_webhook(ctx.org, find(ctx.org.webhooks, ctx.params["id"]), with_token=True)}


def webhook_delete(ctx: ApiContext) -> tuple[int, None]:
    find(ctx.org.webhooks, ctx.params["id"])
    del ctx.org.webhooks[ctx.params["id"]]
    return 204, None
