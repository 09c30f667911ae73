/* The contact-center adapter inside Kustomer: the widget of the tenant's Kustomer app
 * (SPEC R-X4; docs/adapter.md).
 *
 * Talks to:
 * - our API (/adapter/api/...) with the agent-bound token (Authorization: Adapter ...);
 * - Kustomer, only through the Cards SDK's public methods (kustomer-card.min.js, loaded
 *   by the page; Kustomer's "Cards SDK reference" and "Voice / VoIP apps"):
 *     Kustomer.initialize(cb)        once on load; cb(context) with the customer in view
 *     Kustomer.on("context", cb)     every time the agent looks at something else
 *     Kustomer.on("clickToDial", cb) {phone, customer}: a number clicked in Kustomer
 *     Kustomer.on("statusChange", cb) {status, changedAt}: the agent's Kustomer status
 *     Kustomer.resize(height)        the panel's height after every change
 *   The SDK itself talks to the one Kustomer window that framed the page (its
 *   `parentUrl`); the page uses it only when the server allowed that origin.
 */
(function () {
  "use strict";
  var root = document.getElementById("adapter");
  var cfg = root.dataset;
  var token = window.ADAPTER_TOKEN;
  var hostOrigin = cfg.hostOrigin || "";
  // The Cards SDK, when Kustomer (an allowed host) framed the page and the script loaded.
  var K = hostOrigin && window.Kustomer && window.parent !== window ? window.Kustomer : null;
  var agentEmail = cfg.agentEmail;
  var HEARTBEAT_MS = 5000;
  var POLL_MS = 2000;
  var statusCounter = 0;
  var lastState = null;

  // ------------------------------------------------------------------ instance id (R-S6)
  // One id per tab: kept in sessionStorage so a reload is the same instance, and
  // renewed when another open tab already uses it (a duplicated tab copies the storage).
  function randomId() {
    var a = new Uint8Array(6);
    (window.crypto || window.msCrypto).getRandomValues(a);
    return "tab-" + Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  var instanceId;
  try { instanceId = sessionStorage.getItem("adapter-instance-id"); } catch (e) { instanceId = null; }
  if (!instanceId) instanceId = randomId();
  try { sessionStorage.setItem("adapter-instance-id", instanceId); } catch (e) {}
  if (window.BroadcastChannel) {
    var channel = new BroadcastChannel("adapter-instances");
    channel.onmessage = function (m) {
      if (m.data && m.data.ask === instanceId) channel.postMessage({taken: instanceId});
      if (m.data && m.data.taken === instanceId) {
        instanceId = randomId();
        root.dataset.instanceId = instanceId;
        try { sessionStorage.setItem("adapter-instance-id", instanceId); } catch (e) {}
      }
    };
    channel.postMessage({ask: instanceId});
  }
  root.dataset.instanceId = instanceId;

  // ------------------------------------------------------------------ API
  function api(method, url, body) {
    return fetch(url, {
      method: method,
      headers: {"Authorization": "Adapter " + token, "Content-Type": "application/json", "Accept": "application/json"},
      body: body ? JSON.stringify(body) : undefined,
      credentials: "omit"
    }).then(function (r) {
      if (r.status === 401) expired();
      return r.json().catch(function () { return {}; }).then(function (data) { return {ok: r.ok, status: r.status, data: data}; });
    });
  }
  // The token lapsed (the computer slept past its lifetime) or the agent was removed:
  // reload once, which signs the page in again from its session or shows the sign-in.
  function expired() {
    var last = 0;
    try { last = Number(sessionStorage.getItem("adapter-reloaded-at") || 0); } catch (e) {}
    if (Date.now() - last > 60000) {
      try { sessionStorage.setItem("adapter-reloaded-at", String(Date.now())); } catch (e) {}
      location.reload();
      return;
    }
    var w = $("email-mismatch");
    w.textContent = t("ended");
    w.hidden = false;
  }
  function firstError(data) {
    if (data && data.errors) {
      for (var k in data.errors) { if (data.errors[k] && data.errors[k].length) return data.errors[k][0]; }
    }
    return (data && data.detail) || t("wrong");
  }
  function $(id) { return document.getElementById(id); }
  function text(el, value) { el.textContent = value == null ? "" : String(value); }
  // The page's words in its language: <template id="adapter-texts"> holds one element
  // per key (translated by the template), `{name}` placeholders filled from `vars`.
  function t(key, vars) {
    var box = $("adapter-texts");
    var el = box && box.content.querySelector('[data-key="' + key + '"]');
    var words = el ? el.textContent : key;
    return words.replace(/\{(\w+)\}/g, function (all, name) {
      return vars && Object.prototype.hasOwnProperty.call(vars, name) ? String(vars[name]) : all;
    });
  }

  // ------------------------------------------------------------------ Kustomer (Cards SDK)
  if (K) {
    K.on("context", function (context) { showContext(context || {}); });
    K.on("clickToDial", function (d) {
      if (!d || !d.phone) return;
      var c = d.customer || null, attrs = (c && c.attributes) || {};
      fillDialer(d.phone, c && c.id, attrs.displayName || attrs.name);
    });
    K.on("statusChange", function (d) { if (d && d.status && d.status.id) relayKustomerStatus(d.status, d.changedAt); });
  }

  var contextCustomer = null;
  function showContext(context) {
    var customer = context.customer || null;
    contextCustomer = customer;
    var box = $("context"), body = $("context-body");
    body.innerHTML = "";
    if (customer) {
      box.hidden = false;
      var attrs = customer.attributes || {};
      var name = document.createElement("div");
      name.className = "strong";
      name.setAttribute("data-testid", "context-customer");
      text(name, attrs.displayName || attrs.name || customer.id);
      body.appendChild(name);
      (attrs.phones || []).forEach(function (p) {
        var b = document.createElement("button");
        b.type = "button"; b.className = "link phone";
        text(b, p.phone);
        b.addEventListener("click", function () { fillDialer(p.phone, customer.id, attrs.displayName); });
        body.appendChild(b);
      });
      if (context.conversation) {
        var c = document.createElement("div");
        c.className = "muted small";
        text(c, t("conversation", {name: context.conversation.attributes && context.conversation.attributes.name || context.conversation.id}));
        body.appendChild(c);
      }
    } else {
      box.hidden = true;
    }
    // R-S5: the agent must be the same person (email) in Kustomer and in the contact center.
    var user = context.user || null;
    var userEmail = user && ((user.attributes && user.attributes.email) || user.email);
    var mismatch = $("email-mismatch");
    if (userEmail && userEmail.toLowerCase() !== agentEmail.toLowerCase()) {
      text(mismatch, t("email_mismatch", {user: userEmail, agent: agentEmail}));
      mismatch.hidden = false;
    } else {
      mismatch.hidden = true;
    }
    resize();
  }

  // ------------------------------------------------------------------ dialer (R-X2)
  function fillDialer(phone, customerId, customerName) {
    if (!phone) return;
    expand();
    $("dial-number").value = phone;
    $("dial-customer").value = customerId || "";
    text($("dial-for"), customerName ? t("for", {name: customerName}) : (customerId ? t("for_customer", {id: customerId}) : ""));
    text($("dial-result"), "");
    $("call").focus();
  }
  $("dial-number").addEventListener("input", function () {
    // A number typed by hand belongs to no customer in view.
    $("dial-customer").value = ""; text($("dial-for"), "");
  });
  $("dialer").addEventListener("submit", function (e) {
    e.preventDefault();
    var phone = $("dial-number").value.trim();
    var result = $("dial-result");
    result.className = "small";
    if (!phone) { result.className = "small error"; text(result, t("enter_phone")); return; }
    $("call").disabled = true;
    text(result, t("calling", {phone: phone}));
    api("POST", cfg.callUrl, {agent_email: agentEmail, phone: phone, kustomer_customer_id: $("dial-customer").value || null})
      .then(function (r) {
        if (r.ok) {
          result.className = "small ok";
          text(result, t("calling_session", {phone: phone, session: r.data.session_id}));
          poll();
        } else {
          result.className = "small error";
          text(result, firstError(r.data));
        }
      })
      .catch(function () { result.className = "small error"; text(result, t("no_answer")); })
      .then(function () { $("call").disabled = false; });
  });

  // ------------------------------------------------------------------ status (R-S10)
  var select = $("cc-status");
  select.addEventListener("change", function () {
    var wanted = select.value;
    statusCounter += 1;
    var note = $("status-note");
    text(note, t("setting", {status: wanted}));
    api("POST", cfg.statusUrl, {
      id: "adapter-" + instanceId + "-" + Date.now() + "-" + statusCounter,
      source: "contact_center", kind: "manual", status: wanted, agent_email: agentEmail,
      occurred_at: new Date().toISOString(), instance_id: instanceId
    }).then(function (r) {
      if (!r.ok) { text(note, firstError(r.data)); return; }
      if (r.data.decision === "applied") text(note, t("status_set", {status: r.data.agent_status}));
      else text(note, t("not_changed", {decision: r.data.decision.replace(/_/g, " ")}) + (r.data.reason ? ": " + r.data.reason : "."));
      poll();
    }).catch(function () { text(note, t("no_answer")); });
  });

  // The agent changed their status in Kustomer: this adapter (the one Kustomer instance
  // the agent is signed in to, R-S6) reports it; the contact center decides (R-S4).
  function relayKustomerStatus(status, changedAt) {
    statusCounter += 1;
    var note = $("status-note");
    api("POST", cfg.statusUrl, {
      id: "adapter-" + instanceId + "-k-" + status.id + "-" + (changedAt || Date.now()),
      source: "kustomer", kustomer_status_id: status.id, agent_email: agentEmail,
      occurred_at: changedAt || new Date().toISOString(), instance_id: instanceId
    }).then(function (r) {
      if (!r.ok) { text(note, firstError(r.data)); return; }
      if (r.data.decision === "applied") text(note, "Kustomer: " + status.name + " → " + r.data.agent_status + ".");
      else text(note, "Kustomer: " + status.name + " (" + r.data.decision.replace(/_/g, " ") + ")" + (r.data.reason ? ": " + r.data.reason : ""));
      poll();
    }).catch(function () {});
  }

  // ------------------------------------------------------------------ state
  function render(state) {
    lastState = state;
    root.dataset.ccStatus = state.cc_status || "";
    if (document.activeElement !== select && state.cc_status && select.value !== state.cc_status) {
      if (!Array.prototype.some.call(select.options, function (o) { return o.value === state.cc_status; })) {
        var o = document.createElement("option"); o.value = o.textContent = state.cc_status; select.appendChild(o);
      }
      select.value = state.cc_status;
    }
    $("status-dot").className = "dot " + (state.cc_status ? "on" : "");
    text($("kustomer-status"), state.kustomer_status ? t("kustomer_status", {status: state.kustomer_status}) : "");
    $("several-instances").hidden = !state.several_instances;
    var cur = state.current, body = $("current-body");
    body.innerHTML = "";
    body.className = cur ? "" : "muted";
    if (!cur) { text(body, t("nothing")); return resize(); }
    var line = document.createElement("div");
    line.className = "strong";
    line.setAttribute("data-testid", "current-line");
    var who = cur.name || cur.phone || t("a_customer");
    text(line, t(cur.channel === "chat" ? "chat_with" : (cur.direction === "outbound" ? "outbound_with" : "call_with"), {who: who}));
    body.appendChild(line);
    var meta = document.createElement("div");
    meta.className = "muted small";
    text(meta, t("session_meta", {session: cur.session_id, state: cur.state}));
    body.appendChild(meta);
    if (cur.conversation_id) {
      var a = document.createElement("a");
      a.textContent = t("open_conversation");
      a.setAttribute("data-testid", "open-conversation");
      a.dataset.conversationId = cur.conversation_id;
      a.href = cur.conversation_url || "#";
      a.target = "_blank"; a.rel = "noopener";
      body.appendChild(a);
    } else if (cur.error) {
      var err = document.createElement("div"); err.className = "error small"; text(err, cur.error); body.appendChild(err);
    } else {
      var wait = document.createElement("div"); wait.className = "muted small"; text(wait, t("creating")); body.appendChild(wait);
    }
    resize();
  }
  function poll() {
    return api("GET", cfg.stateUrl).then(function (r) { if (r.ok) render(r.data); }).catch(function () {});
  }
  function heartbeat() {
    return api("POST", cfg.heartbeatUrl, {agent_email: agentEmail, instance_id: instanceId}).then(function (r) {
      if (r.ok) {
        if (r.data.token) token = r.data.token;
        $("several-instances").hidden = !r.data.several_instances;
      }
    }).catch(function () {});
  }

  // ------------------------------------------------------------------ minimize
  var minimized = false;
  function expand() { if (minimized) toggle(); }
  function toggle() {
    minimized = !minimized;
    root.classList.toggle("minimized", minimized);
    var b = $("minimize");
    b.setAttribute("aria-expanded", String(!minimized));
    b.textContent = minimized ? "+" : "–";
    b.title = minimized ? "Expand" : "Minimize";
    resize();
  }
  $("minimize").addEventListener("click", toggle);
  function resize() { if (K && sdkReady) K.resize(Math.ceil(root.getBoundingClientRect().height)); }

  heartbeat();
  poll();
  setInterval(heartbeat, HEARTBEAT_MS);
  setInterval(poll, POLL_MS);
  var sdkReady = false;
  if (K) {
    K.initialize(function (context) {
      sdkReady = true;
      root.dataset.sdk = "initialized";
      showContext(context || {});
    });
  }
  root.dataset.ready = "1";
})();
