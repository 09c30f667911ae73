"""Kustomer's metadata PUT, made safe under either reading of its semantics (pure).

Kustomer documents `PUT /v1/metadata/{resource}` as setting the properties it is given;
whether it also drops the ones a body leaves out is not documented. So every body sends
back what the klass already has (without Kustomer's own bookkeeping), and a PUT of ours
never erases an attribute someone else made, whichever reading is true.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Bookkeeping Kustomer writes itself; sending it back could be refused as read-only.
SERVER_OWNED_KEYS = frozenset({"modifiedBy", "modifiedAt", "updatedAt", "createdAt", "createdBy", "org", "id"})
MAX_PROPERTIES_PER_PUT = 100  # the OpenAPI file's `maxProperties` for a metadata PUT


def merged_metadata_properties(existing: Mapping[str, Any], additions: Mapping[str, Mapping[str, Any]]) -> dict[str, dict]:
    """The `properties` body of a metadata PUT that adds `additions` and keeps everything
    the klass already has. Only when that would pass Kustomer's limit of 100 properties
    per request are the additions sent alone, relying on the documented per-property
    reading."""
    kept = {
        name: {k: v for k, v in dict(definition).items() if k not in SERVER_OWNED_KEYS}
        for name, definition in existing.items()
        if isinstance(definition, Mapping) and name not in additions
    }
    added = {name: dict(definition) for name, definition in additions.items()}
    if len(kept) + len(added) > MAX_PROPERTIES_PER_PUT:
        return added
    return {**kept, **added}


def missing_properties(existing: Mapping[str, Any], wanted: Mapping[str, Mapping[str, Any]]) -> dict[str, dict]:
    """The definitions of `wanted` that the klass lacks, or has with other values."""
    missing: dict[str, dict] = {}
    for name, definition in wanted.items():
        have = existing.get(name)
        if not isinstance(have, Mapping) or any(have.get(k) != v for k, v in definition.items()):
            missing[name] = dict(definition)
    return missing
