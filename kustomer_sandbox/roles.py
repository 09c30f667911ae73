"""Per-endpoint API key roles, as Kustomer checks them.

A Kustomer API key holds the roles it was created with; each endpoint accepts "any one
of" a list of roles, and a key holding none of them gets **403**. The lists come from
Kustomer's OpenAPI file itself: every operation's description carries a table

    Any one of the following roles is required for this endpoint:
    |Legacy Role|Equivalent Permission Set Role|
    |org.user.message.write|org.permission.message.create|

Endpoints outside the file (users, teams, routing, outbound webhooks, tags, shortcuts)
take their lists from Kustomer's API reference pages (`EXTRA_ROLES`, cited in
kustomer_sandbox/README.md). The legacy all-access roles: `org.admin` passes every
endpoint; `org.user` passes every endpoint that accepts a legacy `org.user.*` role.
A path the table does not know (a newer area of the sandbox) needs no role.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable

from .errors import ApiError
from .validation import openapi_document, template_pattern, template_specificity

ADMIN = "org.admin"
USER = "org.user"

_TABLE_START = re.compile(r"roles? (?:is|are) required for this endpoint", re.IGNORECASE)
_ROLE = re.compile(r"\borg\.[a-z_]+(?:\.[a-z_]+)*\b")

# Endpoints the OpenAPI file does not describe: (method, path template) -> accepted roles.
EXTRA_ROLES: dict[tuple[str, str], tuple[str, ...]] = {
    # GET /v1/users/current answers any valid key (Kustomer's quickstart verifies a key so).
    ("GET", "/users/current"): (),
    ("GET", "/users"): ("org.permission.user.read", "org.user.user.read", "org.admin.user.read"),
    ("GET", "/users/{id}"): ("org.permission.user.read", "org.user.user.read", "org.admin.user.read"),
    ("GET", "/users/{id}/teams"): ("org.permission.team.read", "org.user.team.read", "org.admin.team.read"),
    ("GET", "/teams"): ("org.permission.team.read", "org.user.team.read", "org.admin.team.read"),
    ("GET", "/teams/{id}"): ("org.permission.team.read", "org.user.team.read", "org.admin.team.read"),
    ("GET", "/routing/statuses"): ("org.permission.routing.read", "org.user.routing.read"),
    ("GET", "/routing/statuses/{id}"): ("org.permission.routing.read", "org.user.routing.read"),
    ("GET", "/routing/users/{id}/work-sessions"): ("org.permission.routing.read", "org.user.routing.read"),
    ("GET", "/routing/work-sessions"): ("org.permission.routing.read", "org.user.routing.read"),
    ("GET", "/routing/work-sessions/{id}"): ("org.permission.routing.read", "org.user.routing.read"),
    ("PUT", "/routing/work-sessions/{id}"): ("org.permission.routing.update", "org.user.routing.write"),
    ("GET", "/routing/settings"): ("org.permission.routing.read", "org.user.routing.read"),
    ("GET", "/routing/settings/{id}"): ("org.permission.routing.read", "org.user.routing.read"),
    ("GET", "/routing/queues"): ("org.permission.routing.read", "org.user.routing.read"),
    ("GET", "/routing/queues/{id}"): ("org.permission.routing.read", "org.user.routing.read"),
    ("POST", "/outbound-webhooks"): (
        "org.outbound_webhooks", "org.permission.outbound_webhook.create", "org.admin.outbound_webhooks"),
    ("GET", "/outbound-webhooks"): (
        "org.outbound_webhooks", "org.permission.outbound_webhook.read", "org.admin.outbound_webhooks"),
    ("GET", "/outbound-webhooks/{id}"): (
        "org.outbound_webhooks", "org.permission.outbound_webhook.read", "org.admin.outbound_webhooks"),
    ("DELETE", "/outbound-webhooks/{id}"): (
        "org.outbound_webhooks", "org.permission.outbound_webhook.delete", "org.admin.outbound_webhooks"),
    ("GET", "/tags"): ("org.permission.tag.read", "org.user.tag.read", "org.admin.tag.read"),
    ("GET", "/shortcuts"): (
        "org.permission.shortcut.read", "org.user.content.shortcut.read", "org.user.shortcut.read",
        "org.admin.content.shortcut.read", "org.admin.shortcut.read"),
    # Apps Platform ("Register and update apps": a key "with the org.admin.apps role";
    # /api/apps-platform/get-installed-apps: org.permission.apps.read, legacy
    # org.user.apps.read, org.admin.apps.read).
    ("POST", "/apps/available"): ("org.admin.apps",),
    ("POST", "/apps/install"): ("org.admin.apps",),
    ("GET", "/apps/available"): ("org.permission.apps.read", "org.user.apps.read", "org.admin.apps.read", "org.admin.apps"),
    ("GET", "/apps"): ("org.permission.apps.read", "org.user.apps.read", "org.admin.apps.read", "org.admin.apps"),
    ("GET", "/apps/{id}"): ("org.permission.apps.read", "org.user.apps.read", "org.admin.apps.read", "org.admin.apps"),
}


def roles_in_description(description: str) -> tuple[str, ...] | None:
    """The roles an operation's description lists as "any one of ... required", or None."""
    start = _TABLE_START.search(description or "")
    if start is None:
        return None
    table = []
    for line in description[start.end():].splitlines()[1:]:
        line = line.strip()
        if not line:
            if table:
                break
            continue
        if not line.startswith("|"):
            break
        table.append(line)
    return tuple(dict.fromkeys(_ROLE.findall("\n".join(table))))


@lru_cache(maxsize=1)
def role_table() -> list[tuple[str, re.Pattern[str], int, tuple[str, ...]]]:
    """(method, path pattern, specificity, roles): literal paths before parameterised ones."""
    rows: dict[tuple[str, str], tuple[str, ...]] = {}
    for template, operations in openapi_document()["paths"].items():
        for method, operation in operations.items():
            if isinstance(operation, dict):
                found = roles_in_description(operation.get("description", ""))
                if found is not None:
                    rows[(method.upper(), template)] = found
    rows.update(EXTRA_ROLES)
    table = []
    for (method, template), accepted in rows.items():
        table.append((method, template_pattern(template), template_specificity(template), accepted))
    table.sort(key=lambda row: -row[2])
    return table


def required_roles(method: str, api_path: str) -> tuple[str, ...] | None:
    """Roles accepted for `method` on `api_path` (the path after /v1); None: not listed."""
    for row_method, pattern, _, accepted in role_table():
        if row_method == method and pattern.fullmatch(api_path):
            return accepted
    return None


def holds_any(key_roles: Iterable[str], accepted: Iterable[str]) -> bool:
    held = set(key_roles)
    accepted = tuple(accepted)
    if not accepted or ADMIN in held:
        return True
    if USER in held and any(role.startswith(USER + ".") for role in accepted):
        return True
    return bool(held.intersection(accepted))


def check_roles(key_roles: Iterable[str], method: str, path: str) -> None:
    """Raise Kustomer's 403 when the key holds none of the endpoint's roles."""
    api_path = path[len("/v1"):] if path.startswith("/v1") else path
    accepted = required_roles(method, api_path)
    if accepted is None or holds_any(key_roles, accepted):
        return
    raise ApiError(
        403, "forbidden", "Forbidden",
        detail=f"{method} /v1{api_path} requires any one of the roles: {', '.join(accepted)}",
    )


def may_set_audit_fields(key_roles: Iterable[str]) -> bool:
    """Kustomer: "`org.admin` role is required for setting createdAt, createdBy,
    modifiedAt and modifiedBy. Otherwise, the token automatically sets these"."""
    return ADMIN in set(key_roles)


AUDIT_FIELDS = ("createdAt", "createdBy", "modifiedAt", "modifiedBy")
