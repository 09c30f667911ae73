"""Data classes the Kustomer client returns.

Each is built from one JSON:API resource object (``{"type", "id", "attributes",
"relationships", "links"}``) by its ``from_resource`` class method and keeps the whole
object in ``raw``. Datetimes are timezone-aware (or None when absent/unreadable).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from core.dates import parse_datetime

__all__ = [
    "RateLimitInfo",
    "Customer",
    "Conversation",
    "Message",
    "Note",
    "AttachmentUpload",
    "Metadata",
    "User",
    "Team",
    "RoutingStatus",
    "WorkSession",
    "TeamRoutingSettings",
    "RoutingQueue",
    "OutboundWebhook",
    "parse_datetime",
    "format_datetime",
]


def format_datetime(value: datetime) -> str:
    """An aware datetime in Kustomer's form: UTC, milliseconds, ``Z``."""
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    utc = value.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _attrs(res: Mapping[str, Any]) -> Mapping[str, Any]:
    a = res.get("attributes")
    return a if isinstance(a, Mapping) else {}


def _rel_id(res: Mapping[str, Any], name: str) -> str | None:
    rels = res.get("relationships")
    if not isinstance(rels, Mapping):
        return None
    rel = rels.get(name)
    if not isinstance(rel, Mapping):
        return None
    data = rel.get("data")
    if isinstance(data, Mapping) and data.get("id") is not None:
        return str(data["id"])
    return None


def _rel_ids(res: Mapping[str, Any], name: str) -> tuple[str, ...]:
    rels = res.get("relationships")
    if not isinstance(rels, Mapping) or not isinstance(rels.get(name), Mapping):
        return ()
    data = rels[name].get("data")
    if isinstance(data, list):
        return tuple(str(d["id"]) for d in data if isinstance(d, Mapping) and "id" in d)
    if isinstance(data, Mapping) and "id" in data:
        return (str(data["id"]),)
    return ()


def _str(v: Any) -> str | None:
    if v is None:
        return None
    return v if isinstance(v, str) else str(v)


def _ids(v: Any) -> tuple[str, ...]:
    """A list of ids or of {id} objects → tuple of ids."""
    if not isinstance(v, list):
        return ()
    out = []
    for item in v:
        if isinstance(item, Mapping):
            if item.get("id") is not None:
                out.append(str(item["id"]))
        elif item is not None:
            out.append(str(item))
    return tuple(out)


def _dict(v: Any) -> dict[str, Any]:
    return dict(v) if isinstance(v, Mapping) else {}


@dataclass(frozen=True, slots=True)
class RateLimitInfo:
    """Kustomer's ``x-ratelimit-*`` headers of one answer (reset in seconds to wait)."""

    limit: int | None
    remaining: int | None
    reset_seconds: float | None


@dataclass(frozen=True, slots=True)
class Customer:
    id: str
    name: str | None
    display_name: str | None
    external_id: str | None
    emails: tuple[str, ...]
    phones: tuple[str, ...]
    custom: dict[str, Any]
    created_at: datetime | None
    updated_at: datetime | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_resource(cls, res: Mapping[str, Any]) -> Customer:
        a = _attrs(res)
        emails = tuple(
            str(e.get("email")) for e in a.get("emails") or [] if isinstance(e, Mapping) and e.get("email")
        )
        phones = tuple(
            str(p.get("phone")) for p in a.get("phones") or [] if isinstance(p, Mapping) and p.get("phone")
        )
        return cls(
            id=str(res["id"]),
            name=_str(a.get("name")),
            display_name=_str(a.get("displayName")),
            external_id=_str(a.get("externalId")),
            emails=emails,
            phones=phones,
            custom=_dict(a.get("custom")),
            created_at=parse_datetime(a.get("createdAt")),
            updated_at=parse_datetime(a.get("updatedAt")),
            raw=dict(res),
        )


@dataclass(frozen=True, slots=True)
class Conversation:
    id: str
    customer_id: str | None
    name: str | None
    status: str | None  # open | snoozed | done
    direction: str | None
    external_id: str | None
    priority: int | None
    assigned_users: tuple[str, ...]
    assigned_teams: tuple[str, ...]
    tags: tuple[str, ...]
    custom: dict[str, Any]
    created_at: datetime | None
    updated_at: datetime | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @classmethod
    def from_resource(cls, res: Mapping[str, Any]) -> Conversation:
        a = _attrs(res)
        priority = a.get("priority")
        return cls(
            id=str(res["id"]),
            customer_id=_rel_id(res, "customer") or _str(a.get("customer")),
            name=_str(a.get("name")),
            status=_str(a.get("status")),
            direction=_str(a.get("direction")),
            external_id=_str(a.get("externalId")),
            priority=priority if isinstance(priority, int) else None,
            assigned_users=_ids(a.get("assignedUsers")) or _rel_ids(res, "assignedUsers"),
            assigned_teams=_ids(a.get("assignedTeams")) or _rel_ids(res, "assignedTeams"),
            tags=_ids(a.get("tags")),
            custom=_dict(a.get("custom")),
            created_at=parse_datetime(a.get("createdAt")),
            updated_at=parse_datetime(a.get("updatedAt")),
            raw=dict(res),
        )


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    conversation_id: str | None
    customer_id: str | None
    channel: str | None
    app: str | None
    direction: str | None
    preview: str | None
    external_id: str | None
    created_at: datetime | None
    raw: dict[str, Any] = field(repr=False, compare=False)
    custom: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_resource(cls, res: Mapping[str, Any]) -> Message:
        a = _attrs(res)
        return cls(
            id=str(res["id"]),
            conversation_id=_rel_id(res, "conversation"),
            customer_id=_rel_id(res, "customer"),
            channel=_str(a.get("channel")),
            app=_str(a.get("app")),
            direction=_str(a.get("direction")),
            preview=_str(a.get("preview")),
            external_id=_str(a.get("externalId")),
            created_at=parse_datetime(a.get("createdAt")),
            raw=dict(res),
            custom=_dict(a.get("custom")),
        )


@dataclass(frozen=True, slots=True)
class Note:
    id: str
    conversation_id: str | None
    body: str | None
    external_id: str | None
    created_at: datetime | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_resource(cls, res: Mapping[str, Any]) -> Note:
        a = _attrs(res)
        return cls(
            id=str(res["id"]),
            conversation_id=_rel_id(res, "conversation"),
            body=_str(a.get("body")),
            external_id=_str(a.get("externalId")),
            created_at=parse_datetime(a.get("createdAt")),
            raw=dict(res),
        )


@dataclass(frozen=True, slots=True)
class AttachmentUpload:
    """A created attachment and its presigned POST (``upload_url`` + ``upload_fields``)."""

    id: str
    name: str | None
    content_type: str | None
    content_length: int | None
    upload_url: str
    upload_fields: dict[str, str]
    raw: dict[str, Any] = field(repr=False, compare=False)

    def reference(self) -> dict[str, Any]:
        """The attachment as a message's or note's ``attachments`` item."""
        return {
            "_id": self.id,
            "name": self.name or "file",
            "contentType": self.content_type or "application/octet-stream",
            "contentLength": self.content_length if self.content_length is not None else 0,
        }

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> AttachmentUpload:
        res = doc["data"]
        a = _attrs(res)
        upload = doc["meta"]["upload"]
        length = a.get("contentLength")
        return cls(
            id=str(res["id"]),
            name=_str(a.get("name")),
            content_type=_str(a.get("contentType")),
            content_length=int(length) if isinstance(length, (int, float)) else None,
            upload_url=str(upload["url"]),
            upload_fields={str(k): str(v) for k, v in dict(upload.get("fields") or {}).items()},
            raw=dict(doc),
        )


@dataclass(frozen=True, slots=True)
class Metadata:
    """A klass's custom attribute definitions (``properties`` by attribute name)."""

    id: str | None
    resource: str
    properties: dict[str, Any]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_resource(cls, res: Mapping[str, Any], *, resource: str) -> Metadata:
        a = _attrs(res)
        return cls(
            id=_str(res.get("id")),
            resource=resource,
            properties=_dict(a.get("properties")),
            raw=dict(res),
        )


@dataclass(frozen=True, slots=True)
class User:
    id: str
    name: str | None
    display_name: str | None
    email: str | None
    user_type: str | None  # "user" | "machine" ...
    org_id: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_resource(cls, res: Mapping[str, Any]) -> User:
        a = _attrs(res)
        return cls(
            id=str(res["id"]),
            name=_str(a.get("name")),
            display_name=_str(a.get("displayName")),
            email=_str(a.get("email")),
            user_type=_str(a.get("userType")),
            org_id=_rel_id(res, "org") or _str(a.get("org")),
            raw=dict(res),
        )


@dataclass(frozen=True, slots=True)
class Team:
    id: str
    name: str | None
    display_name: str | None
    member_ids: tuple[str, ...]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_resource(cls, res: Mapping[str, Any]) -> Team:
        a = _attrs(res)
        return cls(
            id=str(res["id"]),
            name=_str(a.get("name")),
            display_name=_str(a.get("displayName")),
            member_ids=_ids(a.get("members")) or _rel_ids(res, "members"),
            raw=dict(res),
        )


@dataclass(frozen=True, slots=True)
class RoutingStatus:
    id: str
    name: str | None
    status_type: str | None  # available | busy | unavailable | offline
    system: bool
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_resource(cls, res: Mapping[str, Any]) -> RoutingStatus:
        a = _attrs(res)
        return cls(
            id=str(res["id"]),
            name=_str(a.get("name")) or _str(a.get("displayName")),
            status_type=_str(a.get("statusType")),
            system=bool(a.get("system", False)),
            raw=dict(res),
        )


@dataclass(frozen=True, slots=True)
class WorkSession:
    id: str
    user_id: str | None
    team_id: str | None
    status_id: str | None
    status_type: str | None
    routable: bool | None
    active: bool | None
    signed_in_at: datetime | None
    signed_out_at: datetime | None
    raw: dict[str, Any] = field(repr=False, compare=False)
    #: When the session's status last changed (``statusUpdatedAt``, else ``updatedAt``).
    status_updated_at: datetime | None = None

    @classmethod
    def from_resource(cls, res: Mapping[str, Any]) -> WorkSession:
        a = _attrs(res)
        routable = a.get("routable")
        active = a.get("active")
        signed_out_at = parse_datetime(a.get("signedOutAt"))
        if not isinstance(active, bool):
            active = None if "signedOutAt" not in a else signed_out_at is None
        return cls(
            id=str(res["id"]),
            user_id=_rel_id(res, "user") or _str(a.get("user")),
            team_id=_rel_id(res, "team") or _str(a.get("team")),
            status_id=_rel_id(res, "status") or _str(a.get("status")),
            status_type=_str(a.get("statusType")),
            routable=routable if isinstance(routable, bool) else None,
            active=active,
            signed_in_at=parse_datetime(a.get("signedInAt")),
            signed_out_at=signed_out_at,
            raw=dict(res),
            status_updated_at=parse_datetime(a.get("statusUpdatedAt")) or parse_datetime(a.get("updatedAt")),
        )


@dataclass(frozen=True, slots=True)
class TeamRoutingSettings:
    id: str
    enabled: bool | None
    attributes: dict[str, Any]
    raw: dict[str, Any] = field(repr=False, compare=False)
    #: The team's external queues (``externalQueues``): where Kustomer routes its work
    #: outside Kustomer, e.g. to the contact center (R-S9).
    external_queues: tuple[Any, ...] = ()

    @classmethod
    def from_resource(cls, res: Mapping[str, Any]) -> TeamRoutingSettings:
        a = _attrs(res)
        enabled = a.get("enabled", a.get("routingEnabled"))
        queues = a.get("externalQueues")
        return cls(
            id=str(res["id"]),
            enabled=enabled if isinstance(enabled, bool) else None,
            attributes=dict(a),
            raw=dict(res),
            external_queues=tuple(queues) if isinstance(queues, list) else (),
        )


@dataclass(frozen=True, slots=True)
class RoutingQueue:
    id: str
    name: str | None
    display_name: str | None
    attributes: dict[str, Any]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_resource(cls, res: Mapping[str, Any]) -> RoutingQueue:
        a = _attrs(res)
        return cls(
            id=str(res["id"]),
            name=_str(a.get("name")),
            display_name=_str(a.get("displayName")),
            attributes=dict(a),
            raw=dict(res),
        )


@dataclass(frozen=True, slots=True)
class OutboundWebhook:
    id: str
    name: str | None
    url: str | None
    events: tuple[str, ...]
    enabled: bool | None
    #: HMAC key of X-Kustomer-Webhook-Signature; in the create answer only. Secret.
    token: str | None = field(repr=False)
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> OutboundWebhook:
        """Built from the whole answer document: the token may sit in the resource's
        attributes, in the resource itself, or in the document's ``meta``."""
        res = doc.get("data") if isinstance(doc.get("data"), Mapping) else doc
        return cls.from_resource(res, meta=doc.get("meta"))

    @classmethod
    def from_resource(cls, res: Mapping[str, Any], *, meta: Any = None) -> OutboundWebhook:
        a = _attrs(res)
        meta = meta if isinstance(meta, Mapping) else {}
        token = a.get("token") or res.get("token") or meta.get("token")
        enabled = a.get("enabled")
        events = a.get("events") or []
        return cls(
            id=str(res["id"]),
            name=_str(a.get("name")),
            url=_str(a.get("url")),
            events=tuple(str(e) for e in events) if isinstance(events, list) else (),
            enabled=enabled if isinstance(enabled, bool) else None,
            token=_str(token),
            raw=dict(res),
        )
