"""The Kustomer API key roles the product uses, and which of them a key lacks.

Kustomer gives each endpoint a list of roles of which a key must hold any one (the
OpenAPI file's "Any one of the following roles is required for this endpoint" tables:
a permission-set role and its legacy equivalent). `org.admin` opens everything;
`org.user` opens the endpoints that take a legacy `org.user.*` role.
README.md ("Kustomer API key") lists the same roles for the admin creating the key.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

ADMIN = "org.admin"
USER = "org.user"


@dataclass(frozen=True)
class RoleNeed:
    what: str  # in words, for the admin
    method: str
    path: str  # an example path of the endpoint (after /v1)
    accepted: tuple[str, ...]  # any one of them will do; the first is the one to pick

    @property
    def role(self) -> str:
        return self.accepted[0]


NEEDS: tuple[RoleNeed, ...] = (
    RoleNeed("creating customers", "POST", "/customers", ("org.permission.customer.create", "org.user.customer.write")),
    RoleNeed("finding customers (by id, phone, email, externalId)", "GET", "/customers/{id}",
             ("org.permission.customer.read", "org.user.customer.read")),
    RoleNeed("updating customers", "PUT", "/customers/{id}", ("org.permission.customer.update", "org.user.customer.write")),
    RoleNeed("creating conversations", "POST", "/customers/{id}/conversations",
             ("org.permission.conversation.create", "org.user.conversation.write")),
    RoleNeed("reading conversations", "GET", "/customers/{id}/conversations",
             ("org.permission.conversation.read", "org.user.conversation.read")),
    RoleNeed("updating conversations", "PUT", "/conversations/{id}",
             ("org.permission.conversation.update", "org.user.conversation.write")),
    RoleNeed("adding messages (and their attachments)", "POST", "/conversations/{id}/messages",
             ("org.permission.message.create", "org.user.message.write")),
    RoleNeed("reading messages", "GET", "/conversations/{id}/messages",
             ("org.permission.message.read", "org.user.message.read")),
    RoleNeed("adding notes (and their attachments)", "POST", "/conversations/{id}/notes",
             ("org.permission.note.create", "org.user.note.read")),
    RoleNeed("reading notes", "GET", "/conversations/{id}/notes", ("org.permission.note.read", "org.user.note.read")),
    RoleNeed("searching a customer's conversations", "POST", "/customers/search",
             ("org.permission.search.create", "org.user.search.read", "org.admin.search.read",
              "org.permission.search.update", "org.permission.search_global.create",
              "org.permission.search_preview.create")),
    RoleNeed("reading custom attribute definitions", "GET", "/metadata/{resource}",
             ("org.permission.metadata.read", "org.user.metadata.read", "org.admin.metadata.read")),
    RoleNeed("defining custom attributes", "PUT", "/metadata/{resource}",
             ("org.permission.metadata.update", "org.admin.metadata.write")),
    RoleNeed("reading users (agents are linked by email)", "GET", "/users",
             ("org.permission.user.read", "org.user.user.read", "org.admin.user.read")),
    RoleNeed("reading teams", "GET", "/teams", ("org.permission.team.read", "org.user.team.read", "org.admin.team.read")),
    RoleNeed("reading routing statuses and work sessions", "GET", "/routing/work-sessions",
             ("org.permission.routing.read", "org.user.routing.read")),
    RoleNeed("changing agents' work-session status", "PUT", "/routing/work-sessions/{id}",
             ("org.permission.routing.update", "org.user.routing.write")),
    RoleNeed("creating outbound webhooks", "POST", "/outbound-webhooks",
             ("org.permission.outbound_webhook.create", "org.outbound_webhooks", "org.admin.outbound_webhooks")),
    RoleNeed("listing outbound webhooks", "GET", "/outbound-webhooks",
             ("org.permission.outbound_webhook.read", "org.outbound_webhooks", "org.admin.outbound_webhooks")),
    RoleNeed("deleting outbound webhooks", "DELETE", "/outbound-webhooks/{id}",
             ("org.permission.outbound_webhook.delete", "org.outbound_webhooks", "org.admin.outbound_webhooks")),
)

# Kustomer lets only org.admin keys set a note's createdAt ("Otherwise, the token
# automatically sets these attributes"): without it, notes show the sync time (R-P7).
NOTE_TIMES = RoleNeed("giving notes the event's time (R-P7)", "POST", "/conversations/{id}/notes", (ADMIN,))
# R-O3 backfill writes custom fields of messages already made (live sync never updates a
# message): a key without it still syncs; only a Record field's backfill is refused.
MESSAGE_UPDATES = RoleNeed("filling Record custom fields of past sessions (R-O3 backfill)", "PATCH", "/messages/{id}",
                           ("org.permission.message.update", "org.user.message.write"))


def holds_any(key_roles: Iterable[str], accepted: Iterable[str]) -> bool:
    held = set(key_roles)
    accepted = tuple(accepted)
    if not accepted or ADMIN in held:
        return True
    if USER in held and any(role.startswith(USER + ".") for role in accepted):
        return True
    return bool(held.intersection(accepted))


def missing_roles(key_roles: Iterable[str]) -> list[RoleNeed]:
    """The needs no role of the key covers, in the order of NEEDS."""
    held = tuple(key_roles)
    return [need for need in NEEDS if not holds_any(held, need.accepted)]


def key_roles(user_raw: dict) -> tuple[str, ...] | None:
    """The roles `GET /v1/users/current` shows for the key's machine user, or None."""
    roles = (user_raw.get("attributes") or {}).get("roles")
    if not isinstance(roles, list):
        return None
    return tuple(r for r in roles if isinstance(r, str))
