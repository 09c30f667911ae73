"""What the `/v1/` record handlers share: the body's checks, the audit fields, the
acting users, how unset fields are left out, externalId uniqueness and finding a record
(404 naming the parameter)."""
from __future__ import annotations

from typing import Any

from .context import ApiContext
from .errors import bad_param, duplicate, not_found
from .roles import AUDIT_FIELDS, may_set_audit_fields


def find(records: dict[str, dict], record_id: str, parameter: str = "id") -> dict:
    record = records.get(record_id)
    if record is None:
        raise not_found(parameter)
    return record


def body_object(ctx: ApiContext) -> dict[str, Any]:
    if not isinstance(ctx.body, dict):
        raise bad_param("Invalid type: expected object", "body", "/type")
    return ctx.body


def audit_checked(ctx: ApiContext, body: dict[str, Any]) -> dict[str, Any]:
    """The body without createdAt/createdBy/modifiedAt/modifiedBy unless the key holds
    `org.admin`: "Otherwise, the token automatically sets these attributes"."""
    if may_set_audit_fields(ctx.roles):
        return body
    return {key: value for key, value in body.items() if key not in AUDIT_FIELDS}


def acting_users(ctx: ApiContext, body: dict[str, Any]) -> tuple[str, str]:
    """createdBy/modifiedBy of a new record: the key's user unless an admin key named others."""
    created_by = body.get("createdBy") if isinstance(body.get("createdBy"), str) else ctx.user_id
    modified_by = body.get("modifiedBy") if isinstance(body.get("modifiedBy"), str) else created_by
    return created_by, modified_by


def without_nulls(attributes: dict[str, Any]) -> dict[str, Any]:
    # Kustomer leaves unset fields out; a field cleared with null disappears too.
    return {key: value for key, value in attributes.items() if value is not None}


def check_external_id_unique(records: dict[str, dict], external_id: str | None, exclude_id: str | None = None) -> None:
    if not external_id:
        return
    for record in records.values():
        if record["id"] != exclude_id and record["attributes"].get("externalId") == external_id:
            raise duplicate("externalId", external_id)
