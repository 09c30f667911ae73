"""Read-only HTML pages: what the sync wrote, for a person to look at.

`/__sandbox/` lists the orgs; `/__sandbox/view/<org id>` shows each customer and each
conversation's timeline (messages, notes, attachments, custom attributes, assignees,
status). Everything that came from a request is escaped with `html.escape`.
"""
from __future__ import annotations

import json
from html import escape
from typing import Any

from .store import Org, SandboxState

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1d2430;background:#f6f7f9}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem}h3{font-size:1rem;margin:.8rem 0 .3rem}
table{border-collapse:collapse;background:#fff}td,th{border:1px solid #d8dce3;padding:.3rem .6rem;text-align:left;vertical-align:top}
.card{background:#fff;border:1px solid #d8dce3;border-radius:6px;padding:.8rem 1rem;margin:.8rem 0}
.conv{margin-left:1rem;border-left:3px solid #7a8aa5;padding-left:.8rem}
.status-open{color:#0a7b3e}.status-done{color:#666}.status-snoozed{color:#a36b00}
.item{margin:.3rem 0;padding:.3rem .5rem;border-radius:4px}.message{background:#eef4ff}.note{background:#fff7d6}
.meta{color:#5b6575;font-size:12px}code{background:#eef0f3;padding:0 .2rem;border-radius:3px}
"""


def _page(title: str, body: str, refresh: int | None = None) -> str:
    refresh_tag = f'<meta http-equiv="refresh" content="{int(refresh)}">' if refresh else ""
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">{refresh_tag}'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>{body}</body></html>"
    )


def _json(value: Any) -> str:
    return escape(json.dumps(value, ensure_ascii=False, sort_keys=True))


def render_index(state: SandboxState) -> str:
    with state.lock:
        rows = "".join(
            f'<tr><td><a href="/__sandbox/view/{escape(org.id)}">{escape(org.name)}</a></td>'
            f"<td><code>{escape(org.id)}</code></td><td>{len(org.customers)}</td>"
            f"<td>{len(org.conversations)}</td><td>{len(org.users)}</td></tr>"
            for org in state.orgs.values()
        )
    table = (
        "<table><tr><th>Org</th><th>Id</th><th>Customers</th><th>Conversations</th><th>Users</th></tr>"
        f"{rows}</table>" if rows else "<p>No orgs yet. Create one with <code>POST /__sandbox/orgs</code>.</p>"
    )
    return _page("Kustomer sandbox", f"<h1>Kustomer sandbox</h1>{table}")


NO_CONVERSATIONS = '<div class="meta">No conversations.</div>'


def _custom_html(custom: dict | None) -> str:
    return f'<div class="meta">Custom attributes: {_json(custom)}</div>' if custom else ""


def _user_names(org: Org, user_ids: list[str]) -> str:
    names = [org.users[uid]["attributes"]["name"] if uid in org.users else uid for uid in user_ids]
    return f"assigned to {escape(', '.join(names))}" if names else "unassigned"


def _attachments_html(org: Org, attachment_ids: list[str]) -> str:
    parts = []
    for attachment_id in attachment_ids:
        attachment = org.attachments.get(attachment_id)
        if attachment is None:
            continue
        attributes = attachment["attributes"]
        label = f"{attributes['name']} ({attributes['contentType']}, {attributes['contentLength']} bytes)"
        if attributes["uploaded"]:
            parts.append(f'<a href="/__uploads/{escape(attachment_id)}">{escape(label)}</a>')
        else:
            parts.append(f"{escape(label)} <em>not uploaded</em>")
    return f'<div class="meta">Attachments: {"; ".join(parts)}</div>' if parts else ""


def _timeline_html(org: Org, conversation_id: str) -> str:
    items = [("message", m) for m in org.messages.values() if m["conversation"] == conversation_id]
    items += [("note", n) for n in org.notes.values() if n["conversation"] == conversation_id]
    items.sort(key=lambda pair: pair[1]["attributes"]["createdAt"])
    parts = []
    for kind, record in items:
        attributes = record["attributes"]
        if kind == "message":
            head = f"Message · {attributes.get('channel', '')} · {attributes.get('direction', '')}"
            text = attributes.get("preview", "")
        else:
            head = "Note"
            text = attributes.get("body", "")
        custom = attributes.get("custom")
        parts.append(
            f'<div class="item {kind}"><div class="meta">{escape(head)} · {escape(attributes["createdAt"])}'
            f'{" · externalId " + escape(attributes["externalId"]) if attributes.get("externalId") else ""}</div>'
            f"<div>{escape(text)}</div>"
            f"{_custom_html(custom)}"
            f"{_attachments_html(org, record.get('attachments', []))}</div>"
        )
    return "".join(parts) or '<div class="meta">No messages or notes.</div>'


def render_org(state: SandboxState, org_id: str, refresh: int | None = None) -> str | None:
    with state.lock:
        org = state.orgs.get(org_id)
        if org is None:
            return None
        sections = []
        for customer in org.customers.values():
            attributes = customer["attributes"]
            emails = ", ".join(e["email"] for e in attributes.get("emails", []))
            phones = ", ".join(p["phone"] for p in attributes.get("phones", []))
            conversations = sorted(
                (c for c in org.conversations.values() if c["customer"] == customer["id"]),
                key=lambda c: c["attributes"]["createdAt"],
            )
            conv_html = "".join(
                f'<div class="conv"><h3>{escape(c["attributes"].get("name") or "(no name)")} '
                f'<span class="status-{escape(c["attributes"]["status"])}">[{escape(c["attributes"]["status"])}]</span></h3>'
                f'<div class="meta">Conversation <code>{escape(c["id"])}</code>'
                f'{" · externalId " + escape(c["attributes"]["externalId"]) if c["attributes"].get("externalId") else ""}'
                f' · {_user_names(org, c["attributes"].get("assignedUsers", []))}'
                f' · direction {escape(c["attributes"].get("direction", ""))}</div>'
                f"{_custom_html(c['attributes'].get('custom'))}"
                f"{_timeline_html(org, c['id'])}</div>"
                for c in conversations
            )
            sections.append(
                f'<div class="card"><h2>{escape(attributes.get("displayName", ""))}</h2>'
                f'<div class="meta">Customer <code>{escape(customer["id"])}</code>'
                f'{" · externalId " + escape(attributes["externalId"]) if attributes.get("externalId") else ""}'
                f" · emails {escape(emails) or '-'} · phones {escape(phones) or '-'}</div>"
                f"{_custom_html(attributes.get('custom'))}"
                f"{conv_html or NO_CONVERSATIONS}</div>"
            )
        agents = "".join(
            f"<tr><td>{escape(u['attributes']['name'])}</td><td>{escape(u['attributes'].get('email') or '')}</td>"
            f"<td>{escape(_agent_status(org, u['id']))}</td></tr>"
            for u in org.users.values() if u["attributes"]["userType"] == "user"
        )
        title = f"Sandbox org {org.name}"
        body = (
            f'<p><a href="/__sandbox/">All orgs</a></p><h1>{escape(org.name)}</h1>'
            f'<div class="meta">Org <code>{escape(org.id)}</code></div>'
            + (f"<h2>Agents</h2><table><tr><th>Name</th><th>Email</th><th>Status</th></tr>{agents}</table>" if agents else "")
            + "<h2>Customers</h2>"
            + ("".join(sections) or "<p>No customers yet.</p>")
        )
    return _page(title, body, refresh)


def _agent_status(org: Org, user_id: str) -> str:
    session = org.active_work_session(user_id)
    if session is None:
        return "Offline (no active work session)"
    status = org.statuses.get(session["status"])
    return f"{status['attributes']['name']} ({status['attributes']['statusType']})" if status else "?"
