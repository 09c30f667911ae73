"""`POST /v1/customers/search`: Kustomer's search over customers, conversations,
messages, notes and custom objects (kobjects).

As Kustomer's search docs and the OpenAPI file describe it:
- `queryContext` picks what is returned (`customer`, `conversation`, `message`, `note`,
  `kobject` or `kobject_<klass>`); despite the path, not only customers.
- `and` / `or` / `not` hold criteria `{"<object>_<attribute>": {"<operator>": value}}`;
  an item may itself be `{"and": [...]}` / `{"or": [...]}`. Attribute names are the
  file's standard attributes (`conversation_updated_at`, `message_customer_id`, ...) and
  custom ones (`<object>_custom_<name>`). A criterion on another object type than the
  context matches through the records' links (a conversation's customer, a customer's
  conversations, ...).
- Operators: `equals`, `not_equals`, `contains`, `not_contains`, `gt`, `gte`, `lt`,
  `lte`, `in`, `not_in`, `set`, `not_set`. Dates may be UTC times or local dates
  `YYYY-MM-DD` (midnight in `timeZone`, GMT by default; `lte` a date takes in that
  whole day).
- `sort`: `[{"<attribute>": "asc"|"desc"}, ...]`; default newest update first.
- API keys may search 100 times a minute (limits.search_rate_take), 429 beyond.
- Paging: `?page=` (from 1) and `?pageSize=` (default 100, at most 500); "There is a
  hard limit of **100** for the maximum number of pages": page 100 has no `next`, a
  page past 100 answers 400.
"""
from __future__ import annotations

import re
from datetime import datetime, time as dtime, timedelta, timezone
from functools import lru_cache
from typing import Any, Callable
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .context import ApiContext
from .errors import bad_param
from .limits import search_rate_take
from .resources import page_params, render_conversation, render_customer, render_message, render_note
from .store import Org
from .validation import openapi_document, validate_request_body

MAX_PAGES = 100
MAX_SEARCH_PAGE_SIZE = 500
OBJECTS = ("customer", "conversation", "message", "note", "kobject")
OPERATORS = frozenset({
    "equals", "not_equals", "contains", "not_contains", "gt", "gte", "lt", "lte", "in", "not_in", "set", "not_set",
})
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# snake_case standard attribute -> the record attribute it reads, where the name differs.
_ALIASES = {
    "message_body": "preview", "note_body": "body", "customer_email": "emails", "customer_phone": "phones",
    "customer_external_id": "externalId", "customer_externalId": "externalId", "customer_activity_at": "lastActivityAt",
}


@lru_cache(maxsize=1)
def standard_attributes() -> frozenset[str]:
    """The standard attribute names the file's search description lists."""
    description = openapi_document()["paths"]["/customers/search"]["post"].get("description", "")
    listed = set(re.findall(r'"((?:customer|conversation|message|note|kobject|company)_[A-Za-z_]+)"\s*:\s*\{', description))
    # The sortable customer attributes are listed apart from the schema.
    listed.update(re.findall(r"^(customer_[a-z_A-Z]+)$", description, re.MULTILINE))
    return frozenset(listed)


# -- records and their links ------------------------------------------------------------
def _collection(org: Org, obj: str) -> dict[str, dict]:
    return {
        "customer": org.customers, "conversation": org.conversations, "message": org.messages,
        "note": org.notes, "kobject": org.kobjects,
    }[obj]


def _related(org: Org, context: str, record: dict, obj: str) -> list[dict]:
    """The records of type `obj` that `record` (of type `context`) is linked to."""
    if obj == context:
        return [record]
    if obj == "customer" and record.get("customer") in org.customers:
        return [org.customers[record["customer"]]]
    if obj == "conversation" and record.get("conversation") in org.conversations:
        return [org.conversations[record["conversation"]]]
    if context == "customer" and obj in ("conversation", "message", "note"):
        return [r for r in _collection(org, obj).values() if r.get("customer") == record["id"]]
    if context == "conversation" and obj in ("message", "note"):
        return [r for r in _collection(org, obj).values() if r.get("conversation") == record["id"]]
    return []


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _split_attribute(name: str) -> tuple[str, str]:
    for obj in OBJECTS:
        if name.startswith(obj + "_"):
            return obj, name[len(obj) + 1:]
    raise bad_param(f"Unknown search attribute: {name}", name)


def _check_attribute(name: str) -> tuple[str, str]:
    obj, attribute = _split_attribute(name)
    if not attribute.startswith("custom_") and name not in standard_attributes():
        raise bad_param(f"Unknown search attribute: {name}", name)
    return obj, attribute


def _values(record: dict, obj: str, attribute: str) -> list[Any]:
    """The record's value(s) for a search attribute (lists flatten: any element matches)."""
    attributes = record.get("attributes", {})
    if attribute.startswith("custom_"):
        value = (attributes.get("custom") or {}).get(attribute[len("custom_"):])
    elif attribute == "id":
        value = record["id"]
    elif attribute in ("customer_id", "conversation_id"):
        value = record.get(attribute[: -len("_id")])
    elif attribute == "imported":
        value = bool(attributes.get("importedAt"))
    elif attribute == "any_text":
        value = [v for v in attributes.values() if isinstance(v, str)]
    else:
        key = _ALIASES.get(f"{obj}_{attribute}", _camel(attribute))
        value = attributes.get(key)
        if key == "emails":
            value = [item.get("email") for item in value or []]
        elif key == "phones":
            value = [item.get("phone") for item in value or []]
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


# -- comparing ---------------------------------------------------------------------------
def _zone(name: str | None) -> timezone | ZoneInfo:
    if not name:
        return timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise bad_param(f"Unknown timeZone: {name}", "timeZone") from None


def _as_time(value: Any, zone: Any, *, end_of_day: bool = False) -> datetime | None:
    if not isinstance(value, str):
        return None
    if _DATE_ONLY.match(value):
        day = datetime.combine(datetime.fromisoformat(value).date(), dtime.min, tzinfo=zone)
        return day + timedelta(days=1) - timedelta(microseconds=1) if end_of_day else day
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _compare(actual: Any, operator: str, wanted: Any, zone: Any) -> bool:
    if operator in ("gt", "gte", "lt", "lte"):
        wanted_time = _as_time(wanted, zone, end_of_day=operator == "lte")
        actual_time = _as_time(actual, zone)
        if wanted_time is not None and actual_time is not None:
            left, right = actual_time, wanted_time
        elif isinstance(actual, (int, float)) and isinstance(wanted, (int, float)):
            left, right = actual, wanted
        elif isinstance(actual, str) and isinstance(wanted, str):
            left, right = actual, wanted
        else:
            return False
        return {"gt": left > right, "gte": left >= right, "lt": left < right, "lte": left <= right}[operator]
    if operator == "contains":
        return isinstance(actual, str) and str(wanted).lower() in actual.lower()
    if operator in ("equals", "in"):
        options = wanted if operator == "in" else [wanted]
        if not isinstance(options, list):
            return False
        return any(_same(actual, option, zone) for option in options)
    raise AssertionError(operator)


def _same(actual: Any, wanted: Any, zone: Any) -> bool:
    if isinstance(actual, str) and isinstance(wanted, str):
        if _DATE_ONLY.match(wanted) and _as_time(actual, zone) is not None:
            start = _as_time(wanted, zone)
            return start <= _as_time(actual, zone) < start + timedelta(days=1)
        return actual.lower() == wanted.lower()
    return actual == wanted


def _criterion_matches(org: Org, context: str, record: dict, criterion: dict, zone: Any) -> bool:
    if not isinstance(criterion, dict) or not criterion:
        raise bad_param("A criterion must be an object", "and")
    results = []
    for name, condition in criterion.items():
        if name in ("and", "or", "not"):
            results.append(_group_matches(org, context, record, name, condition, zone))
            continue
        obj, attribute = _check_attribute(name)
        if not isinstance(condition, dict) or len(condition) != 1:
            raise bad_param(f"{name}: give one operator, e.g. {{\"equals\": ...}}", name)
        operator, wanted = next(iter(condition.items()))
        if operator not in OPERATORS:
            raise bad_param(f"Unknown operator: {operator}", name, f"operators: {', '.join(sorted(OPERATORS))}")
        values = [v for related in _related(org, context, record, obj) for v in _values(related, obj, attribute)]
        if operator == "set":
            results.append(bool(values))
        elif operator == "not_set":
            results.append(not values)
        elif operator.startswith("not_"):
            positive = operator[len("not_"):]
            results.append(not any(_compare(v, positive, wanted, zone) for v in values))
        else:
            results.append(any(_compare(v, operator, wanted, zone) for v in values))
    return all(results)


def _items(condition: Any) -> list[Any]:
    if condition is None:
        return []
    return condition if isinstance(condition, list) else [condition]


def _group_matches(org: Org, context: str, record: dict, kind: str, condition: Any, zone: Any) -> bool:
    matches = [_criterion_matches(org, context, record, item, zone) for item in _items(condition)]
    if not matches:
        return True
    if kind == "and":
        return all(matches)
    if kind == "or":
        return any(matches)
    return not any(matches)  # not


def check_criteria(condition: Any, parameter: str = "and") -> None:
    """Reject unknown attributes and operators before looking at any record."""
    for item in _items(condition):
        if not isinstance(item, dict) or not item:
            raise bad_param("A criterion must be an object", parameter)
        for name, inner in item.items():
            if name in ("and", "or", "not"):
                check_criteria(inner, name)
                continue
            _check_attribute(name)
            if not isinstance(inner, dict) or len(inner) != 1:
                raise bad_param(f"{name}: give one operator, e.g. {{\"equals\": ...}}", name)
            operator = next(iter(inner))
            if operator not in OPERATORS:
                raise bad_param(f"Unknown operator: {operator}", name, f"operators: {', '.join(sorted(OPERATORS))}")


def record_matches(org: Org, context: str, record: dict, body: dict, zone: Any) -> bool:
    return all(
        _group_matches(org, context, record, kind, body.get(kind), zone) for kind in ("and", "or", "not")
    )


# -- sorting -----------------------------------------------------------------------------
def _sort_key(record: dict, obj: str, attribute: str, zone: Any) -> tuple:
    values = _values(record, obj, attribute)
    if not values:
        return (0, "")
    value = values[0]
    moment = _as_time(value, zone)
    if moment is not None:
        return (1, moment.timestamp())
    if isinstance(value, (int, float)):
        return (1, float(value))
    return (1, str(value).lower())


def sorted_records(records: list[dict], context: str, sort: Any, zone: Any) -> list[dict]:
    specs = _items(sort)
    # ObjectIds grow with creation order: the last tie-breaker, like the default order.
    records = sorted(records, key=lambda r: r["id"], reverse=True)
    if not specs:
        return sorted(records, key=lambda r: _sort_key(r, context, "updated_at", zone), reverse=True)
    for spec in reversed(specs):
        if not isinstance(spec, dict) or len(spec) != 1:
            raise bad_param("sort items look like {\"<attribute>\": \"asc\"}", "sort")
        name, direction = next(iter(spec.items()))
        obj, attribute = _check_attribute(name)
        if obj != context:
            raise bad_param(f"Cannot sort {context} results on {name}", "sort")
        if direction not in ("asc", "desc"):
            raise bad_param(f"Sort direction must be asc or desc, not {direction!r}", "sort")
        records = sorted(records, key=lambda r: _sort_key(r, obj, attribute, zone), reverse=direction == "desc")
    return records


# -- the endpoint ------------------------------------------------------------------------
def _renderer(org: Org, obj: str) -> Callable[[dict], dict]:
    if obj == "kobject":
        return lambda record: {
            "type": "kobject", "id": record["id"], "attributes": dict(record["attributes"]),
            "relationships": {"org": {"links": {"self": f"/v1/orgs/{org.id}"}, "data": {"type": "org", "id": org.id}}},
            "links": {"self": f"/v1/klasses/{record.get('klass', 'kobject')}/{record['id']}"},
        }
    render = {"customer": render_customer, "conversation": render_conversation,
              "message": render_message, "note": render_note}[obj]
    return lambda record: render(org, record)


def search_page(org: Org, body: dict, args: Any) -> dict[str, Any]:
    """One page of results for a validated search body."""
    context = body["queryContext"]
    obj, klass = ("kobject", context[len("kobject_"):]) if context.startswith("kobject_") else (context, None)
    if obj not in OBJECTS:
        raise bad_param(f"queryContext {context!r} is not served by the sandbox", "queryContext")
    zone = _zone(body.get("timeZone"))
    for kind in ("and", "or", "not"):
        check_criteria(body.get(kind), kind)
    page, size = page_params(args)
    size = min(size, MAX_SEARCH_PAGE_SIZE)
    if page > MAX_PAGES:
        raise bad_param(f"Search stops at page {MAX_PAGES}", "page", f"page {page} is past the {MAX_PAGES}-page limit")
    records = [
        record for record in _collection(org, obj).values()
        if (klass is None or record.get("klass") == klass) and record_matches(org, obj, record, body, zone)
    ]
    records = sorted_records(records, obj, body.get("sort"), zone)
    total = len(records)
    total_pages = -(-total // size)
    chunk = records[(page - 1) * size: page * size]
    render = _renderer(org, obj)

    def link(number: int) -> str:
        return f"/v1/customers/search?{urlencode({'page': number, 'pageSize': size})}"

    has_next = page * size < total and page < MAX_PAGES
    return {
        "data": [render(record) for record in chunk],
        "meta": {"page": page, "pageSize": size, "total": total, "totalPages": total_pages, "aggregations": {}},
        "links": {
            "self": link(page),
            "first": link(1),
            "last": link(max(1, min(total_pages, MAX_PAGES))),
            "prev": link(page - 1) if page > 1 else None,
            "next": link(page + 1) if has_next else None,
        },
    }


def customer_search(ctx: ApiContext) -> tuple[int, dict]:
    body = ctx.body
    if not isinstance(body, dict):
        raise bad_param("Invalid type: expected object", "body", "/type")
    search_rate_take(ctx.org)
    validate_request_body("POST", "/customers/search", body)
    if not body.get("queryContext"):
        raise bad_param("Missing required property: queryContext", "queryContext", "/required")
    return 200, search_page(ctx.org, body, ctx.args)


ROUTES: list[tuple[str, str, Callable[..., tuple]]] = [
    ("POST", r"/v1/customers/search", customer_search),
]
