"""The sandbox WSGI application: one entry point, three areas.

- `/v1/...`          Kustomer's API: bearer auth, faults, rate limit, body limit, JSON,
                     route, validate, write, answer (see `handle_api` for the order).
- `/__uploads/<id>`  the presigned-POST target for attachment content (S3's role).
- `/__sandbox/...`   control endpoints and the read-only HTML pages (`control.py`).
"""
from __future__ import annotations

import json
import logging
import math
import random
import socket
import time
from http import HTTPStatus
from typing import Any, Iterable

from werkzeug.wrappers import Request, Response

from . import api, control
from .context import ApiContext
from .errors import ApiError, not_found, too_large, unauthorized
from .faults import FaultPlan, fault_plan_for
from .limits import org_rate_take
from .roles import check_roles
from .store import SandboxState, now_iso
from .uploads import check_upload
from .validation import check_media_type
from .webhooks import WebhookDispatcher

logger = logging.getLogger(__name__)

# Kustomer rejects bodies over 100 kB (body-parser's "100kb" = 102,400 bytes) with 413.
MAX_BODY_BYTES = 100 * 1024
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class ConnectionDroppedOnPurpose(ConnectionAbortedError):
    """Raised after the socket was shut: Werkzeug treats it as a client disconnect."""


def _status_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Server Error"


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    body = "" if payload is None else json.dumps(payload)
    response = Response(body, status=status, headers=headers or {})
    if payload is not None:
        response.content_type = "application/json; charset=utf-8"
    return response


def error_response(error: ApiError, headers: dict[str, str] | None = None) -> Response:
    return json_response(error.status, error.body(), {**(headers or {}), **error.headers})


class SandboxApp:
    def __init__(self, state: SandboxState, dispatcher: WebhookDispatcher, *, seed: int | None = None) -> None:
        self.state = state
        self.dispatcher = dispatcher
        self.rng = random.Random(seed)

    def __call__(self, environ: dict, start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        path = request.path
        if path.startswith("/v1/") or path == "/v1":
            response = self.handle_api(request, environ)
        elif path.startswith("/__uploads/"):
            response = self.handle_upload(request)
        elif path.startswith("/__sandbox"):
            response = control.handle(self, request)
        else:
            response = error_response(not_found("path"))
        return response(environ, start_response)

    # -- helpers --------------------------------------------------------------------------
    def _sleep(self, seconds: float) -> None:
        # Wakes early on shutdown so stop() never waits for an injected timeout.
        if seconds > 0:
            self.state.stopping.wait(seconds)

    def _log(self, request: Request, org_id: str | None, status: int, started: float, **extra: Any) -> None:
        self.state.log_request({
            "at": now_iso(),
            "org_id": org_id,
            "method": request.method,
            "path": request.path,
            "query": request.query_string.decode("latin-1"),
            "status": status,
            "duration_ms": round((time.monotonic() - started) * 1000, 1),
            **extra,
        })

    @staticmethod
    def _drop_connection(environ: dict) -> None:
        sock = environ.get("werkzeug.socket")
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        raise ConnectionDroppedOnPurpose("sandbox fault: response dropped after commit")

    @staticmethod
    def _read_json_body(request: Request) -> Any:
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            raise too_large(MAX_BODY_BYTES)
        raw = request.stream.read(MAX_BODY_BYTES + 1)
        if len(raw) > MAX_BODY_BYTES:
            raise too_large(MAX_BODY_BYTES)
        if not raw.strip():
            return {}
        try:
            return json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ApiError(400, "badrequest", "Invalid JSON", detail=str(exc)[:200]) from None

    # -- /v1/ -----------------------------------------------------------------------------
    def handle_api(self, request: Request, environ: dict) -> Response:
        """Order: auth -> faults -> org rate limit -> route -> body -> handler -> (drop)."""
        started = time.monotonic()
        authorization = request.headers.get("Authorization", "")
        scheme, _, api_key = authorization.partition(" ")
        found = self.state.org_for_key(api_key.strip()) if scheme.lower() == "bearer" and api_key.strip() else None
        if found is None:
            response = error_response(unauthorized())
            self._log(request, None, response.status_code, started)
            return response
        org, user_id = found

        with self.state.lock:
            plan: FaultPlan = fault_plan_for([self.state.global_faults, org.faults], request.method, request.path, self.rng)
        self._sleep(plan.latency_seconds + plan.timeout_seconds)

        response = self._api_response(request, org, user_id, plan)
        self._log(request, org.id, response.status_code, started, dropped=plan.drop_after_commit)
        if plan.drop_after_commit:
            self._drop_connection(environ)
        return response

    def _api_response(self, request: Request, org: Any, user_id: str, plan: FaultPlan) -> Response:
        if plan.rate_limit_storm_seconds:
            reset = str(max(1, math.ceil(plan.rate_limit_storm_seconds)))
            headers = {
                "x-ratelimit-limit": str(org.rate_limit_per_minute),
                "x-ratelimit-remaining": "0",
                "x-ratelimit-reset": reset,
                "Retry-After": reset,
            }
            return error_response(ApiError(429, "ratelimited", "Too Many Requests"), headers)
        with self.state.lock:
            decision = org_rate_take(org)
        headers = decision.headers()
        if not decision.allowed:
            return error_response(ApiError(429, "ratelimited", "Too Many Requests"), headers)
        if plan.error_status:
            return error_response(ApiError(plan.error_status, "servererror", _status_phrase(plan.error_status)), headers)

        route = api.resolve(request.method, request.path)
        if route is None:
            return error_response(not_found("path"), headers)
        handler, params = route
        try:
            with self.state.lock:
                roles = tuple(org.users[user_id]["attributes"].get("roles") or ())
            check_roles(roles, request.method, request.path)
            check_media_type(request)
            body = self._read_json_body(request) if request.method in BODY_METHODS else None
            with self.state.lock:
                context = ApiContext(
                    state=self.state, org=org, user_id=user_id, request=request, params=params, body=body,
                    base_url=request.host_url.rstrip("/"), emit=self.dispatcher.emit, roles=roles,
                )
                status, payload = handler(context)
        except ApiError as error:
            return error_response(error, headers)
        except Exception:  # a sandbox bug: answer like a server error, keep serving
            logger.exception("sandbox handler failed for %s %s", request.method, request.path)
            return error_response(ApiError(500, "servererror", "Internal Server Error"), headers)
        return json_response(status, payload, headers)

    # -- /__uploads/<attachment id> ----------------------------------------------------------
    def handle_upload(self, request: Request) -> Response:
        """POST: the presigned upload of an attachment's content; GET: download it."""
        started = time.monotonic()
        attachment_id = request.path.removeprefix("/__uploads/").strip("/")
        no_such_key = Response("<Error><Code>NoSuchKey</Code></Error>", status=404, content_type="application/xml")
        with self.state.lock:
            owner = next((org for org in self.state.orgs.values() if attachment_id in org.attachments), None)
            attachment = owner.attachments[attachment_id] if owner else None
            snapshot = (dict(attachment["attributes"]), dict(attachment["uploadFields"])) if attachment else None
            stored = attachment["content"] if attachment else None
        if attachment is None:
            response = no_such_key
        elif request.method == "POST":
            # The body is read outside the lock: a slow upload must not stall the API.
            response, content = check_upload(*snapshot, request)
            if content is not None:
                with self.state.lock:
                    attachment["content"] = content
                    attachment["attributes"]["uploaded"] = True
        elif request.method == "GET" and stored is not None:
            response = Response(stored, content_type=snapshot[0]["contentType"])
        else:
            response = no_such_key
        self._log(request, owner.id if owner else None, response.status_code, started, kind="upload")
        return response
