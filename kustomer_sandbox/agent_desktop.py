"""The sandbox's agent desktop: Kustomer around the installed apps' widgets.

GET /__sandbox/desktop/{org}[?agent=<email>]   (also /__sandbox/host/{org}, its old name)
    HTML: the agent's Kustomer status picker (changes their work session, like the
    control endpoint POST /__sandbox/orgs/{org}/agents/status), a customer panel whose
    phone numbers are click-to-dial, a conversation panel, and a navigation rail with
    every widget of every app installed in the org, rendered from its app definition
    ("Widgets", developer.kustomer.com/docs/apps/widgets): the widget's `url` with the
    installed app's `{{{settings.<category>.<name>}}}` values filled in, plus
    `parentUrl` and `id` (Cards SDK); its `width` and `height`; its `iframePermissions`
    as the iframe's `allow`; its title from `i18n` (`<app>.widgets.<name>.title`, the
    agent's locale falling back to en_us) or `title`.
GET /__sandbox/desktop/{org}/data[?agent=<email>]
    JSON the page polls: {"agent": {email, name, status, ...}, "statuses": [names],
    "customers": [{id, displayName, phones, emails}], "conversations": [...]}.

The page speaks to each widget only through the Cards SDK stand-in
(`/__sandbox/card-js/kustomer-card.min.js`, see cards_sdk.py): it answers `initialize`
with the context, sends `context` when the agent looks at another customer,
`clickToDial` when they click a phone number and `statusChange` when they change their
status; it follows `resize` and `close`. Messages go to each widget's own origin and are
accepted only from that widget's frame at that origin.
"""
from __future__ import annotations

import json
import re
import secrets
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit

from werkzeug.wrappers import Request, Response

from .apps_platform import SETTING_REF, registry

if TYPE_CHECKING:
    from .app import SandboxApp
    from .store import Org


def _agent(org: "Org", email: str | None) -> dict | None:
    if email:
        return org.find_user_by_email(email)
    return next((u for u in org.users.values() if u["attributes"].get("userType") == "user"), None)


def host_data(org: "Org", agent_email: str | None) -> dict[str, Any]:
    """What the page shows, read under the state lock by the caller."""
    agent = _agent(org, agent_email)
    status = session = None
    if agent is not None:
        session = org.active_work_session(agent["id"])
        status = org.statuses.get(session["status"]) if session else None
    return {
        "agent": ({"id": agent["id"], "email": agent["attributes"].get("email"), "name": agent["attributes"].get("name"),
                   "status": status["attributes"]["name"] if status else None,
                   "statusId": status["id"] if status else None,
                   "statusType": status["attributes"].get("statusType") if status else None,
                   "statusChangedAt": session["attributes"].get("statusUpdatedAt") if session else None}
                  if agent else None),
        "statuses": [s["attributes"]["name"] for s in org.statuses.values()],
        "customers": [
            {"id": c["id"], "displayName": c["attributes"].get("displayName") or "",
             "phones": [p.get("phone") for p in c["attributes"].get("phones", []) if p.get("phone")],
             "emails": [e.get("email") for e in c["attributes"].get("emails", []) if e.get("email")]}
            for c in org.customers.values()
        ],
        "conversations": [
            {"id": c["id"], "name": c["attributes"].get("name") or "", "status": c["attributes"].get("status"),
             "customer": c["customer"], "createdAt": c["attributes"].get("createdAt"),
             "timeline": _timeline(org, c["id"])}
            for c in org.conversations.values()
        ],
    }


def _timeline(org: "Org", conversation_id: str, limit: int = 20) -> list[dict[str, Any]]:
    """The conversation's messages and notes, oldest first (the screen pop's history)."""
    items = [("message", m) for m in org.messages.values() if m["conversation"] == conversation_id]
    items += [("note", n) for n in org.notes.values() if n["conversation"] == conversation_id]
    items.sort(key=lambda pair: pair[1]["attributes"]["createdAt"])
    return [
        {"kind": kind, "at": record["attributes"]["createdAt"],
         "text": (record["attributes"].get("preview") if kind == "message" else record["attributes"].get("body")) or ""}
        for kind, record in items[-limit:]
    ]


def _script_json(value: Any) -> str:
    # Safe inside <script>: no "<", ">" or "&" reaches the HTML parser as markup.
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


STYLE = """
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,sans-serif;color:#1d2430;background:#eef0f4}
.top{display:flex;align-items:center;gap:1rem;padding:.55rem 1rem;background:#2b2d42;color:#fff}
.top .brand{font-weight:700;letter-spacing:.02em}.top .muted{color:#c7cbd6}.top select{font:inherit;padding:.2rem .4rem;border-radius:4px}
.top .spacer{flex:1}
.desk{display:grid;grid-template-columns:280px 1fr auto;gap:1rem;padding:1rem;min-height:calc(100vh - 44px)}
.pane{background:#fff;border:1px solid #d8dce3;border-radius:8px;padding:.8rem 1rem;overflow:auto}
.pane h2{font-size:.75rem;text-transform:uppercase;letter-spacing:.05em;color:#5b6575;margin:.2rem 0 .6rem}
.customer{padding:.5rem;border-radius:6px;cursor:pointer;border:1px solid transparent}
.customer:hover{background:#f3f5fa}.customer.selected{border-color:#4f46e5;background:#eef2ff}
.customer .name{font-weight:600}.phone{display:inline-block;margin:.2rem .3rem 0 0;background:#e0f2fe;color:#075985;border:0;border-radius:999px;padding:.1rem .6rem;cursor:pointer;font:inherit;font-size:.85rem}
.conv{border-left:3px solid #7a8aa5;padding:.3rem .6rem;margin:.4rem 0}.conv.opened{border-color:#4f46e5;background:#eef2ff}
.meta{color:#5b6575;font-size:12px}.item{margin:.35rem 0;padding:.3rem .5rem;border-radius:4px;white-space:pre-wrap}.item.message{background:#eef4ff}.item.note{background:#fff7d6}.note{background:#fff7d6;border-radius:6px;padding:.4rem .6rem;margin:.4rem 0}.note:empty{display:none}
.rail{display:flex;gap:.4rem;margin-bottom:.5rem}.rail button{border:1px solid #d8dce3;background:#fff;border-radius:8px;padding:.2rem;cursor:pointer}
.rail img{width:28px;height:28px;display:block}.rail button.open{border-color:#4f46e5}
.widget{background:#fff;border:1px solid #d8dce3;border-radius:8px;margin-bottom:.6rem;overflow:hidden}
.widget h3{margin:0;padding:.35rem .6rem;font-size:.8rem;background:#f3f5fa;border-bottom:1px solid #d8dce3}
.widget iframe{border:0;display:block;max-width:100%;transition:height .2s}.widget[hidden]{display:none}
input{font:inherit;padding:.3rem .4rem;border:1px solid #cfd4dc;border-radius:4px;width:100%}
"""


SCRIPT = r"""
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("desktop-config").textContent);
  var data = cfg.data, selected = null, opened = null;
  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text != null) e.textContent = text; return e; }
  function log(text) { $("sdk-log").textContent = text; }
  // -------------------------------------------------------------- widgets (Cards SDK)
  var widgets = cfg.widgets.map(function (w) {
    w.frame = $(w.frameId); w.box = $(w.boxId); w.ready = false;
    var sep = w.src.indexOf("?") >= 0 ? "&" : "?";
    w.frame.src = w.src + sep + "parentUrl=" + encodeURIComponent(location.href) + "&id=" + encodeURIComponent(w.cardId);
    return w;
  });
  function toWidget(w, message) {
    message.source = "kustomer"; message.id = w.cardId;
    w.frame.contentWindow.postMessage(message, w.origin);
  }
  function broadcast(eventName, payload) {
    widgets.forEach(function (w) { if (w.ready) toWidget(w, {event: eventName, data: payload}); });
  }
  function openWidgets() {
    widgets.forEach(function (w) { w.box.hidden = false; var b = $(w.railId); if (b) b.classList.add("open"); });
  }
  function kustomerCustomer(c) {
    return {type: "customer", id: c.id, attributes: {displayName: c.displayName,
      phones: c.phones.map(function (p) { return {phone: p, type: "mobile"}; }),
      emails: c.emails.map(function (e) { return {email: e, type: "home"}; })}};
  }
  function context() {
    var customer = data.customers.find(function (c) { return c.id === selected; });
    var conv = opened && data.conversations.find(function (c) { return c.id === opened; });
    return {
      type: conv ? "conversation" : (customer ? "customer" : "widget"),
      customer: customer ? kustomerCustomer(customer) : null,
      conversation: conv ? {type: "conversation", id: conv.id, attributes: {name: conv.name, status: conv.status}} : null,
      user: data.agent ? {type: "user", id: data.agent.id, attributes: {email: data.agent.email, name: data.agent.name}} : null,
      widget: {open: true}
    };
  }
  function sendContext() { broadcast("context", context()); }
  window.addEventListener("message", function (event) {
    var w = widgets.find(function (x) { return event.source === x.frame.contentWindow; });
    if (!w || event.origin !== w.origin) return;  // only a widget's own frame, at its own origin
    var msg = event.data;
    if (!msg || msg.source !== "kustomer-card" || msg.id !== w.cardId) return;
    var p = msg.payload || {};
    if (msg.method !== "resize") log(w.title + ": Kustomer." + msg.method + "()");
    if (msg.method === "initialize") {
      w.ready = true; w.frame.setAttribute("data-initialized", "1");
      toWidget(w, {reply: msg.seq, data: {context: context(), config: {userRoles: ["org.user"]}}});
    } else if (msg.method === "resize" && typeof p.height === "number") {
      var h = Math.max(32, Math.min(p.height, window.innerHeight * 0.9));
      w.frame.style.height = h + "px"; w.frame.setAttribute("data-height", String(Math.round(h)));
    } else if (msg.method === "close") {
      w.box.hidden = true; var b = $(w.railId); if (b) b.classList.remove("open");
    } else if (msg.method === "request") {
      toWidget(w, {reply: msg.seq, data: {error: "Kustomer.request is not served by the sandbox desktop"}});
    }
  });
  widgets.forEach(function (w) {
    var b = $(w.railId);
    if (b) b.addEventListener("click", function () { w.box.hidden = !w.box.hidden; b.classList.toggle("open", !w.box.hidden); });
  });
  // -------------------------------------------------------------- the desktop
  function dial(phone, customer) {
    openWidgets();
    broadcast("clickToDial", {phone: phone, customer: customer ? kustomerCustomer(customer) : null});
  }
  function render() {
    $("agent-name").textContent = data.agent ? (data.agent.name + " <" + data.agent.email + ">") : "no agent";
    var picker = $("status-picker");
    if (document.activeElement !== picker) {
      picker.innerHTML = "";
      data.statuses.forEach(function (s) { var o = el("option", null, s); o.value = s; picker.appendChild(o); });
      picker.value = data.agent && data.agent.status || "";
    }
    var list = $("customers"); list.innerHTML = "";
    if (!data.customers.length) list.appendChild(el("p", "meta", "No customers in this org yet."));
    data.customers.forEach(function (c) {
      var box = el("div", "customer" + (c.id === selected ? " selected" : ""));
      box.setAttribute("data-customer-id", c.id);
      box.appendChild(el("div", "name", c.displayName || c.id));
      c.phones.forEach(function (p) {
        var b = el("button", "phone", p); b.type = "button"; b.title = "Click to dial";
        b.setAttribute("data-phone", p);
        b.addEventListener("click", function (e) {
          e.stopPropagation(); selected = c.id; render(); sendContext(); dial(p, c);
        });
        box.appendChild(b);
      });
      box.addEventListener("click", function () { selected = c.id; opened = null; render(); sendContext(); });
      list.appendChild(box);
    });
    var convs = $("conversations"); convs.innerHTML = "";
    var shown = data.conversations.filter(function (c) { return !selected || c.customer === selected || c.id === opened; });
    if (!shown.length) convs.appendChild(el("p", "meta", selected ? "No conversations for this customer." : "Pick a customer."));
    shown.forEach(function (c) {
      var d = el("div", "conv" + (c.id === opened ? " opened" : ""));
      d.setAttribute("data-conversation-id", c.id);
      d.appendChild(el("div", null, c.name || "(no name)"));
      d.appendChild(el("div", "meta", c.status + " · " + c.id));
      d.addEventListener("click", function () { opened = c.id; selected = c.customer; render(); sendContext(); });
      if (c.id === opened) {
        (c.timeline.length ? c.timeline : [{kind: "meta", at: "", text: "No messages or notes yet."}]).forEach(function (item) {
          var row = el("div", "item " + item.kind);
          row.appendChild(el("div", "meta", (item.kind === "note" ? "Note" : item.kind === "message" ? "Message" : "") + (item.at ? " · " + item.at : "")));
          row.appendChild(el("div", null, item.text));
          d.appendChild(row);
        });
      }
      convs.appendChild(d);
    });
  }
  // The agent's Kustomer status, told to the widgets whenever it changes (status sync).
  var lastStatusKey = data.agent ? data.agent.statusId + "@" + data.agent.statusChangedAt : null;
  function reportStatus() {
    if (!data.agent || !data.agent.statusId) return;
    var key = data.agent.statusId + "@" + data.agent.statusChangedAt;
    if (key === lastStatusKey) return;
    lastStatusKey = key;
    broadcast("statusChange", {status: {id: data.agent.statusId, name: data.agent.status,
      statusType: data.agent.statusType}, changedAt: data.agent.statusChangedAt});
  }
  function refresh() {
    return fetch(cfg.dataUrl).then(function (r) { return r.json(); }).then(function (d) { data = d; render(); reportStatus(); });
  }
  $("status-picker").addEventListener("change", function () {
    var status = this.value;
    fetch(cfg.statusUrl, {method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({email: data.agent.email, status: status})})
      .then(function (r) { return r.json().then(function (b) { return {ok: r.ok, body: b}; }); })
      .then(function (r) {
        $("status-note").textContent = r.ok ? ("Kustomer status: " + status) : ("Error: " + r.body.error);
        return refresh();
      });
  });
  $("manual-call").addEventListener("submit", function (e) {
    e.preventDefault();
    var phone = $("manual-phone").value.trim();
    if (phone) dial(phone, null);
  });
  render();
  setInterval(refresh, 3000);
})();
"""


def _css_size(value: Any, default: str) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value}px"
    return value if isinstance(value, str) and value.strip() else default


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def installed_widgets(org: "Org", locale: str = "en_us") -> list[dict[str, Any]]:
    """Every widget of every app installed in the org, as the desktop shows it."""
    apps = registry(org)
    widgets = []
    for installation in apps.installed.values():
        definition = apps.versions[installation.app][installation.version]
        i18n = definition.get("i18n") or {}
        for index, widget in enumerate(definition.get("widgets") or []):
            name = widget.get("name") or f"widget{index}"
            key = f"{definition['app']}.widgets.{name}.title"
            title = ((i18n.get(locale) or {}).get(key) or (i18n.get("en_us") or {}).get(key)
                     or widget.get("title") or definition.get("title") or name)
            values = installation.settings
            src = SETTING_REF.sub(lambda m: quote(str((values.get(m.group(1)) or {}).get(m.group(2)) or ""), safe=":/"),
                                  widget["url"])
            origin = _origin(src)
            if origin is None:
                continue
            slug = re.sub(r"[^a-z0-9]+", "-", f"{installation.app}-{name}".lower())
            widgets.append({
                "app": installation.app, "version": installation.version, "name": name, "title": title,
                "src": src, "origin": origin, "icon": widget.get("icon"), "cardId": secrets.token_hex(6),
                "width": _css_size(widget.get("width"), "360px"), "height": _css_size(widget.get("height"), "560px"),
                "allow": widget.get("iframePermissions") or "",
                "frameId": f"frame-{slug}", "boxId": f"box-{slug}", "railId": f"rail-{slug}",
            })
    return widgets


def render_desktop(org: "Org", *, agent_email: str | None, base_path: str, locale: str = "en_us") -> str:
    data = host_data(org, agent_email)
    widgets = installed_widgets(org, locale)
    agent_q = f"?{urlencode({'agent': data['agent']['email']})}" if data["agent"] else ""
    config = {"data": data, "widgets": widgets, "dataUrl": f"{base_path}/data{agent_q}",
              "statusUrl": f"/__sandbox/orgs/{org.id}/agents/status"}
    rail = "".join(
        f'<button type="button" class="open" id="{w["railId"]}" title="{escape(w["title"])}" data-testid="widget-rail">'
        f'<img alt="{escape(w["title"])}" src="{escape(w["icon"] or "")}"></button>' for w in widgets)
    frames = "".join(
        f'<div class="widget" id="{w["boxId"]}" data-testid="widget" data-app="{escape(w["app"])}" data-widget="{escape(w["name"])}" '
        f'data-version="{escape(w["version"])}"><h3>{escape(w["title"])}</h3>'
        f'<iframe id="{w["frameId"]}" title="{escape(w["title"])}" data-testid="widget-frame" data-widget="{escape(w["name"])}" '
        f'allow="{escape(w["allow"])}" style="width:{escape(w["width"])};height:{escape(w["height"])}"></iframe></div>'
        for w in widgets)
    if not widgets:
        frames = (f'<p class="meta" data-testid="no-widgets">No app with a widget is installed in this org. '
                  f'<a href="/__sandbox/apps/{org.id}">Manage Apps</a></p>')
    body = f"""
<div class="top">
  <span class="brand">Kustomer</span><span class="muted">sandbox agent desktop · {escape(org.name)}</span>
  <a class="muted" href="/__sandbox/apps/{org.id}" data-testid="manage-apps-link">Manage Apps</a>
  <span class="spacer"></span>
  <span class="muted">Signed in as <span id="agent-name"></span></span>
  <label class="muted" for="status-picker">My status</label>
  <select id="status-picker" data-testid="kustomer-status-picker"></select>
  <span id="status-note" class="muted" data-testid="kustomer-status-note"></span>
</div>
<div class="desk">
  <div class="pane" data-testid="customer-panel">
    <h2>Customers</h2>
    <div id="customers"></div>
    <h2 style="margin-top:1.2rem">Call any number</h2>
    <form id="manual-call"><input id="manual-phone" type="tel" placeholder="+1 415 555 0199"></form>
  </div>
  <div class="pane" data-testid="conversation-panel">
    <h2>Conversations</h2>
    <div id="conversations"></div>
    <p class="meta" id="sdk-log" data-testid="sdk-log"></p>
  </div>
  <div data-testid="widgets">
    <div class="rail">{rail}</div>
    {frames}
  </div>
</div>
<script type="application/json" id="desktop-config">{_script_json(config)}</script>
<script>{SCRIPT}</script>"""
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Kustomer sandbox · {escape(org.name)}</title>'
            f"<style>{STYLE}</style></head><body>{body}</body></html>")


def desktop_page(app: "SandboxApp", request: Request, org_id: str) -> Response:
    org = app.state.orgs.get(org_id)
    if org is None:
        return Response(json.dumps({"error": f"no org {org_id}"}), status=404, content_type="application/json")
    page = render_desktop(org, agent_email=request.args.get("agent"), base_path=f"/__sandbox/desktop/{org_id}",
                          locale=request.args.get("locale", "en_us"))
    return Response(page, content_type="text/html; charset=utf-8")


def desktop_data(app: "SandboxApp", request: Request, org_id: str) -> Response:
    org = app.state.orgs.get(org_id)
    if org is None:
        return Response(json.dumps({"error": f"no org {org_id}"}), status=404, content_type="application/json")
    return Response(json.dumps(host_data(org, request.args.get("agent"))), content_type="application/json")
