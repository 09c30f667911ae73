"""`/v1/` handlers for the records a sync writes: customers, conversations and
custom-attribute metadata (messages, notes and attachments: api_timeline.py).

Each handler validates like the real API (the OpenAPI file's request schema, the org's
metadata for `custom`, uniqueness, existence of referenced records), then writes under
the state lock and queues the webhook events the write causes. Handlers return
`(status, json_body)`.
"""
from __future__ import annotations

import copy
import random
from typing import Any

from .api_common import acting_users, audit_checked, body_object, check_external_id_unique, find, without_nulls
from .context import ApiContext
from .errors import bad_param, duplicate, not_found
from .limits import customer_create_take
from .resources import (
    render_conversation,
    render_customer,
    render_list,
    render_metadata,
)
from .store import METADATA_RESOURCES, Org, new_object_id, now_iso
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
    attributes["custom"] = without_nulls(attributes.get("custom") or {})
    attributes["displayName"] = _customer_display_name(attributes)
    return without_nulls(attributes)


def customer_create(ctx: ApiContext) -> tuple[int, dict]:
    body = body_object(ctx)
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
    return 200, {"data": render_customer(ctx.org, find(ctx.org.customers, ctx.params["id"]))}


def customer_update(ctx: ApiContext) -> tuple[int, dict]:
    """PUT merges into the customer (unless ?replace=true); PATCH merges too."""
    body = body_object(ctx)
    method = ctx.request.method
    validate_request_body(method, "/customers/{id}", body)
    org = ctx.org
    record = find(org.customers, ctx.params["id"])
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
    attributes["custom"] = without_nulls(attributes.get("custom", {}))
    attributes.update({"updatedAt": now, "modifiedAt": now, "rev": before.get("rev", 1) + 1})
    attributes["displayName"] = _customer_display_name(attributes)
    attributes = without_nulls(attributes)
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


def conversation_create(ctx: ApiContext) -> tuple[int, dict]:
    body = body_object(ctx)
    validate_request_body("POST", "/customers/{id}/conversations", body)
    org = ctx.org
    customer = find(org.customers, ctx.params["id"])
    validate_custom(body.get("custom"), org.metadata["conversation"])
    _check_assignees(org, body)
    check_external_id_unique(org.conversations, body.get("externalId"))
    customer_create_take(org, customer["id"], "conversation", body)
    body = audit_checked(ctx, body)
    created_by, modified_by = acting_users(ctx, body)
    now = now_iso()
    attributes: dict[str, Any] = {
        "channels": [], "status": "open", "messageCount": 0, "noteCount": 0, "satisfaction": 0,
        "createdAt": now, "updatedAt": now, "modifiedAt": now, "tags": [], "suggestedTags": [],
        "sentiment": {}, "lastMessageIn": {}, "assignedUsers": [], "assignedTeams": [], "firstResponse": {},
        "direction": "in", "outboundMessageCount": 0, "rev": 1, "priority": 3, "custom": {},
    }
    attributes.update({k: copy.deepcopy(v) for k, v in body.items() if k not in ("id", "createdBy", "modifiedBy")})
    attributes["custom"] = without_nulls(attributes["custom"])
    if (body.get("queue") or {}).get("external"):
        attributes["externalQueue"] = body["queue"]["external"]
    record = {
        "id": new_object_id(), "attributes": without_nulls(attributes), "customer": customer["id"],
        "createdBy": created_by, "modifiedBy": modified_by,
    }
    org.conversations[record["id"]] = record
    _refresh_customer_conversation_stats(org, customer["id"])
    data = render_conversation(org, record)
    ctx.emit(org, "kustomer.conversation.create", data, None)
    return 201, {"data": data}


def conversation_get(ctx: ApiContext) -> tuple[int, dict]:
    return 200, {"data": render_conversation(ctx.org, find(ctx.org.conversations, ctx.params["id"]))}


def conversation_by_external_id(ctx: ApiContext) -> tuple[int, dict]:
    for record in ctx.org.conversations.values():
        if record["attributes"].get("externalId") == ctx.params["value"]:
            return 200, {"data": render_conversation(ctx.org, record)}
    raise not_found("externalId")


def customer_conversations(ctx: ApiContext) -> tuple[int, dict]:
    customer = find(ctx.org.customers, ctx.params["id"])
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
        attributes["custom"] = without_nulls({**attributes.get("custom", {}), **custom})
    now = now_iso()
    attributes.update({"updatedAt": now, "modifiedAt": now, "rev": before.get("rev", 1) + 1})
    record["attributes"] = without_nulls(attributes)
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
    body = body_object(ctx)
    validate_request_body(ctx.request.method, "/conversations/{id}", body)
    org = ctx.org
    record = find(org.conversations, ctx.params["id"])
    validate_custom(body.get("custom"), org.metadata["conversation"])
    _check_assignees(org, body)
    check_external_id_unique(org.conversations, body.get("externalId"), exclude_id=record["id"])
    if body.get("customer") and body["customer"] not in org.customers:
        raise bad_param("Customer not found", "customer")
    return 200, {"data": conversation_apply_changes(ctx, record, dict(body))}


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
    body = body_object(ctx)
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

