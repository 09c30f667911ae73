"""Request and response validation against Kustomer's own OpenAPI 3.0 file.

The file (`kustomer_sandbox/openapi/core-resources.openapi.json`, a copy of Kustomer's own file, or `KUSTOMER_OPENAPI_PATH`)
is the contract: a request body the file forbids is rejected with the `badparam` body the
real API sends. Two quirks of the file are handled here, as the project notes describe:
- the tag `Messages` is declared twice (dropped before the document is used);
- `custom` and metadata `properties` say `additionalProperties: false` because the real API
  builds those schemas per org; the sandbox checks them against the org's metadata instead.

`response_schema_errors` validates what the sandbox answers; tests use it to prove every
answer to a valid request has the shape the file promises (see EXAMPLE_ONLY_REQUIRED).
"""
from __future__ import annotations

import copy
import json
import os
import re
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from jsonschema import FormatChecker
from jsonschema.exceptions import ValidationError, best_match
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from .errors import ApiError, bad_param

DEFAULT_OPENAPI_PATH = Path(__file__).resolve().parent / "openapi" / "core-resources.openapi.json"

# Custom attribute names: camelCase, the suffix is the type (Kustomer's naming rule).
CUSTOM_ATTRIBUTE_NAME = re.compile(r"^[a-z][a-zA-Z0-9]*(Str|Txt|Num|At|Bool|Url|Id)$")
SUFFIX_TYPES = {"Str": "string", "Txt": "text", "Num": "number", "At": "date", "Bool": "boolean", "Url": "url", "Id": "string"}
# The file: "`Str` string or null, length [0 .. 1024]", and the same for `Txt`.
MAX_STR_LENGTH = 1024

def openapi_path() -> Path:
    return Path(os.environ.get("KUSTOMER_OPENAPI_PATH", DEFAULT_OPENAPI_PATH))


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    """The OpenAPI file, loaded once, with its duplicated tag removed."""
    with openapi_path().open(encoding="utf-8") as handle:
        document = json.load(handle)
    seen: set[str] = set()
    unique_tags = []
    for tag in document.get("tags", []):
        if tag["name"] not in seen:
            seen.add(tag["name"])
            unique_tags.append(tag)
    document["tags"] = unique_tags
    return document


# -- formats the file uses beyond JSON Schema's own ---------------------------------------
def _format_checker() -> FormatChecker:
    checker = FormatChecker()
    checker.checkers = dict(oas30_format_checker.checkers)

    @checker.checks("object-id")
    def _object_id(value: object) -> bool:
        return not isinstance(value, str) or bool(re.fullmatch(r"[0-9a-fA-F]{24}", value))

    @checker.checks("date-time")
    def _date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return False
        return "T" in value

    @checker.checks("email-relaxed")
    def _email(value: object) -> bool:
        return not isinstance(value, str) or bool(re.fullmatch(r"[^@\s]+@[^@\s]+", value))

    @checker.checks("phone-number")
    @checker.checks("whatsapp-number")
    def _phone(value: object) -> bool:
        return not isinstance(value, str) or phone_digits(value) is not None

    @checker.checks("uri")
    def _uri(value: object) -> bool:
        if not isinstance(value, str):
            return True
        parsed = urlparse(value)
        return bool(parsed.scheme and (parsed.netloc or parsed.path))

    return checker


FORMAT_CHECKER = _format_checker()


def phone_digits(value: str) -> str | None:
    """Canonical form used for phone uniqueness and lookups: '+' and digits only."""
    cleaned = re.sub(r"[\s().\-]", "", value)
    if not re.fullmatch(r"\+?[0-9]{3,20}", cleaned):
        return None
    return cleaned if cleaned.startswith("+") else "+" + cleaned


# -- request validation -----------------------------------------------------------------
def _operation(method: str, template: str) -> dict[str, Any] | None:
    return openapi_document()["paths"].get(template, {}).get(method.lower())


def _request_schema(method: str, template: str) -> dict[str, Any] | None:
    operation = _operation(method, template)
    if not operation or "requestBody" not in operation:
        return None
    content = operation["requestBody"].get("content", {})
    media = content.get("application/json") or next(iter(content.values()), None)
    return media.get("schema") if media else None


def _relax_per_org_objects(schema: Any) -> Any:
    """Drop `additionalProperties: false` from `custom` objects; the org's metadata decides."""
    if isinstance(schema, dict):
        relaxed = {}
        for key, value in schema.items():
            if key == "properties" and isinstance(value, dict):
                relaxed[key] = {}
                for name, sub in value.items():
                    sub = _relax_per_org_objects(sub)
                    if name == "custom" and isinstance(sub, dict) and sub.get("type") == "object":
                        sub = {k: v for k, v in sub.items() if k != "additionalProperties"}
                    relaxed[key][name] = sub
            else:
                relaxed[key] = _relax_per_org_objects(value)
        return relaxed
    if isinstance(schema, list):
        return [_relax_per_org_objects(item) for item in schema]
    return schema


@lru_cache(maxsize=64)
def _request_validator(method: str, template: str) -> OAS30Validator | None:
    schema = _request_schema(method, template)
    if schema is None:
        return None
    schema = _relax_per_org_objects(copy.deepcopy(schema))
    if template == "/metadata/{resource}":
        # Attribute definitions are checked by name rules below, not by the file's
        # org-specific `additionalProperties: false`.
        schema["properties"]["properties"].pop("additionalProperties", None)
    return OAS30Validator(schema, format_checker=FORMAT_CHECKER)


def api_error_from_schema_error(error: ValidationError) -> ApiError:
    """Render a JSON Schema error the way Kustomer does (tv4-style titles, badparam)."""
    # The parameter is the innermost property name (array indexes are skipped).
    names = [p for p in error.absolute_path if isinstance(p, str)]
    detail = "/" + "/".join(str(p) for p in error.absolute_schema_path)
    parameter = names[-1] if names else ""
    validator = error.validator
    if validator == "additionalProperties":
        allowed = set(error.schema.get("properties", {}))
        extras = sorted(k for k in error.instance if k not in allowed) if isinstance(error.instance, dict) else []
        return bad_param("Additional properties not allowed", extras[0] if extras else parameter, detail)
    if validator == "required":
        missing = re.match(r"'(.+)' is a required property", error.message)
        name = missing.group(1) if missing else parameter
        return bad_param(f"Missing required property: {name}", name, detail)
    if validator == "type":
        return bad_param(f"Invalid type: {type(error.instance).__name__} (expected {error.validator_value})", parameter, detail)
    if validator == "enum":
        return bad_param(f"No enum match for: {json.dumps(error.instance)}", parameter, detail)
    if validator == "format":
        return bad_param(f"Format validation failed ({error.validator_value})", parameter, detail)
    return bad_param(error.message[:200], parameter, detail)


def validate_request_body(method: str, template: str, body: Any) -> None:
    """Raise the Kustomer `badparam` error if the file's schema forbids `body`."""
    validator = _request_validator(method.upper(), template)
    if validator is None:
        return
    errors = list(validator.iter_errors(body))
    if errors:
        raise api_error_from_schema_error(best_match(errors))


def validate_custom(custom: Any, metadata_properties: dict[str, dict], *, pointer: str = "/properties/custom") -> None:
    """A `custom` key is valid only once it exists in the org's metadata; its value must fit its type."""
    if custom is None:
        return
    if not isinstance(custom, dict):
        raise bad_param("Invalid type: expected object", "custom", f"{pointer}/type")
    for name, value in custom.items():
        if name not in metadata_properties:
            raise bad_param("Additional properties not allowed", name, f"{pointer}/additionalProperties")
        if value is None:
            continue  # clearing a value is always allowed
        suffix = CUSTOM_ATTRIBUTE_NAME.match(name).group(1)
        if suffix in ("Str", "Txt") and isinstance(value, str) and len(value) > MAX_STR_LENGTH:
            raise bad_param(
                f"String is too long ({len(value)} chars), maximum {MAX_STR_LENGTH}",
                name,
                f"{pointer}/properties/{name}/maxLength",
            )
        if not _custom_value_fits(suffix, value):
            raise bad_param(
                f"Invalid type: {type(value).__name__} (expected {SUFFIX_TYPES[suffix]})",
                name,
                f"{pointer}/properties/{name}/type",
            )


def _custom_value_fits(suffix: str, value: Any) -> bool:
    if suffix == "Num":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if suffix == "Bool":
        return isinstance(value, bool)
    if not isinstance(value, str):
        return False
    if suffix in ("Str", "Txt"):
        return len(value) <= MAX_STR_LENGTH
    if suffix == "At":
        return FORMAT_CHECKER.conforms(value, "date-time")
    if suffix == "Url":
        return FORMAT_CHECKER.conforms(value, "uri")
    return True


def validate_metadata_properties(properties: dict[str, Any]) -> None:
    for name, definition in properties.items():
        if not CUSTOM_ATTRIBUTE_NAME.match(name):
            raise bad_param(
                "Additional properties not allowed",
                name,
                "/properties/properties/additionalProperties",
            )
        if not isinstance(definition, dict):
            raise bad_param("Invalid type: expected object", name, f"/properties/properties/{name}/type")


# -- response validation (used by the tests) -----------------------------------------------
# `required` lists in the file's response schemas were generated from one recorded
# example each, so they name fields the real API only sends when they have a value (a
# message's email headers, a customer's last message, the example org's own custom
# attribute names). Those may be absent; everything else is checked as the file says.
EXAMPLE_ONLY_REQUIRED = frozenset({
    # customers
    "externalId", "name", "displayName", "signedUpAt", "avatarUrl", "username", "locale", "timeZone",
    "birthdayAt", "gender", "presence", "lastSeenAt", "lastActivityAt", "lastCustomerActivityAt",
    "lastMessageIn", "preview", "sentiment", "progressiveStatus", "defaultLang", "lang",
    # lastConversation of a customer with no conversation yet
    "id",  # (relaxed inside `attributes` only; the resource's own id stays required)
    # a conversation's external queue, present only when it sits in one
    "externalQueue",
    # a message's email-only meta
    "subject", "from", "to", "cc", "recipient", "inReplyTo",
    # the example org's metadata attribute names
    "shopifyCustomerIdNum", "myCustomStr", "ordersId",
})


def _relax_example_required(schema: Any, inside_attributes: bool = False) -> Any:
    """Drop EXAMPLE_ONLY_REQUIRED names from `required`, only inside `attributes`.

    Envelope fields (data, type, id, links, meta, ...) stay required everywhere.
    """
    if isinstance(schema, list):
        return [_relax_example_required(item, inside_attributes) for item in schema]
    if not isinstance(schema, dict):
        return schema
    relaxed: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "required":
            continue
        if key == "properties" and isinstance(value, dict):
            relaxed[key] = {
                name: _relax_example_required(sub, inside_attributes or name == "attributes")
                for name, sub in value.items()
            }
        else:
            relaxed[key] = _relax_example_required(value, inside_attributes)
    if isinstance(schema.get("required"), list):
        kept = [n for n in schema["required"] if not (inside_attributes and n in EXAMPLE_ONLY_REQUIRED)]
        if kept:
            relaxed["required"] = kept
    return relaxed


def response_schema(method: str, template: str, status: int) -> dict[str, Any] | None:
    operation = _operation(method, template)
    if not operation:
        return None
    response = operation.get("responses", {}).get(str(status))
    if not response or not response.get("content"):
        return None
    media = next(iter(response["content"].values()))
    return media.get("schema")


def response_schema_errors(method: str, template: str, status: int, body: Any) -> list[str]:
    """Messages for every way `body` breaks the file's response schema (empty: it fits).

    `template` is the file's path (e.g. "/customers/{id}"). Raises LookupError when the file
    has no schema for that answer, so a test cannot silently validate against nothing.
    """
    schema = response_schema(method, template, status)
    if schema is None:
        raise LookupError(f"no response schema for {method.upper()} {template} {status}")
    validator = OAS30Validator(_relax_example_required(copy.deepcopy(schema)))
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
        for error in validator.iter_errors(body)
    ]


# -- request media types ---------------------------------------------------------------------
def template_pattern(template: str) -> re.Pattern[str]:
    """A regex for one of the file's path templates (`{id}` and `:externalId` match one segment)."""
    parts = re.split(r"(\{[^}]+\}|:[A-Za-z]+)", template)
    regex = "".join("[^/]+" if part.startswith(("{", ":")) else re.escape(part) for part in parts)
    return re.compile(regex + "/?", re.IGNORECASE)


def template_specificity(template: str) -> int:
    """Literal characters of a template: literal paths (`email=`) win over `{id}`."""
    return len(re.sub(r"\{[^}]+\}|:[A-Za-z]+", "", template))


@lru_cache(maxsize=1)
def _body_media_types() -> list[tuple[str, re.Pattern[str], frozenset[str]]]:
    rows = []
    for template, operations in openapi_document()["paths"].items():
        for method, operation in operations.items():
            if isinstance(operation, dict) and operation.get("requestBody", {}).get("content"):
                rows.append((template_specificity(template), method.upper(), template,
                             frozenset(operation["requestBody"]["content"])))
    rows.sort(key=lambda row: -row[0])
    return [(method, template_pattern(template), media) for _, method, template, media in rows]


def check_media_type(request: Any) -> None:
    """A body must come in a media type the file lists for the operation, else 415
    (e.g. `PATCH /v1/conversations/{id}` takes `application/json-patch+json` only)."""
    if request.method not in ("POST", "PUT", "PATCH") or not (request.content_length or 0):
        return
    api_path = request.path[len("/v1"):]
    for method, pattern, media in _body_media_types():
        if method == request.method and pattern.fullmatch(api_path):
            if request.mimetype not in media:
                raise ApiError(
                    415, "unsupportedmediatype", "Unsupported Media Type", parameter="Content-Type",
                    detail=f"{request.method} /v1{api_path} takes {', '.join(sorted(media))}",
                )
            return
