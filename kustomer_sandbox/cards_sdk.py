"""A stand-in for Kustomer's Cards SDK script (`kustomer-card.min.js`).

Served at `/__sandbox/card-js/kustomer-card.min.js`. A page loads it as it would load
`https://cdn.kustomerapp.com/card-js/latest/kustomer-card.min.js` and gets the same
public surface, per Kustomer's "Cards SDK reference" (docs/apps/cards-sdk) and
"Methods" (kustomer-apps-platform/docs/card-js-methods):

- one `window.Kustomer` object; the page is opened with `parentUrl` and `id` query
  parameters and the SDK talks by postMessage to that one parent origin only, ignoring
  messages from any other window or origin (and warns when it runs outside Kustomer);
- `Kustomer.initialize([options,] callback)`: once on load; `callback(context, config)`
  gets the context the agent is looking at (`type`, `customer`, `conversation`, `user`)
  and `config` (`userRoles`); a card or widget that never initializes is not shown;
- `Kustomer.on(event, handler)`: `'context'` on every context change; a voice widget
  also gets `'clickToDial'` ({phone, customer}) when the agent clicks a phone number
  (the Voice / VoIP guide's click-to-dial) and `'statusChange'` ({status, changedAt})
  when the agent changes their status in Kustomer (the guide's status sync);
- `Kustomer.resize([height])`, `Kustomer.close()`, `Kustomer.request(options, cb)`.

The wire between this script and the sandbox's desktop is the sandbox's own; a page
that uses only the methods above works against the real script.
"""
from __future__ import annotations

SCRIPT = r"""/* Kustomer Cards SDK stand-in (Kustomer sandbox). Public surface: window.Kustomer. */
(function () {
  "use strict";
  if (window.Kustomer && window.Kustomer.__sandbox) return;
  var params = new URLSearchParams(window.location.search);
  var parentUrl = params.get("parentUrl") || "";
  var cardId = params.get("id") || "";
  var origin = null;
  try { origin = parentUrl ? new URL(parentUrl).origin : null; } catch (e) { origin = null; }
  var inside = !!origin && window.parent !== window;
  if (!inside && window.console) console.warn("Kustomer Cards SDK: running outside Kustomer (no parentUrl/id); the agent desktop cannot be reached.");
  var handlers = {}, replies = {}, seq = 0, initialized = false;

  function send(method, payload, onReply) {
    if (!inside) return false;
    seq += 1;
    if (onReply) replies[seq] = onReply;
    window.parent.postMessage({source: "kustomer-card", id: cardId, seq: seq, method: method, payload: payload || {}}, origin);
    return true;
  }
  window.addEventListener("message", function (event) {
    if (!inside || event.origin !== origin || event.source !== window.parent) return;
    var m = event.data;
    if (!m || typeof m !== "object" || m.source !== "kustomer" || m.id !== cardId) return;
    if (m.reply && replies[m.reply]) { var fn = replies[m.reply]; delete replies[m.reply]; fn(m.data || {}); return; }
    if (m.event) (handlers[m.event] || []).slice().forEach(function (h) { try { h(m.data); } catch (e) { setTimeout(function () { throw e; }); } });
  });

  window.Kustomer = {
    __sandbox: true,
    initialize: function (options, callback) {
      var cb = typeof options === "function" ? options : callback;
      if (initialized) return;
      initialized = true;
      send("initialize", typeof options === "object" && options ? options : {}, function (data) {
        if (cb) cb(data.context || {}, data.config || {});
      });
    },
    on: function (eventName, handler) {
      (handlers[eventName] = handlers[eventName] || []).push(handler);
    },
    off: function (eventName, handler) {
      handlers[eventName] = (handlers[eventName] || []).filter(function (h) { return h !== handler; });
    },
    resize: function (height) {
      var h = typeof height === "number" ? height : Math.ceil(document.documentElement.getBoundingClientRect().height);
      send("resize", {height: h});
    },
    close: function () { send("close", {}); },
    request: function (options, callback) {
      send("request", options || {}, function (data) { if (callback) callback(data.error || null, data.body || null); });
    }
  };
})();
"""
