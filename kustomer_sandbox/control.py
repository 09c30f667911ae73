"""`/__sandbox/` control endpoints (no Kustomer auth) and the HTML pages.

See the package docstring for the list with request and response shapes. Control
answers are plain JSON (not Kustomer's JSON:API), errors are `{"error": "..."}`.
"""
from __future__ import annotations

import json
import re
import secrets
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from . import html
from .apps_pages import CONTROL_ROUTES as APPS_ROUTES
from .api_records import conversation_apply_changes
from .context import ApiContext
from .demo import seed_demo_org
from .faults import FaultConfig, FaultConfigError, fault_config_update
from .resources import (
    render_attachment,
    render_conversation,
    render_customer,
    render_message,
    render_metadata,
    render_note,
    render_queue,
    render_routing_settings,
    render_status,
    render_team,
    render_user,
    render_webhook,
    render_work_session,
)
from .work_sessions import WorkSessionEnded, agent_status_set
from .store import METADATA_RESOURCES, Org

if TYPE_CHECKING:
    from .app import SandboxApp


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _json(status: int, payload: Any) -> Response:
    if payload is None:
        return Response(status=status)
    return Response(json.dumps(payload), status=status, content_type="application/json; charset=utf-8")


def _body(request: Request) -> dict[str, Any]:
    raw = request.get_data(cache=False)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ControlError(400, "body must be JSON") from None
    if not isinstance(body, dict):
        raise ControlError(400, "body must be a JSON object")
    return body


def _org(app: "SandboxApp", org_id: str) -> Org:
    org = app.state.orgs.get(org_id)
    if org is None:
        raise ControlError(404, f"no org {org_id}")
    return org


def org_summary(org: Org, api_key: str | None = None) -> dict[str, Any]:
    summary = {
        "id": org.id,
        "name": org.name,
        "rate_limit_per_minute": org.rate_limit_per_minute,
        "customer_create_limit_per_minute": org.customer_create_limit_per_minute,
        "counts": {
            "customers": len(org.customers), "conversations": len(org.conversations),
            "messages": len(org.messages), "notes": len(org.notes), "attachments": len(org.attachments),
            "users": len(org.users), "webhooks": len(org.webhooks),
        },
    }
    if api_key is not None:
        summary["api_key"] = api_key
    return summary


def org_dump(org: Org, base_url: str) -> dict[str, Any]:
    """Everything an org holds, each record rendered as the API renders it."""
    return {
        "org": org_summary(org),
        "customers": [render_customer(org, r) for r in org.customers.values()],
        "conversations": [render_conversation(org, r) for r in org.conversations.values()],
        "messages": [render_message(org, r) for r in org.messages.values()],
        "notes": [render_note(org, r) for r in org.notes.values()],
        "attachments": [render_attachment(org, r, base_url) for r in org.attachments.values()],
        "metadata": {resource: render_metadata(org, resource) for resource in METADATA_RESOURCES},
        "users": [render_user(org, r) for r in org.users.values()],
        "teams": [render_team(org, r) for r in org.teams.values()],
        "statuses": [render_status(org, r) for r in org.statuses.values()],
        "work_sessions": [render_work_session(org, r) for r in org.work_sessions.values()],
        "routing_settings": [render_routing_settings(org, r) for r in org.routing_settings.values()],
        "queues": [render_queue(org, r) for r in org.queues.values()],
        "webhooks": [render_webhook(org, r, with_token=False) for r in org.webhooks.values()],
    }


# -- handlers ----------------------------------------------------------------------------
def orgs_list(app: "SandboxApp", request: Request) -> Response:
    return _json(200, {"data": [org_summary(org) for org in app.state.orgs.values()]})


def org_create(app: "SandboxApp", request: Request) -> Response:
    body = _body(request)
    api_key = body.get("api_key") or secrets.token_hex(20)
    name = body.get("name") or "Sandbox org"
    try:
        if body.get("demo"):
            org = seed_demo_org(app.state, name=name, api_key=api_key,
                                rate_limit_per_minute=int(body.get("rate_limit_per_minute", 1000)))
        else:
            org = app.state.create_org(
                name, api_key, int(body.get("rate_limit_per_minute", 1000)),
                customer_create_limit_per_minute=int(body.get("customer_create_limit_per_minute", 120)),
                roles=body.get("roles"),
            )
    except (TypeError, ValueError) as exc:
        raise ControlError(400, str(exc)) from None
    return _json(201, org_summary(org, api_key))


def org_get(app: "SandboxApp", request: Request, org_id: str) -> Response:
    return _json(200, org_summary(_org(app, org_id)))


def org_update(app: "SandboxApp", request: Request, org_id: str) -> Response:
    org, body = _org(app, org_id), _body(request)
    for key in ("rate_limit_per_minute", "customer_create_limit_per_minute"):
        if key in body:
            try:
                setattr(org, key, int(body[key]))
            except (TypeError, ValueError):
                raise ControlError(400, f"{key} must be an integer") from None
    return _json(200, org_summary(org))


def org_dump_view(app: "SandboxApp", request: Request, org_id: str) -> Response:
    return _json(200, org_dump(_org(app, org_id), request.host_url.rstrip("/")))


def _faults_response(app: "SandboxApp", request: Request, config_owner: Any, attr: str) -> Response:
    if request.method == "DELETE":
        setattr(config_owner, attr, FaultConfig())
    elif request.method == "POST":
        try:
            fault_config_update(getattr(config_owner, attr), _body(request))
        except FaultConfigError as exc:
            raise ControlError(400, str(exc)) from None
    return _json(200, getattr(config_owner, attr).to_json())


def global_faults(app: "SandboxApp", request: Request) -> Response:
    return _faults_response(app, request, app.state, "global_faults")


def org_faults(app: "SandboxApp", request: Request, org_id: str) -> Response:
    return _faults_response(app, request, _org(app, org_id), "faults")


def agent_status(app: "SandboxApp", request: Request, org_id: str) -> Response:
    """An agent changes their status in the Kustomer desktop: their work session follows."""
    org, body = _org(app, org_id), _body(request)
    user = org.find_user_by_email(str(body.get("email", "")))
    if user is None:
        raise ControlError(404, f"no user with email {body.get('email')!r}")
    status = org.find_status_by_name(str(body.get("status", "")))
    if status is None:
        raise ControlError(404, f"no routing status named {body.get('status')!r}")
    team_id = body.get("team_id")
    if team_id is not None and team_id not in org.teams:
        raise ControlError(404, f"no team {team_id}")
    try:
        session = agent_status_set(org, user["id"], status, team_id)
    except WorkSessionEnded as exc:  # pragma: no cover - agent_status_set starts a new one
        raise ControlError(409, exc.title) from None
    return _json(200, {"data": render_work_session(org, session) if session else None})


def conversation_set_status(app: "SandboxApp", request: Request, org_id: str, conversation_id: str, action: str) -> Response:
    """An agent closes (done) or reopens (open) a conversation; fires conversation.update."""
    org, body = _org(app, org_id), _body(request)
    conversation = org.conversations.get(conversation_id)
    if conversation is None:
        raise ControlError(404, f"no conversation {conversation_id}")
    acting = org.find_user_by_email(body["as_email"]) if body.get("as_email") else None
    if body.get("as_email") and acting is None:
        raise ControlError(404, f"no user with email {body['as_email']!r}")
    if acting is None:
        acting = next((u for u in org.users.values() if u["attributes"]["userType"] == "user"), None) or org.users[next(iter(org.api_keys.values()))]
    context = ApiContext(
        state=app.state, org=org, user_id=acting["id"], request=request, params={}, body=None,
        base_url=request.host_url.rstrip("/"), emit=app.dispatcher.emit,
    )
    data = conversation_apply_changes(context, conversation, {"status": "done" if action == "close" else "open"})
    return _json(200, {"data": data})


def requests_log(app: "SandboxApp", request: Request) -> Response:
    """GET: the logged Kustomer requests (filters org_id, method, path_contains); DELETE clears."""
    if request.method == "DELETE":
        app.state.request_log.clear()
        return _json(204, None)
    entries = app.state.request_log
    org_id = request.args.get("org_id")
    method = request.args.get("method")
    path_contains = request.args.get("path_contains")
    selected = [
        entry for entry in entries
        if (not org_id or entry["org_id"] == org_id)
        and (not method or entry["method"] == method.upper())
        and (not path_contains or path_contains in entry["path"])
    ]
    return _json(200, {"data": selected, "total": len(selected)})


def webhook_deliveries(app: "SandboxApp", request: Request, org_id: str) -> Response:
    return _json(200, {"data": [dict(d) for d in _org(app, org_id).webhook_deliveries]})


def reset(app: "SandboxApp", request: Request) -> Response:
    app.state.reset()
    return _json(204, None)


def html_index(app: "SandboxApp", request: Request) -> Response:
    return Response(html.render_index(app.state), content_type="text/html; charset=utf-8")


def html_org(app: "SandboxApp", request: Request, org_id: str) -> Response:
    refresh = request.args.get("refresh", type=int)
    page = html.render_org(app.state, org_id, refresh)
    if page is None:
        raise ControlError(404, f"no org {org_id}")
    return Response(page, content_type="text/html; charset=utf-8")


_ID = r"(?P<org_id>[0-9a-f]{24})"
ROUTES = [
    ("GET", r"/__sandbox/?", html_index),
    ("GET", rf"/__sandbox/view/{_ID}", html_org),
    ("GET", r"/__sandbox/orgs", orgs_list),
    ("POST", r"/__sandbox/orgs", org_create),
    ("GET", rf"/__sandbox/orgs/{_ID}", org_get),
    ("PATCH", rf"/__sandbox/orgs/{_ID}", org_update),
    ("GET", rf"/__sandbox/orgs/{_ID}/dump", org_dump_view),
    (("GET", "POST", "DELETE"), r"/__sandbox/faults", global_faults),
    (("GET", "POST", "DELETE"), rf"/__sandbox/orgs/{_ID}/faults", org_faults),
    ("POST", rf"/__sandbox/orgs/{_ID}/agents/status", agent_status),
    ("POST", rf"/__sandbox/orgs/{_ID}/conversations/(?P<conversation_id>[0-9a-f]{{24}})/(?P<action>close|reopen)", conversation_set_status),
    ("GET", rf"/__sandbox/orgs/{_ID}/webhook-deliveries", webhook_deliveries),
    (("GET", "DELETE"), r"/__sandbox/requests", requests_log),
    ("POST", r"/__sandbox/reset", reset),
    *APPS_ROUTES,
]
_COMPILED = [((m,) if isinstance(m, str) else m, re.compile(p + "/?"), h) for m, p, h in ROUTES]


def handle(app: "SandboxApp", request: Request) -> Response:
    for methods, pattern, handler in _COMPILED:
        match = pattern.fullmatch(request.path)
        if match and request.method in methods:
            try:
                with app.state.lock:
                    return handler(app, request, **match.groupdict())
            except ControlError as exc:
                return _json(exc.status, {"error": exc.message})
    return _json(404, {"error": f"no control endpoint {request.method} {request.path}"})
