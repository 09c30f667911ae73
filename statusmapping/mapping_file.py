"""R-O4: the status map as a file (pure: no ORM, no settings, no I/O).

A file holds the Kustomer → CC map and the two-way choices *by status names*, so it
imports into another tenant whose Kustomer org has other ids:

    {"format": "status-mapping", "version": 1, "exported_at": "...", "tenant": "acme",
     "cc_statuses": [{"name": "Break", "routable": false, "activity": "none"}, ...],
     "mapping": [{"kustomer_status": "Away", "cc_status": "Break"}, ...],
     "push": [{"cc_status": "Break", "kustomer_status": "Away"}, ...]}

`mapping_file_parse` reads one and says what is wrong with it per entry, with the line
of the file the entry starts on.
"""
from __future__ import annotations

import json
import json.scanner
from dataclasses import dataclass, field

from django.utils.translation import gettext

FORMAT = "status-mapping"
VERSION = 1
ACTIVITIES = ("none", "call", "wrap_up")


class _Entry(dict):
    """A JSON object that remembers the line it starts on."""

    line: int = 0


def _loads_with_lines(text: str):
    decoder = json.JSONDecoder()
    parse_object = decoder.parse_object

    def parse_with_line(s_and_end, *args, **kwargs):
        s, end = s_and_end
        obj, after = parse_object(s_and_end, *args, **kwargs)
        entry = _Entry(obj)
        entry.line = s.count("\n", 0, end) + 1
        return entry, after

    decoder.parse_object = parse_with_line
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # the pure-Python scanner calls parse_object
    return decoder.decode(text)


@dataclass(frozen=True, slots=True)
class FileError:
    entry: str  # "mapping[2]", "push[0]", "cc_statuses[1]", "file"
    line: int | None
    message: str

    def as_dict(self) -> dict:
        return {"entry": self.entry, "line": self.line, "message": self.message}


@dataclass(frozen=True, slots=True)
class CCStatusSpec:
    name: str
    routable: bool
    activity: str


@dataclass(frozen=True, slots=True)
class MappingFile:
    """A parsed file: names only. `mapping`: Kustomer status name → CC status name (None:
    not mapped); `push`: CC status name → Kustomer status name (None: not sent)."""

    cc_statuses: tuple[CCStatusSpec, ...] = ()
    mapping: dict[str, str | None] = field(default_factory=dict)
    push: dict[str, str | None] = field(default_factory=dict)
    # The line of each entry (for errors found later, against the tenant's statuses).
    lines: dict[str, int] = field(default_factory=dict)


def mapping_file_build(*, tenant: str, exported_at: str, cc_statuses: list[CCStatusSpec],
                       mapping: list[tuple[str, str | None]], push: list[tuple[str, str | None]]) -> str:
    """The file's text: one entry a line, so an import error's line names the entry."""
    def lines(items) -> str:
        return ",\n".join("    " + json.dumps(item, ensure_ascii=False) for item in items)

    head = json.dumps({"format": FORMAT, "version": VERSION, "exported_at": exported_at, "tenant": tenant},
                      ensure_ascii=False)[:-1]
    cc = lines({"name": s.name, "routable": s.routable, "activity": s.activity} for s in cc_statuses)
    mp = lines({"kustomer_status": k, "cc_status": c} for k, c in mapping)
    ps = lines({"cc_status": c, "kustomer_status": k} for c, k in push)
    return f'{head},\n  "cc_statuses": [\n{cc}\n  ],\n  "mapping": [\n{mp}\n  ],\n  "push": [\n{ps}\n  ]\n}}\n'


def _name(entry: dict, key: str, *, optional: bool) -> tuple[str | None, str | None]:
    value = entry.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return (None, None) if optional else (None, gettext("%(key)s is missing.") % {"key": key})
    if not isinstance(value, str):
        return None, gettext("%(key)s must be a status name (text).") % {"key": key}
    return value.strip(), None


def mapping_file_parse(text: str | bytes) -> tuple[MappingFile | None, list[FileError]]:
    """The file, or every error found in it (an entry per error, with its line)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            return None, [FileError("file", None, gettext("The file is not UTF-8 text."))]
    try:
        data = _loads_with_lines(text)
    except json.JSONDecodeError as exc:
        return None, [FileError("file", exc.lineno, gettext("Not JSON: %(reason)s (column %(column)s).") % {
            "reason": exc.msg, "column": exc.colno})]
    if not isinstance(data, dict):
        return None, [FileError("file", 1, gettext("The file must hold one JSON object."))]
    if data.get("format") != FORMAT:
        return None, [FileError("file", 1, gettext('Not a status mapping file (its "format" must be "%(format)s").') % {
            "format": FORMAT})]
    if data.get("version") != VERSION:
        return None, [FileError("file", 1, gettext("Version %(version)s of the format is not supported (this portal "
                                                   "reads version %(supported)s).") % {
            "version": repr(data.get("version")), "supported": VERSION})]
    errors: list[FileError] = []
    lines: dict[str, int] = {}

    def entries(key: str):
        items = data.get(key, [])
        if not isinstance(items, list):
            errors.append(FileError(key, getattr(data, "line", 1), gettext("%(key)s must be a list.") % {"key": key}))
            return []
        out = []
        for i, item in enumerate(items):
            where = f"{key}[{i}]"
            if not isinstance(item, dict):
                errors.append(FileError(where, None, gettext("Each entry must be an object.")))
                continue
            out.append((where, getattr(item, "line", None), item))
        return out

    cc_specs: list[CCStatusSpec] = []
    seen_cc: set[str] = set()
    for where, line, item in entries("cc_statuses"):
        name, problem = _name(item, "name", optional=False)
        activity = item.get("activity", "none")
        if problem is None and len(name) > 60:
            problem = gettext("A CC status name has at most 60 characters.")
        if problem is None and activity not in ACTIVITIES:
            problem = gettext("activity must be one of %(items)s.") % {"items": ", ".join(ACTIVITIES)}
        if problem is None and name.lower() in seen_cc:
            problem = gettext("%(name)s is listed twice.") % {"name": name}
        if problem:
            errors.append(FileError(where, line, problem))
            continue
        seen_cc.add(name.lower())
        cc_specs.append(CCStatusSpec(name=name, routable=bool(item.get("routable", False)), activity=activity))

    def pairs(key: str, first: str, second: str, twice: str) -> dict[str, str | None]:
        """Entries naming a status (`first`) and what it goes to (`second`, may be null)."""
        out: dict[str, str | None] = {}
        for where, line, item in entries(key):
            name, problem = _name(item, first, optional=False)
            other, problem2 = _name(item, second, optional=True)
            problem = problem or problem2
            if problem is None and name.lower() in {n.lower() for n in out}:
                problem = twice % {"name": name}
            if problem:
                errors.append(FileError(where, line, problem))
                continue
            out[name] = other
            lines[f"{key}:{name.lower()}"] = line
        return out

    mapping = pairs("mapping", "kustomer_status", "cc_status", gettext("The Kustomer status %(name)s is mapped twice."))
    push = pairs("push", "cc_status", "kustomer_status", gettext("The CC status %(name)s is listed twice."))
    if errors:
        return None, errors
    return MappingFile(cc_statuses=tuple(cc_specs), mapping=mapping, push=push, lines=lines), []
