"""`/v1/` handlers for what a conversation's timeline holds: messages, notes and the
attachments they list. Validation and answers as in api_records.py."""
from __future__ import annotations

import copy
from typing import Any

from .api_common import acting_users, audit_checked, body_object, check_external_id_unique, find, without_nulls
from .api_records import conversation_apply_changes
from .context import ApiContext
from .errors import bad_param
from .limits import customer_create_take
from .resources import render_attachment, render_list, render_message, render_note
from .store import Org, new_object_id, now_iso
from .uploads import upload_fields
from .validation import validate_custom, validate_request_body


# -- attachments -------------------------------------------------------------------------
def _attachment_answer(ctx: ApiContext, record: dict) -> dict:
    return {
        "data": render_attachment(ctx.org, record, ctx.base_url),
        "meta": {"upload": {"url": f"{ctx.base_url}/__uploads/{record['id']}", "fields": dict(record["uploadFields"])}},
    }


def attachment_create(ctx: ApiContext) -> tuple[int, dict]:
    body = body_object(ctx)
    validate_request_body("POST", "/attachments", body)
    length = body["contentLength"]
    if length != int(length) or length < 0:
        raise bad_param("contentLength must be a whole number of bytes", "contentLength")
    record = {
        "id": new_object_id(),
        "attributes": {
            "name": body["name"], "contentType": body["contentType"], "contentLength": int(length),
            "uploaded": False, "redacted": False, "createdAt": now_iso(),
        },
        "content": None,
    }
    record["uploadFields"] = upload_fields(ctx.org, record)
    ctx.org.attachments[record["id"]] = record
    return 201, _attachment_answer(ctx, record)


def attachment_get(ctx: ApiContext) -> tuple[int, dict]:
    return 200, _attachment_answer(ctx, find(ctx.org.attachments, ctx.params["id"]))


def listed_attachment_ids(org: Org, items: list[Any] | None) -> list[str]:
    """Ids listed in a message's or note's `attachments` (strings or {_id, ...})."""
    ids = []
    for item in items or []:
        attachment_id = item if isinstance(item, str) else item["_id"]
        if attachment_id not in org.attachments:
            raise bad_param("Attachment not found", "attachments", f"attachment {attachment_id} does not exist in this org")
        ids.append(attachment_id)
    return ids


# -- messages ----------------------------------------------------------------------------
def message_create(ctx: ApiContext) -> tuple[int, dict]:
    body = body_object(ctx)
    validate_request_body("POST", "/conversations/{id}/messages", body)
    org = ctx.org
    conversation = find(org.conversations, ctx.params["id"])
    validate_custom(body.get("custom"), org.metadata["message"])
    check_external_id_unique(org.messages, body.get("externalId"))
    attachment_ids = listed_attachment_ids(org, body.get("attachments"))
    customer_create_take(org, conversation["customer"], "message", body)
    body = audit_checked(ctx, body)
    created_by, modified_by = acting_users(ctx, body)
    now = now_iso()
    direction = body.get("direction", "in")
    attributes: dict[str, Any] = {
        "size": len((body.get("preview") or "").encode()),
        "direction": direction,
        "meta": {},
        "status": "received" if direction == "in" else "sent",
        "sentAt": now, "createdAt": now, "updatedAt": now, "modifiedAt": now,
        "custom": {},
    }
    ignored = {"id", "conversation", "customer", "attachments", "createdBy", "modifiedBy"}
    attributes.update({k: copy.deepcopy(v) for k, v in body.items() if k not in ignored})
    attributes["custom"] = without_nulls(attributes["custom"])
    record = {
        "id": new_object_id(), "attributes": without_nulls(attributes),
        "conversation": conversation["id"], "customer": conversation["customer"],
        "attachments": attachment_ids, "createdBy": created_by, "modifiedBy": modified_by,
    }
    org.messages[record["id"]] = record
    data = render_message(org, record)
    ctx.emit(org, "kustomer.message.create", data, None)
    # The conversation's counters change with every message, as in Kustomer.
    conv_changes: dict[str, Any] = {
        "messageCount": conversation["attributes"].get("messageCount", 0) + 1,
        "channels": sorted(set(conversation["attributes"].get("channels", [])) | {body["channel"]}),
    }
    if direction == "out":
        conv_changes["outboundMessageCount"] = conversation["attributes"].get("outboundMessageCount", 0) + 1
    else:
        conv_changes["lastMessageIn"] = {"sentAt": attributes["sentAt"], "id": record["id"]}
        conv_changes.update(_reopen_on_inbound(conversation, body))
    conversation_apply_changes(ctx, conversation, conv_changes)
    return 201, {"data": data}


def _reopen_on_inbound(conversation: dict, body: dict[str, Any]) -> dict[str, Any]:
    """Kustomer's conversation lifecycle: a customer's reply reopens a `done` conversation
    and ends a snooze (`snoozed` -> `open`). A message imported as history (`importedAt`)
    is not a new reply and changes no status."""
    if body.get("importedAt") or conversation["attributes"].get("status") not in ("done", "snoozed"):
        return {}
    return {"status": "open", "snooze": None}


def message_get(ctx: ApiContext) -> tuple[int, dict]:
    return 200, {"data": render_message(ctx.org, find(ctx.org.messages, ctx.params["id"]))}


def message_update(ctx: ApiContext) -> tuple[int, dict]:
    """PUT/PATCH /v1/messages/{id}: merge fields (custom key by key); fires message.update."""
    body = body_object(ctx)
    validate_request_body(ctx.request.method, "/messages/{id}", body)
    org = ctx.org
    record = find(org.messages, ctx.params["id"])
    validate_custom(body.get("custom"), org.metadata["message"])
    check_external_id_unique(org.messages, body.get("externalId"), exclude_id=record["id"])
    body = audit_checked(ctx, body)
    changes = {k: copy.deepcopy(v) for k, v in body.items() if k not in {"conversation", "attachments", "createdBy", "modifiedBy"}}
    if "attachments" in body:
        record["attachments"] = listed_attachment_ids(org, body["attachments"])
    before = copy.deepcopy(record["attributes"])
    attributes = copy.deepcopy(before)
    custom = changes.pop("custom", None)
    attributes.update(changes)
    if custom is not None:
        attributes["custom"] = without_nulls({**attributes.get("custom", {}), **custom})
    now = now_iso()
    attributes.update({"updatedAt": now, "modifiedAt": now})
    record["attributes"] = without_nulls(attributes)
    record["modifiedBy"] = ctx.user_id
    data = render_message(org, record)
    ctx.emit(org, "kustomer.message.update", data, before)
    return 200, {"data": data}


def conversation_messages(ctx: ApiContext) -> tuple[int, dict]:
    conversation = find(ctx.org.conversations, ctx.params["id"])
    records = [m for m in ctx.org.messages.values() if m["conversation"] == conversation["id"]]
    return 200, render_list(
        records, lambda r: render_message(ctx.org, r),
        path=f"/v1/conversations/{conversation['id']}/messages", args=ctx.args,
    )


# -- notes -------------------------------------------------------------------------------
def note_create(ctx: ApiContext) -> tuple[int, dict]:
    body = body_object(ctx)
    validate_request_body("POST", "/conversations/{id}/notes", body)
    org = ctx.org
    conversation = find(org.conversations, ctx.params["id"])
    check_external_id_unique(org.notes, body.get("externalId"))
    attachment_ids = listed_attachment_ids(org, body.get("attachments"))
    customer_create_take(org, conversation["customer"], "note", body)
    body = audit_checked(ctx, body)
    created_by, modified_by = acting_users(ctx, body)
    now = now_iso()
    attributes: dict[str, Any] = {"createdAt": now, "updatedAt": now, "modifiedAt": now}
    ignored = {"id", "conversation", "createdBy", "modifiedBy"}
    attributes.update({k: copy.deepcopy(v) for k, v in body.items() if k not in ignored})
    record = {
        "id": new_object_id(), "attributes": without_nulls(attributes),
        "conversation": conversation["id"], "customer": conversation["customer"],
        "attachments": attachment_ids, "createdBy": created_by, "modifiedBy": modified_by,
    }
    org.notes[record["id"]] = record
    conversation_apply_changes(ctx, conversation, {"noteCount": conversation["attributes"].get("noteCount", 0) + 1})
    return 201, {"data": render_note(org, record)}


def conversation_notes(ctx: ApiContext) -> tuple[int, dict]:
    conversation = find(ctx.org.conversations, ctx.params["id"])
    records = [n for n in ctx.org.notes.values() if n["conversation"] == conversation["id"]]
    return 200, render_list(
        records, lambda r: render_note(ctx.org, r),
        path=f"/v1/conversations/{conversation['id']}/notes", args=ctx.args,
    )
