"""The demo host page: the sandbox playing Kustomer's agent desktop around the adapter.

GET /__sandbox/host/{org}?portal=http://127.0.0.1:8000[&agent=<email>]
    HTML: the agent's Kustomer status picker (changes their work session, like the
    control endpoint POST /__sandbox/orgs/{org}/agents/status), a customer panel whose
    phone numbers fill the adapter's dialer, a conversation panel the adapter can open
    conversations in, and the adapter itself in an iframe (`{portal}/adapter/`).
GET /__sandbox/host/{org}/data[?agent=<email>]
    JSON the page polls: {"agent": {email, name, status}, "statuses": [names],
    "customers": [{id, displayName, phones, emails}], "conversations": [{id, name,
    status, customer}]}.

It talks to the adapter by postMessage in the shape of Kustomer's Cards SDK (see
adapter/static/adapter/adapter.js): context updates with the customer (and
conversation) in view and the Kustomer user, and click-to-call with a phone number.
Messages are sent to the portal's origin only and accepted only from the adapter's
frame at that origin.
"""
from __future__ import annotations

import json
import secrets
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from werkzeug.wrappers import Request, Response

if TYPE_CHECKING:
    from .app import SandboxApp
    from .store import Org

DEFAULT_PORTAL = "http://127.0.0.1:8000"


class HostPageError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _portal_origin(value: str) -> str:
    parts = urlsplit(value or DEFAULT_PORTAL)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HostPageError(400, "portal must be an http(s) URL, e.g. http://127.0.0.1:8000")
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


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
.desk{display:grid;grid-template-columns:280px 1fr 360px;gap:1rem;padding:1rem;min-height:calc(100vh - 44px)}
.pane{background:#fff;border:1px solid #d8dce3;border-radius:8px;padding:.8rem 1rem;overflow:auto}
.pane h2{font-size:.75rem;text-transform:uppercase;letter-spacing:.05em;color:#5b6575;margin:.2rem 0 .6rem}
.customer{padding:.5rem;border-radius:6px;cursor:pointer;border:1px solid transparent}
.customer:hover{background:#f3f5fa}.customer.selected{border-color:#4f46e5;background:#eef2ff}
.customer .name{font-weight:600}.phone{display:inline-block;margin:.2rem .3rem 0 0;background:#e0f2fe;color:#075985;border:0;border-radius:999px;padding:.1rem .6rem;cursor:pointer;font:inherit;font-size:.85rem}
.conv{border-left:3px solid #7a8aa5;padding:.3rem .6rem;margin:.4rem 0}.conv.opened{border-color:#4f46e5;background:#eef2ff}
.meta{color:#5b6575;font-size:12px}.item{margin:.35rem 0;padding:.3rem .5rem;border-radius:4px;white-space:pre-wrap}.item.message{background:#eef4ff}.item.note{background:#fff7d6}.note{background:#fff7d6;border-radius:6px;padding:.4rem .6rem;margin:.4rem 0}.note:empty{display:none}
iframe{width:100%;border:1px solid #d8dce3;border-radius:8px;background:#fff;height:560px;transition:height .2s}
iframe.minimized{height:46px}
input{font:inherit;padding:.3rem .4rem;border:1px solid #cfd4dc;border-radius:4px;width:100%}
"""

SCRIPT = r"""
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("host-config").textContent);
  var frame = document.getElementById("adapter-frame");
  var data = cfg.data, selected = null, opened = null;
  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text != null) e.textContent = text; return e; }
  function toAdapter(msg) {
    msg.source = "kustomer"; msg.id = cfg.cardId;
    frame.contentWindow.postMessage(msg, cfg.portalOrigin);
  }
  function kustomerCustomer(c) {
    return {type: "customer", id: c.id, attributes: {displayName: c.displayName,
      phones: c.phones.map(function (p) { return {phone: p, type: "mobile"}; }),
      emails: c.emails.map(function (e) { return {email: e, type: "home"}; })}};
  }
  function sendContext() {
    var customer = data.customers.find(function (c) { return c.id === selected; });
    var user = data.agent ? {type: "user", id: data.agent.id, attributes: {email: data.agent.email, name: data.agent.name}} : null;
    var conv = opened && data.conversations.find(function (c) { return c.id === opened; });
    toAdapter({event: "context", context: {
      type: conv ? "conversation" : (customer ? "customer" : "widget"),
      customer: customer ? kustomerCustomer(customer) : null,
      conversation: conv ? {type: "conversation", id: conv.id, attributes: {name: conv.name, status: conv.status}} : null,
      user: user}});
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
        var b = el("button", "phone", p); b.type = "button"; b.title = "Call with the contact center";
        b.setAttribute("data-phone", p);
        b.addEventListener("click", function (e) {
          e.stopPropagation(); selected = c.id; render(); sendContext();
          toAdapter({event: "clickToCall", phone: p, customerId: c.id, customerName: c.displayName});
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
      if (c.id === opened) {  // the screen pop: the conversation with its history
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
  // The agent's Kustomer status, as the desktop reports it to the adapter (which relays
  // it to the contact center, R-S4). Sent whenever it changes, never on load alone.
  var lastStatusKey = data.agent ? data.agent.statusId + "@" + data.agent.statusChangedAt : null;
  function reportStatus() {
    if (!data.agent || !data.agent.statusId) return;
    var key = data.agent.statusId + "@" + data.agent.statusChangedAt;
    if (key === lastStatusKey) return;
    lastStatusKey = key;
    toAdapter({event: "status", status: {id: data.agent.statusId, name: data.agent.status,
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
    if (phone) toAdapter({event: "clickToCall", phone: phone, customerId: null});
  });
  window.addEventListener("message", function (event) {
    // Only the adapter's own frame, at the portal's origin.
    if (event.origin !== cfg.portalOrigin || event.source !== frame.contentWindow) return;
    var msg = event.data;
    if (!msg || msg.source !== "kustomer-card" || (msg.id && msg.id !== cfg.cardId)) return;
    if (msg.method !== "resize") {
      $("sdk-log").textContent = "Adapter: " + msg.method + (msg.conversationId ? " " + msg.conversationId : "");
    }
    if (msg.method === "initialize") { frame.setAttribute("data-initialized", "1"); sendContext(); }
    else if (msg.method === "minimize") frame.classList.add("minimized");
    else if (msg.method === "restore") frame.classList.remove("minimized");
    else if (msg.method === "openConversation") {
      opened = msg.conversationId; selected = msg.customerId || selected;
      refresh().then(function () {
        $("opened").textContent = "Opened conversation " + msg.conversationId;
        $("opened").setAttribute("data-conversation-id", msg.conversationId);
        sendContext();
      });
    }
  });
  render();
  setInterval(refresh, 3000);
})();
"""


def render_host_page(org: "Org", *, portal: str, agent_email: str | None, base_path: str) -> str:
    portal_origin = _portal_origin(portal)
    data = host_data(org, agent_email)
    card_id = secrets.token_hex(6)
    # Kustomer opens an app page with `parentUrl` (the desktop's URL) and `id` (the card).
    adapter_src = f"{portal.rstrip('/')}/adapter/?parentUrl=__PARENT__&id={card_id}"
    agent_q = f"?agent={quote(data['agent']['email'])}" if data["agent"] else ""
    config = {
        "portalOrigin": portal_origin, "cardId": card_id, "data": data,
        "dataUrl": f"{base_path}/data{agent_q}",
        "statusUrl": f"/__sandbox/orgs/{org.id}/agents/status",
    }
    body = f"""
<div class="top">
  <span class="brand">Kustomer</span><span class="muted">sandbox agent desktop · {escape(org.name)}</span>
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
    <div id="opened" class="note" data-testid="opened-conversation"></div>
    <div id="conversations"></div>
    <p class="meta" id="sdk-log" data-testid="sdk-log"></p>
  </div>
  <div>
    <iframe id="adapter-frame" title="Contact center adapter" data-testid="adapter-frame"></iframe>
  </div>
</div>
<script type="application/json" id="host-config">{_script_json(config)}</script>
<script>
  document.getElementById("adapter-frame").src = {_script_json(adapter_src)}.replace("__PARENT__", encodeURIComponent(location.href));
</script>
<script>{SCRIPT}</script>"""
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Kustomer sandbox · {escape(org.name)}</title>'
            f"<style>{STYLE}</style></head><body>{body}</body></html>")


def host_page(app: "SandboxApp", request: Request, org_id: str) -> Response:
    org = app.state.orgs.get(org_id)
    if org is None:
        return Response(json.dumps({"error": f"no org {org_id}"}), status=404, content_type="application/json")
    try:
        page = render_host_page(org, portal=request.args.get("portal", DEFAULT_PORTAL),
                                agent_email=request.args.get("agent"), base_path=f"/__sandbox/host/{org_id}")
    except HostPageError as exc:
        return Response(json.dumps({"error": exc.message}), status=exc.status, content_type="application/json")
    return Response(page, content_type="text/html; charset=utf-8")


def host_page_data(app: "SandboxApp", request: Request, org_id: str) -> Response:
    org = app.state.orgs.get(org_id)
    if org is None:
        return Response(json.dumps({"error": f"no org {org_id}"}), status=404, content_type="application/json")
    return Response(json.dumps(host_data(org, request.args.get("agent"))), content_type="application/json")
