"""Kustomer sandbox: an HTTP server that behaves like Kustomer's REST API.

Standalone (no Django). Built from Kustomer's docs and OpenAPI file, never from our own
client, so a client that passes against it works against Kustomer.

    from kustomer_sandbox import SandboxServer
    with SandboxServer(port=0, webhook_retry_delays=[0.1] * 7) as sandbox:
        org = sandbox.create_org("Acme", api_key="secret")
        # a client talks to f"{sandbox.url}/v1/..." with "Authorization: Bearer secret"

Run it for demos: `python manage.py kustomer_sandbox --port 8765 --demo`.

Kustomer API (`/v1/`)
---------------------
customers (POST, GET/PUT/PATCH by id, lookups `phone=`/`email=`/`externalId=`, search), a
customer's conversations (GET/POST), conversations (GET/PUT/PATCH, `externalId=`),
messages and notes of a conversation (POST/GET), messages (GET/PUT/PATCH by id), attachments
(POST -> presigned POST to `/__uploads/{id}`, GET), metadata (GET/PUT), users, teams,
routing statuses, work sessions, team routing settings, queues, outbound webhooks, tags,
shortcuts, messages by `externalid=`. Keys hold roles; each endpoint takes the roles the
OpenAPI file lists (403 otherwise). kustomer_sandbox/README.md cites Kustomer's docs for
each behaviour.
Choices where the docs are open:
- duplicates (customer email/phone/externalId; conversation, message and note
  externalIds) answer **409** `{"errors":[{"status":409,"code":"duplicate",...}]}`;
- `x-ratelimit-reset` is **seconds until the org's 60 s window resets**; every 429 also
  carries `Retry-After` (seconds);
- bodies over 100 kB (102,400 bytes) answer 413; per-customer caps of 120/min each for
  conversations, messages and notes -> 429 (`importedAt` exempts conversations and messages).
- search: 100 requests per minute per org (API keys) -> 429.

Control endpoints (`/__sandbox/`, no auth, JSON; errors `{"error": "..."}`)
-------------------------------------------------------------------------
GET    /__sandbox/                       HTML: list of orgs
GET    /__sandbox/view/{org}[?refresh=5] HTML: customers and conversation timelines
GET    /__sandbox/orgs                   -> {"data": [org summary]}
POST   /__sandbox/orgs                   {"name", "api_key"?, "rate_limit_per_minute"?,
                                          "customer_create_limit_per_minute"?, "demo"?: bool,
                                          "roles"?: [the key's roles; default org.admin, org.user]}
                                         -> 201 {"id", "name", "api_key", "rate_limit_per_minute",
                                                 "customer_create_limit_per_minute", "counts"}
GET    /__sandbox/orgs/{org}             -> org summary
PATCH  /__sandbox/orgs/{org}             {"rate_limit_per_minute"?, "customer_create_limit_per_minute"?}
GET    /__sandbox/orgs/{org}/dump        -> {"org", "customers", "conversations", "messages", "notes",
                                             "attachments", "metadata", "users", "teams", "statuses",
                                             "work_sessions", "routing_settings", "queues", "webhooks"}
                                            (records as the API renders them)
GET|POST|DELETE /__sandbox/faults        global faults; POST merges settings, DELETE resets
GET|POST|DELETE /__sandbox/orgs/{org}/faults   the same for one org. Settings:
        {"latency_ms": int, "error_rate": 0..1, "error_next": n, "error_status": 5xx,
         "rate_limit_storm_seconds": s, "timeout_next": n, "timeout_seconds": s,
         "drop_after_commit_next": n, "methods": ["POST", ...], "path_contains": "/messages"}
        -> the current config. `error_*` answer before writing; `timeout_*` sleep, then
        handle the request (the write lands after the client gave up);
        `drop_after_commit_next` performs the write and closes the connection unanswered.
POST   /__sandbox/orgs/{org}/agents/status   {"email", "status": "<status name>", "team_id"?}
                                         -> {"data": work session (JSON:API) | null}
POST   /__sandbox/orgs/{org}/conversations/{id}/close    {"as_email"?} -> {"data": conversation}
POST   /__sandbox/orgs/{org}/conversations/{id}/reopen   (both fire kustomer.conversation.update)
GET    /__sandbox/orgs/{org}/webhook-deliveries  -> {"data": [{"id", "webhook", "event", "eventId",
                                             "url", "state": pending|delivered|failed|cancelled,
                                             "attempts": [{"at", "status", "error"}], "body"}]}
GET    /__sandbox/requests[?org_id=&method=&path_contains=]
                                         -> {"data": [{"at", "org_id", "method", "path", "query",
                                             "status", "duration_ms", ...}], "total"}
DELETE /__sandbox/requests               clear the log
POST   /__sandbox/reset                  forget all orgs, faults and the log
GET    /__sandbox/apps/{org}             HTML: Manage Apps (installed apps, "Attention required" with
                                         Upgrade, the App Directory with Install); POST .../install|upgrade
GET    /__sandbox/desktop/{org}[?agent=] HTML: the agent desktop with every installed app's widgets
GET    /__sandbox/card-js/kustomer-card.min.js   the Cards SDK stand-in
Apps Platform (`/v1/`): POST /v1/apps/available, POST /v1/apps/install, GET /v1/apps,
GET /v1/apps/{app}, GET /v1/apps/available (apps_platform.py; README.md cites the docs).
"""
from .demo import seed_demo_org
from .server import SandboxServer
from .store import Org, SandboxState
from .validation import response_schema_errors


def create_org(state: SandboxState, name: str, api_key: str, rate_limit_per_minute: int = 1000, **options) -> Org:
    """Module-level twin of `SandboxServer.create_org`, for code holding only the state."""
    return state.create_org(name, api_key, rate_limit_per_minute, **options)


__all__ = ["SandboxServer", "SandboxState", "Org", "create_org", "seed_demo_org", "response_schema_errors"]
