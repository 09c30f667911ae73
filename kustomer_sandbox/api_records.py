"""`/v1/` handlers for the records a sync writes: customers, conversations, messages,
notes, attachments and custom-attribute metadata.

Each handler validates like the real API (the OpenAPI file's request schema, the org's
metadata for `custom`, uniqueness, existence of referenced records), then writes under
the state lock and queues the webhook events the write causes. Handlers return
`(status, json_body)`.
"""
from __future__ import annotations

import copy
import random
from typing import Any

from .context import ApiContext
from .errors import bad_param, duplicate, not_found
from .limits import customer_create_take
from .resources import (
    render_attachment,
    render_conversation,
    render_customer,
    render_list,
    render_message,
    render_metadata,
    render_note,
)
from .roles import AUDIT_FIELDS, may_set_audit_fields
from .store import METADATA_RESOURCES, Org, new_object_id, now_iso
from .uploads import upload_fields
from .validation import (
    SUFFIX_TYPES,
    CUSTOM_ATTRIBUTE_NAME,
    phone_digits,
    validate_custom,
    validate_metadata_properties,
    validate_request_body,
)

DISPLAY_COLORS = ("green", "blue", "purple", "orange", "red", "teal", "yellow")
DISPLAY_ICONS = ("compass", "leaf", "anchor", "bicycle", "camera", "flag", "rocket")


def _body_object(ctx: ApiContext) -> dict[str, Any]:
    if not isinstance(ctx.body, dict):
        raise bad_param("Invalid type: expected object", "body", "/type")
    return ctx.body


def _audit_checked(ctx: ApiContext, body: dict[str, Any]) -> dict[str, Any]:
    """The body without createdAt/createdBy/modifiedAt/modifiedBy unless the key holds
    `org.admin`: "Otherwise, the token automatically sets these attributes"."""
    if may_set_audit_fields(ctx.roles):
        return body
    return {key: value for key, value in body.items() if key not in AUDIT_FIELDS}


def _acting_users(ctx: ApiContext, body: dict[str, Any]) -> tuple[str, str]:
    """createdBy/modifiedBy of a new record: the key's user unless an admin key named others."""
    created_by = body.get("createdBy") if isinstance(body.get("createdBy"), str) else ctx.user_id
    modified_by = body.get("modifiedBy") if isinstance(body.get("modifiedBy"), str) else created_by
    return created_by, modified_by


def _without_nulls(attributes: dict[str, Any]) -> dict[str, Any]:
    # Kustomer leaves unset fields out; a field cleared with null disappears too.
    return {key: value for key, value in attributes.items() if value is not None}


# -- customers ---------------------------------------------------------------------------
def _customer_identity(attributes: dict[str, Any]) -> tuple[set[str], set[str], set[str]]:
    emails = {item["email"].strip().lower() for item in attributes.get("emails", [])}
    phones = {phone_digits(item["phone"]) or item["phone"] for item in attributes.get("phones", [])}
    external_ids = set()
    if attributes.get("externalId"):
        external_ids.add(attributes["externalId"])
    external_ids.update(item["externalId"] for item in attributes.get("externalIds", []))
    return emails, phones, external_ids


def _check_customer_unique(org: Org, attributes: dict[str, Any], exclude_id: str | None = None) -> None:
    emails, phones, external_ids = _customer_identity(attributes)
    for other in org.customers.values():
        if other["id"] == exclude_id:
            continue
        other_emails, other_phones, other_external_ids = _customer_identity(other["attributes"])
        if emails & other_emails:
            raise duplicate("emails", sorted(emails & other_emails)[0])
        if phones & other_phones:
            raise duplicate("phones", sorted(phones & other_phones)[0])
        if external_ids & other_external_ids:
            raise duplicate("externalId", sorted(external_ids & other_external_ids)[0])


def _normalize_customer_input(body: dict[str, Any]) -> dict[str, Any]:
    attributes = copy.deepcopy(body)
    if "emails" in attributes:
        attributes["emails"] = [
            {"email": item["email"], "verified": item.get("verified", False), "type": item.get("type", "other"), "id": None}
            for item in attributes["emails"]
        ]
    if "phones" in attributes:
        attributes["phones"] = [
            {"phone": item["phone"], "verified": item.get("verified", False), "type": item.get("type", "other"), "id": None}
            for item in attributes["phones"]
        ]
    if "externalIds" in attributes:
        attributes["externalIds"] = [
            {"externalId": item["externalId"], "verified": item.get("verified", False)} for item in attributes["externalIds"]
        ]
    return attributes


def _customer_display_name(attributes: dict[str, Any]) -> str:
    if attributes.get("name"):
        return attributes["name"]
    if attributes.get("emails"):
        return attributes["emails"][0]["email"]
    if attributes.get("phones"):
        return attributes["phones"][0]["phone"]
    return "Unknown"


def _customer_new_attributes(body: dict[str, Any], now: str) -> dict[str, Any]:
    supplied = _normalize_customer_input(body)
    attributes: dict[str, Any] = {
        "externalIds": [], "sharedExternalIds": [], "emails": [], "sharedEmails": [],
        "phones": [], "sharedPhones": [], "socials": [], "sharedSocials": [], "urls": [],
        "locations": [], "activeUsers": [], "watchers": [], "tags": [],
        "recentLocation": {"updatedAt": now},
        "createdAt": now, "updatedAt": now, "modifiedAt": now, "lastActivityAt": now,
        "lastConversation": {"tags": []},
        "conversationCounts": {"all": 0, "snoozed": 0, "open": 0, "done": 0},
        "verified": False,
        "rev": 1,
        "custom": {},
        "displayColor": random.choice(DISPLAY_COLORS),
        "displayIcon": random.choice(DISPLAY_ICONS),
    }
    attributes.update(supplied)
    attributes["custom"] = _without_nulls(attributes.get("custom") or {})
    attributes["displayName"] = _customer_display_name(attributes)
    return _without_nulls(attributes)


def _find_customer(org: Org, customer_id: str) -> dict:
    customer = org.customers.get(customer_id)
    if customer is None:
        raise not_found("id")
    return customer


def customer_create(ctx: ApiContext) -> tuple[int, dict]:
    body = _body_object(ctx)
    validate_request_body("POST", "/customers", body)
    org = ctx.org
    validate_custom(body.get("custom"), org.metadata["customer"])
    attributes = _customer_new_attributes(body, now_iso())
    _check_customer_unique(org, attributes)
    record = {"id": new_object_id(), "attributes": attributes, "createdBy": ctx.user_id, "modifiedBy": ctx.user_id}
    org.customers[record["id"]] = record
    data = render_customer(org, record)
    ctx.emit(org, "kustomer.customer.create", data, None)
    return 201, {"data": data}


def customer_get(ctx: ApiContext) -> tuple[int, dict]:
    return 200, {"data": render_customer(ctx.org, _find_customer(ctx.org, ctx.params["id"]))}


def customer_update(ctx: ApiContext) -> tuple[int, dict]:
    """PUT merges into the customer (unless ?replace=true); PATCH merges too."""
    body = _body_object(ctx)
    method = ctx.request.method
    validate_request_body(method, "/customers/{id}", body)
    org = ctx.org
    record = _find_customer(org, ctx.params["id"])
    validate_custom(body.get("custom"), org.metadata["customer"])
    before = copy.deepcopy(record["attributes"])
    supplied = _normalize_customer_input(body)
    now = now_iso()
    replace = method == "PUT" and ctx.args.get("replace", "").lower() == "true"
    if replace:
        kept = {k: before[k] for k in ("createdAt", "conversationCounts", "lastConversation", "displayColor", "displayIcon") if k in before}
        attributes = _customer_new_attributes(supplied, before["createdAt"])
        attributes.update(kept)
    else:
        attributes = copy.deepcopy(before)
        custom = supplied.pop("custom", None)
        attributes.update(supplied)
        if custom is not None:
            attributes["custom"] = {**attributes.get("custom", {}), **custom}
    attributes["custom"] = _without_nulls(attributes.get("custom", {}))
    attributes.update({"updatedAt": now, "modifiedAt": now, "rev": before.get("rev", 1) + 1})
    attributes["displayName"] = _customer_display_name(attributes)
    attributes = _without_nulls(attributes)
    _check_customer_unique(org, attributes, exclude_id=record["id"])
    record["attributes"] = attributes
    record["modifiedBy"] = ctx.user_id
    data = render_customer(org, record)
    ctx.emit(org, "kustomer.customer.update", data, before)
    return 200, {"data": data}


def customer_lookup(ctx: ApiContext) -> tuple[int, dict]:
    """GET /v1/customers/{phone|email|externalId}={value}."""
    key, value = ctx.params["lookup"], ctx.params["value"]
    for record in ctx.org.customers.values():
        emails, phones, external_ids = _customer_identity(record["attributes"])
        if (
            (key == "email" and value.strip().lower() in emails)
            or (key == "phone" and (phone_digits(value) or value) in phones)
            or (key == "externalId" and value in external_ids)
        ):
            return 200, {"data": render_customer(ctx.org, record)}
    raise not_found(key)


# -- conversations -----------------------------------------------------------------------
def _check_assignees(org: Org, body: dict[str, Any]) -> None:
    for user_id in body.get("assignedUsers") or []:
        user = org.users.get(user_id)
        if user is None or user["attributes"]["userType"] != "user":
            raise bad_param("User not found", "assignedUsers", f"user {user_id} does not exist in this org")
    for team_id in body.get("assignedTeams") or []:
        if team_id not in org.teams:
            raise bad_param("Team not found", "assignedTeams", f"team {team_id} does not exist in this org")


def _check_external_id_unique(records: dict[str, dict], external_id: str | None, exclude_id: str | None = None) -> None:
    if not external_id:
        return
    for record in records.values():
        if record["id"] != exclude_id and record["attributes"].get("externalId") == external_id:
            raise duplicate("externalId", external_id)


def _refresh_customer_conversation_stats(org: Org, customer_id: str) -> None:
    customer = org.customers.get(customer_id)
    if customer is None:
        return
    conversations = [c for c in org.conversations.values() if c["customer"] == customer_id]
    counts = {"all": len(conversations), "snoozed": 0, "open": 0, "done": 0}
    for conversation in conversations:
        counts[conversation["attributes"]["status"]] += 1
    attributes = customer["attributes"]
    attributes["conversationCounts"] = counts
    if conversations:
        latest = max(conversations, key=lambda c: c["attributes"]["createdAt"])
        attributes["lastConversation"] = {"id": latest["id"], "tags": list(latest["attributes"]["tags"])}


def _find_conversation(org: Org, conversation_id: str, parameter: str = "id") -> dict:
    conversation = org.conversations.get(conversation_id)
    if conversation is None:
        raise not_found(parameter)
    return conversation


def conversation_create(ctx: ApiContext) -> tuple[int, dict]:
    body = _body_object(ctx)
    validate_request_body("POST", "/customers/{id}/conversations", body)
    org = ctx.org
    customer = _find_customer(org, ctx.params["id"])
    validate_custom(body.get("custom"), org.metadata["conversation"])
    _check_assignees(org, body)
    _check_external_id_unique(org.conversations, body.get("externalId"))
    customer_create_take(org, customer["id"], "conversation", body)
    body = _audit_checked(ctx, body)
    created_by, modified_by = _acting_users(ctx, body)
    now = now_iso()
    attributes: dict[str, Any] = {
        "channels": [], "status": "open", "messageCount": 0, "noteCount": 0, "satisfaction": 0,
        "createdAt": now, "updatedAt": now, "modifiedAt": now, "tags": [], "suggestedTags": [],
        "sentiment": {}, "lastMessageIn": {}, "assignedUsers": [], "assignedTeams": [], "firstResponse": {},
        "direction": "in", "outboundMessageCount": 0, "rev": 1, "priority": 3, "custom": {},
    }
    attributes.update({k: copy.deepcopy(v) for k, v in body.items() if k not in ("id", "createdBy", "modifiedBy")})
    attributes["custom"] = _without_nulls(attributes["custom"])
    if (body.get("queue") or {}).get("external"):
        attributes["externalQueue"] = body["queue"]["external"]
    record = {
        "id": new_object_id(), "attributes": _without_nulls(attributes), "customer": customer["id"],
        "createdBy": created_by, "modifiedBy": modified_by,
    }
    org.conversations[record["id"]] = record
    _refresh_customer_conversation_stats(org, customer["id"])
    data = render_conversation(org, record)
    ctx.emit(org, "kustomer.conversation.create", data, None)
    return 201, {"data": data}


def conversation_get(ctx: ApiContext) -> tuple[int, dict]:
    return 200, {"data": render_conversation(ctx.org, _find_conversation(ctx.org, ctx.params["id"]))}


def conversation_by_external_id(ctx: ApiContext) -> tuple[int, dict]:
    for record in ctx.org.conversations.values():
        if record["attributes"].get("externalId") == ctx.params["value"]:
            return 200, {"data": render_conversation(ctx.org, record)}
    raise not_found("externalId")


def customer_conversations(ctx: ApiContext) -> tuple[int, dict]:
    customer = _find_customer(ctx.org, ctx.params["id"])
    records = [c for c in ctx.org.conversations.values() if c["customer"] == customer["id"]]
    # Newest first, as Kustomer lists a customer's conversations.
    records.sort(key=lambda c: (c["attributes"]["createdAt"], c["id"]), reverse=True)
    return 200, render_list(
        records, lambda r: render_conversation(ctx.org, r),
        path=f"/v1/customers/{customer['id']}/conversations", args=ctx.args,
    )


def conversation_apply_changes(ctx: ApiContext, record: dict, changes: dict[str, Any]) -> dict:
    """Write `changes` into a conversation and fire kustomer.conversation.update."""
    org = ctx.org
    before = copy.deepcopy(record["attributes"])
    attributes = copy.deepcopy(before)
    custom = changes.pop("custom", None)
    new_customer = changes.pop("customer", None)
    attributes.update(copy.deepcopy(changes))
    if custom is not None:
        attributes["custom"] = _without_nulls({**attributes.get("custom", {}), **custom})
    now = now_iso()
    attributes.update({"updatedAt": now, "modifiedAt": now, "rev": before.get("rev", 1) + 1})
    record["attributes"] = _without_nulls(attributes)
    record["modifiedBy"] = ctx.user_id
    old_customer = record["customer"]
    if new_customer:
        record["customer"] = new_customer
    _refresh_customer_conversation_stats(org, old_customer)
    _refresh_customer_conversation_stats(org, record["customer"])
    data = render_conversation(org, record)
    ctx.emit(org, "kustomer.conversation.update", data, before)
    return data


def conversation_update(ctx: ApiContext) -> tuple[int, dict]:
    body = _body_object(ctx)
    validate_request_body(ctx.request.method, "/conversations/{id}", body)
    org = ctx.org
    record = _find_conversation(org, ctx.params["id"])
    validate_custom(body.get("custom"), org.metadata["conversation"])
    _check_assignees(org, body)
    _check_external_id_unique(org.conversations, body.get("externalId"), exclude_id=record["id"])
    if body.get("customer") and body["customer"] not in org.customers:
        raise bad_param("Customer not found", "customer")
    return 200, {"data": conversation_apply_changes(ctx, record, dict(body))}


# -- attachments -------------------------------------------------------------------------
def _find_attachment(org: Org, attachment_id: str) -> dict:
    attachment = org.attachments.get(attachment_id)
    if attachment is None:
        raise not_found("id")
    return attachment


def _attachment_answer(ctx: ApiContext, record: dict) -> dict:
    return {
        "data": render_attachment(ctx.org, record, ctx.base_url),
        "meta": {"upload": {"url": f"{ctx.base_url}/__uploads/{record['id']}", "fields": dict(record["uploadFields"])}},
    }


def attachment_create(ctx: ApiContext) -> tuple[int, dict]:
    body = _body_object(ctx)
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
    return 200, _attachment_answer(ctx, _find_attachment(ctx.org, ctx.params["id"]))


def _attachment_ids(org: Org, items: list[Any] | None) -> list[str]:
    """Ids listed in a message's or note's `attachments` (strings or {_id, ...})."""
    ids = []
    for item in items or []:
        attachment_id = item if isinstance(item, str) else item["_id"]
        if attachment_id not in org.attachments:
            raise bad_param("Attachment not found", "attachments", f"attachment {attachment_id} does not exist in this org")
        ids.append(attachment_id)
    return ids


# -- messages ----------------------------------------------------------------------------
def _find_message(org: Org, message_id: str) -> dict:
    message = org.messages.get(message_id)
    if message is None:
        raise not_found("id")
    return message


def message_create(ctx: ApiContext) -> tuple[int, dict]:
    body = _body_object(ctx)
    validate_request_body("POST", "/conversations/{id}/messages", body)
    org = ctx.org
    conversation = _find_conversation(org, ctx.params["id"])
    validate_custom(body.get("custom"), org.metadata["message"])
    _check_external_id_unique(org.messages, body.get("externalId"))
    attachment_ids = _attachment_ids(org, body.get("attachments"))
    customer_create_take(org, conversation["customer"], "message", body)
    body = _audit_checked(ctx, body)
    created_by, modified_by = _acting_users(ctx, body)
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
    attributes["custom"] = _without_nulls(attributes["custom"])
    record = {
        "id": new_object_id(), "attributes": _without_nulls(attributes),
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
    return 200, {"data": render_message(ctx.org, _find_message(ctx.org, ctx.params["id"]))}


def message_update(ctx: ApiContext) -> tuple[int, dict]:
    """PUT/PATCH /v1/messages/{id}: merge fields (custom key by key); fires message.update."""
    body = _body_object(ctx)
    validate_request_body(ctx.request.method, "/messages/{id}", body)
    org = ctx.org
    record = _find_message(org, ctx.params["id"])
    validate_custom(body.get("custom"), org.metadata["message"])
    _check_external_id_unique(org.messages, body.get("externalId"), exclude_id=record["id"])
    body = _audit_checked(ctx, body)
    changes = {k: copy.deepcopy(v) for k, v in body.items() if k not in {"conversation", "attachments", "createdBy", "modifiedBy"}}
    if "attachments" in body:
        record["attachments"] = _attachment_ids(org, body["attachments"])
    before = copy.deepcopy(record["attributes"])
    attributes = copy.deepcopy(before)
    custom = changes.pop("custom", None)
    attributes.update(changes)
    if custom is not None:
        attributes["custom"] = _without_nulls({**attributes.get("custom", {}), **custom})
    now = now_iso()
    attributes.update({"updatedAt": now, "modifiedAt": now})
    record["attributes"] = _without_nulls(attributes)
    record["modifiedBy"] = ctx.user_id
    data = render_message(org, record)
    ctx.emit(org, "kustomer.message.update", data, before)
    return 200, {"data": data}


def conversation_messages(ctx: ApiContext) -> tuple[int, dict]:
    conversation = _find_conversation(ctx.org, ctx.params["id"])
    records = [m for m in ctx.org.messages.values() if m["conversation"] == conversation["id"]]
    return 200, render_list(
        records, lambda r: render_message(ctx.org, r),
        path=f"/v1/conversations/{conversation['id']}/messages", args=ctx.args,
    )


# -- notes -------------------------------------------------------------------------------
def note_create(ctx: ApiContext) -> tuple[int, dict]:
    body = _body_object(ctx)
    validate_request_body("POST", "/conversations/{id}/notes", body)
    org = ctx.org
    conversation = _find_conversation(org, ctx.params["id"])
    _check_external_id_unique(org.notes, body.get("externalId"))
    attachment_ids = _attachment_ids(org, body.get("attachments"))
    customer_create_take(org, conversation["customer"], "note", body)
    body = _audit_checked(ctx, body)
    created_by, modified_by = _acting_users(ctx, body)
    now = now_iso()
    attributes: dict[str, Any] = {"createdAt": now, "updatedAt": now, "modifiedAt": now}
    ignored = {"id", "conversation", "createdBy", "modifiedBy"}
    attributes.update({k: copy.deepcopy(v) for k, v in body.items() if k not in ignored})
    record = {
        "id": new_object_id(), "attributes": _without_nulls(attributes),
        "conversation": conversation["id"], "customer": conversation["customer"],
        "attachments": attachment_ids, "createdBy": created_by, "modifiedBy": modified_by,
    }
    org.notes[record["id"]] = record
    conversation_apply_changes(ctx, conversation, {"noteCount": conversation["attributes"].get("noteCount", 0) + 1})
    return 201, {"data": render_note(org, record)}


def conversation_notes(ctx: ApiContext) -> tuple[int, dict]:
    conversation = _find_conversation(ctx.org, ctx.params["id"])
    records = [n for n in ctx.org.notes.values() if n["conversation"] == conversation["id"]]
    return 200, render_list(
        records, lambda r: render_note(ctx.org, r),
        path=f"/v1/conversations/{conversation['id']}/notes", args=ctx.args,
    )


# -- metadata (custom attribute definitions) ---------------------------------------------
def _metadata_resource(ctx: ApiContext) -> str:
    resource = ctx.params["resource"]
    if resource not in METADATA_RESOURCES:
        raise not_found("resource")
    return resource


def metadata_get(ctx: ApiContext) -> tuple[int, dict]:
    return 200, {"data": render_metadata(ctx.org, _metadata_resource(ctx))}


def metadata_update(ctx: ApiContext) -> tuple[int, dict]:
    """PUT merges `properties` into the org's definitions for the resource (or, for an
    org with `metadata_put_replaces`, keeps only the properties the body names)."""
    body = _body_object(ctx)
    resource = _metadata_resource(ctx)
    validate_request_body("PUT", "/metadata/{resource}", body)
    properties = body.get("properties") or {}
    validate_metadata_properties(properties)
    now = now_iso()
    defined = ctx.org.metadata[resource]
    if ctx.org.metadata_put_replaces:
        for name in [n for n in defined if n not in properties]:
            del defined[name]
    for name, definition in properties.items():
        merged = {**defined.get(name, {}), **copy.deepcopy(definition)}
        merged["type"] = SUFFIX_TYPES[CUSTOM_ATTRIBUTE_NAME.match(name).group(1)]
        merged.setdefault("displayName", name)
        merged.update({"modifiedBy": ctx.user_id, "modifiedAt": now, "updatedAt": now})
        defined[name] = merged
    return 200, {"data": render_metadata(ctx.org, resource)}

