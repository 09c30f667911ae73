"""Outbound webhooks: Kustomer POSTs events to subscribed URLs, signed, at least once.

Each delivery carries `X-Kustomer-Webhook-Event: <name>` and
`X-Kustomer-Webhook-Signature: <lowercase hex HMAC-SHA256 of the raw body, keyed by the
subscription token>`. A failed attempt (connection error, timeout or non-2xx) is retried
after 1, 1, 2, 5, 10, 15 and 30 minutes; `retry_delays` replaces that schedule (tests
pass fractions of a second). Deliveries go out from one background thread, so a slow
receiver delays later deliveries, as a real queue would.

A webhook "keeps delivering until you disable or delete it, or until Kustomer disables it
because your endpoint keeps failing" (Kustomer's outbound webhook reference): after
`disable_after` deliveries in a row that failed every retry, the webhook's `enabled`
turns false and later events are not queued for it (the docs give no number; the sandbox
picks 10, `disable_after` changes it). A delivered event resets the count.
"""
from __future__ import annotations

import copy
import hashlib
import heapq
import hmac
import itertools
import json
import logging
import threading
import time
from typing import Any, Sequence

import requests

from .store import Org, SandboxState, new_object_id, now_iso

logger = logging.getLogger(__name__)

DEFAULT_RETRY_DELAYS = (60.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0)
DELIVERY_TIMEOUT_SECONDS = 10.0
DISABLE_AFTER_FAILED_DELIVERIES = 10

EVENTS = frozenset({
    "kustomer.customer.create", "kustomer.customer.update",
    "kustomer.conversation.create", "kustomer.conversation.update",
    "kustomer.message.create", "kustomer.message.update",
    "kustomer.user.create", "kustomer.user.update",
    "kustomer.team.create", "kustomer.team.update",
})


def signature_for(body: bytes, token: str) -> str:
    return hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


def attribute_changes(before: dict[str, Any] | None, after: dict[str, Any]) -> dict[str, Any]:
    """JSON-Patch-like per-attribute changes, as in Kustomer's event `changes`."""
    if before is None:
        return {"attributes": {}}
    changes: dict[str, Any] = {}
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        op = "add" if old is None else "remove" if new is None else "replace"
        changes[name] = {"op": op, "before": copy.deepcopy(old), "after": copy.deepcopy(new)}
    return {"attributes": changes}


class WebhookDispatcher:
    def __init__(
        self, state: SandboxState, retry_delays: Sequence[float] | None = None,
        disable_after: int = DISABLE_AFTER_FAILED_DELIVERIES,
    ) -> None:
        self.state = state
        self.disable_after = disable_after
        self.retry_delays = tuple(DEFAULT_RETRY_DELAYS if retry_delays is None else retry_delays)
        self._queue: list[tuple[float, int, dict]] = []
        self._sequence = itertools.count()
        self._wakeup = threading.Condition()
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._session = requests.Session()

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> None:
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="kustomer-sandbox-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._wakeup:
            self._stopped = True
            self._wakeup.notify_all()
        if self._thread:
            self._thread.join(timeout=DELIVERY_TIMEOUT_SECONDS + 1)

    # -- producing ----------------------------------------------------------------------
    def emit(self, org: Org, name: str, data: dict[str, Any], before_attributes: dict[str, Any] | None) -> None:
        """Queue `name` for every subscription of `org` that wants it. Caller holds the state lock."""
        subscribers = [
            hook for hook in org.webhooks.values()
            if hook["attributes"]["enabled"] and name in hook["attributes"]["events"]
        ]
        if not subscribers:
            return
        event = {
            "id": new_object_id(),
            "name": name,
            "org": org.id,
            "data": {key: copy.deepcopy(data[key]) for key in ("type", "id", "attributes", "relationships")},
            "createdAt": now_iso(),
            "changes": attribute_changes(before_attributes, data["attributes"]),
        }
        body = json.dumps(event, separators=(",", ":")).encode()
        for hook in subscribers:
            delivery = {
                "id": new_object_id(),
                "webhook": hook["id"],
                "event": name,
                "eventId": event["id"],
                "url": hook["attributes"]["url"],
                "state": "pending",
                "attempts": [],
                "body": body.decode(),
            }
            org.webhook_deliveries.append(delivery)
            self._schedule(time.monotonic(), {"org": org, "hook": hook, "delivery": delivery, "body": body})

    def _schedule(self, due: float, job: dict) -> None:
        with self._wakeup:
            heapq.heappush(self._queue, (due, next(self._sequence), job))
            self._wakeup.notify_all()

    # -- consuming ----------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._wakeup:
                while not self._stopped:
                    if self._queue and self._queue[0][0] <= time.monotonic():
                        break
                    timeout = self._queue[0][0] - time.monotonic() if self._queue else None
                    self._wakeup.wait(timeout)
                if self._stopped:
                    return
                _, _, job = heapq.heappop(self._queue)
            self._attempt(job)

    def _attempt(self, job: dict) -> None:
        hook, delivery, body = job["hook"], job["delivery"], job["body"]
        with self.state.lock:
            attributes = copy.deepcopy(hook["attributes"])
            still_subscribed = hook["id"] in job["org"].webhooks
        if not still_subscribed:
            with self.state.lock:
                delivery["state"] = "cancelled"
            return
        headers = {header["name"]: header["value"] for header in attributes.get("headers", [])}
        headers.update({
            "Content-Type": "application/json",
            "User-Agent": "Kustomer-Sandbox-Webhooks",
            "X-Kustomer-Webhook-Event": delivery["event"],
            "X-Kustomer-Webhook-Signature": signature_for(body, attributes["token"]),
        })
        attempt: dict[str, Any] = {"at": now_iso(), "status": None, "error": None}
        try:
            response = self._session.post(attributes["url"], data=body, headers=headers, timeout=DELIVERY_TIMEOUT_SECONDS)
            attempt["status"] = response.status_code
            ok = 200 <= response.status_code < 300
        except requests.RequestException as exc:
            attempt["error"] = f"{type(exc).__name__}: {exc}"[:300]
            ok = False
        with self.state.lock:
            delivery["attempts"].append(attempt)
            failures = len(delivery["attempts"])
            if ok:
                delivery["state"] = "delivered"
                hook["failed_in_a_row"] = 0
            elif failures > len(self.retry_delays):
                delivery["state"] = "failed"
                logger.info("webhook delivery %s gave up after %d attempts", delivery["id"], failures)
                hook["failed_in_a_row"] = hook.get("failed_in_a_row", 0) + 1
                if hook["failed_in_a_row"] >= self.disable_after and hook["attributes"]["enabled"]:
                    hook["attributes"]["enabled"] = False
                    hook["attributes"]["updatedAt"] = now_iso()
                    logger.info("webhook %s disabled after %d failed deliveries", hook["id"], hook["failed_in_a_row"])
        if not ok and failures <= len(self.retry_delays):
            self._schedule(time.monotonic() + self.retry_delays[failures - 1], job)
