"""Send a day's requests to the portal's public API at a set rate, then wait for the
events to be applied and read what they became.

Requests of one key (one customer's events, one agent's status changes) go out in
order from the same connection; different keys go out in parallel. Every request has a
timeout, and so does the wait: nothing here runs unbounded.
"""
from __future__ import annotations

import queue
import sys
import threading
import time
import zlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, TextIO

import requests

from loadtest.traffic import Send

FINISHED = ("done", "failed")


class Progress:
    """A one-line progress bar on a terminal; a line every ~10 % otherwise (logs, CI)."""

    def __init__(self, total: int, label: str, stream: TextIO | None = None, width: int = 30) -> None:
        self.total = max(total, 1)
        self.label = label
        self.stream = stream or sys.stdout
        self.width = width
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.started = time.monotonic()
        self._last_decile = -1
        self._lock = threading.Lock()

    def update(self, done: int, extra: str = "") -> None:
        with self._lock:
            fraction = min(1.0, done / self.total)
            elapsed = time.monotonic() - self.started
            rate = done / elapsed if elapsed > 0 else 0.0
            filled = int(fraction * self.width)
            line = (f"{self.label:<9} [{'#' * filled}{'.' * (self.width - filled)}] {done}/{self.total} "
                    f"{fraction * 100:5.1f}%  {rate:6.1f}/s  {elapsed:5.0f}s  {extra}")
            if self.tty:
                self.stream.write("\r" + line[:150].ljust(150))
                self.stream.flush()
            elif int(fraction * 10) != self._last_decile:
                self._last_decile = int(fraction * 10)
                self.stream.write(line + "\n")
                self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


@dataclass
class SendResult:
    send: Send
    status: int | None  # None: no answer (connection error, timeout)
    answer: Any = None
    error: str = ""
    seconds: float = 0.0
    copy: int = 0  # 0: first delivery; 1: the deliberate second one (fault suite)


@dataclass
class SendReport:
    results: list[SendResult] = field(default_factory=list)
    seconds: float = 0.0

    def by_status(self, kind: str | None = None) -> Counter:
        return Counter(r.status for r in self.results if kind is None or r.send.kind == kind)

    @property
    def accepted_event_ids(self) -> list[str]:
        """Events the portal took (202 first time, 200 a repeat of one it has), and the
        events click-to-call started (201)."""
        ids: list[str] = []
        seen: set[str] = set()
        for r in self.results:
            if r.send.kind == "event" and r.status in (200, 202):
                event_id = r.send.body["id"]
            elif r.send.kind == "click_to_call" and r.status == 201 and isinstance(r.answer, dict):
                event_id = r.answer.get("event_id")
            elif r.send.kind == "ccaip" and r.status == 200 and isinstance(r.answer, dict):
                for event_id in r.answer.get("recorded") or []:  # the product events a delivery became
                    if event_id not in seen:
                        seen.add(event_id)
                        ids.append(event_id)
                continue
            else:
                continue
            if event_id and event_id not in seen:
                seen.add(event_id)
                ids.append(event_id)
        return ids

    def errors(self) -> list[SendResult]:
        return [r for r in self.results if r.status is None or r.status >= 400]


def _session(api_key: str, pool: int) -> requests.Session:
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"})
    adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=pool, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class Sender:
    """Sends ``(offset_seconds, Send)`` pairs: each no earlier than its offset from the
    start, one key's requests in order (``ordered=True``), at most ``threads`` at once."""

    def __init__(self, base_url: str, api_key: str, *, threads: int = 8, timeout: float = 30.0,
                 ordered: bool = True, retries: int = 0, retry_wait: float = 1.0) -> None:
        self.base_url = base_url.rstrip("/")
        # A sender that got no answer or a 5xx sends the same request again, as
        # telephony platforms do (the API is idempotent per event id).
        self.retries = retries
        self.retry_wait = retry_wait
        self.api_key = api_key
        self.threads = max(1, threads)
        self.timeout = timeout
        self.ordered = ordered
        self._answers: dict[str, dict] = {}
        self.retried: list[tuple[Send, int, str]] = []  # 5xx answers that were sent again
        self._answered = threading.Condition()

    def run(self, scheduled: Iterable[tuple[float, Send] | tuple[float, Send, int]],
            progress: Progress | None = None, stop: threading.Event | None = None) -> SendReport:
        items = [item if len(item) == 3 else (*item, 0) for item in scheduled]
        report = SendReport()
        lock = threading.Lock()
        queues = [queue.Queue() for _ in range(self.threads)]
        counts = Counter()

        def work(index: int) -> None:
            session = _session(self.api_key, 2)
            try:
                while True:
                    item = queues[index].get()
                    if item is None:
                        return
                    result = self._send_one(session, *item)
                    with lock:
                        report.results.append(result)
                        counts["sent"] += 1
                        counts[result.status] += 1
                        if progress:
                            ok = counts[202] + counts[200] + counts[201]
                            progress.update(counts["sent"], f"ok {ok}  errors {counts['sent'] - ok}")
            finally:
                session.close()

        workers = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(self.threads)]
        for worker in workers:
            worker.start()
        started = time.monotonic()
        next_queue = 0
        for offset, send, copy in items:
            if stop is not None and stop.is_set():
                break
            wait = started + offset - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            if self.ordered:
                index = zlib.crc32(send.key.encode()) % self.threads
            else:
                index, next_queue = next_queue, (next_queue + 1) % self.threads
            queues[index].put((send, copy, started + offset))
        for q in queues:
            q.put(None)
        for worker in workers:
            worker.join()
        report.seconds = time.monotonic() - started
        if progress:
            progress.close()
        return report

    def _send_one(self, session: requests.Session, send: Send, copy: int, due: float) -> SendResult:
        body = send.body
        if send.depends_on:
            with self._answered:
                self._answered.wait_for(lambda: send.depends_on in self._answers, timeout=self.timeout)
                answer = self._answers.get(send.depends_on)
            if answer is None:
                return SendResult(send=send, status=None, error="the click-to-call it follows got no session id",
                                  copy=copy)
            body = {**body, "session": dict(body["session"])}
            send.fill(body, answer)
            send.body = body  # later readers (the fault suite) see the real session id
        started = time.monotonic()
        attempt = 0
        while True:
            try:
                url = send.path if send.path.startswith(("http://", "https://")) else self.base_url + send.path
                response = session.post(url, json=body, timeout=self.timeout, auth=send.auth)
            except requests.RequestException as exc:
                if attempt < self.retries:
                    attempt += 1
                    time.sleep(self.retry_wait * attempt)
                    continue
                return SendResult(send=send, status=None, error=f"{type(exc).__name__}: {exc}",
                                  seconds=time.monotonic() - started, copy=copy)
            if response.status_code >= 500 and attempt < self.retries:
                self.retried.append((send, response.status_code, response.text[:300]))
                attempt += 1
                time.sleep(self.retry_wait * attempt)
                continue
            break
        seconds = time.monotonic() - started
        try:
            answer = response.json()
        except ValueError:
            answer = response.text[:500]
        if send.ref and response.status_code == 201 and isinstance(answer, dict):
            with self._answered:
                self._answers[send.ref] = answer
                self._answered.notify_all()
        elif send.ref:
            with self._answered:
                self._answers.setdefault(send.ref, None)
                self._answered.notify_all()
        return SendResult(send=send, status=response.status_code, answer=answer, seconds=seconds, copy=copy)


def wait_for_events(base_url: str, api_key: str, event_ids: list[str], *, timeout: float,
                    progress: Progress | None = None, threads: int = 4,
                    should_stop: Callable[[], bool] | None = None) -> dict[str, dict]:
    """Poll ``GET /api/v1/events/{id}`` until every event is done or failed, or until
    ``timeout`` seconds passed. Returns the last answer per event id (unfinished ones
    included, with their current state)."""
    base = base_url.rstrip("/")
    last: dict[str, dict] = {}
    pending = list(event_ids)
    deadline = time.monotonic() + timeout
    sessions = threading.local()

    def fetch(event_id: str) -> tuple[str, dict]:
        if not hasattr(sessions, "s"):
            sessions.s = _session(api_key, 2)
        try:
            response = sessions.s.get(f"{base}/api/v1/events/{requests.utils.quote(event_id, safe='')}", timeout=30)
            if response.status_code == 200:
                return event_id, response.json()
            return event_id, {"id": event_id, "state": f"http {response.status_code}", "error": response.text[:300]}
        except requests.RequestException as exc:
            return event_id, {"id": event_id, "state": "unreachable", "error": str(exc)[:300]}

    with ThreadPoolExecutor(max_workers=threads) as pool:
        while pending:
            for event_id, answer in pool.map(fetch, pending):
                last[event_id] = answer
            pending = [e for e in pending if last[e].get("state") not in FINISHED]
            done = len(event_ids) - len(pending)
            if progress:
                failed = sum(1 for e in event_ids if last.get(e, {}).get("state") == "failed")
                progress.update(done, f"failed {failed}  waiting {len(pending)}")
            if not pending or time.monotonic() > deadline or (should_stop and should_stop()):
                break
            time.sleep(1.0)
    if progress:
        progress.close()
    return last


@dataclass
class Summary:
    sent: Counter
    accepted: int
    done: int
    failed: int
    unfinished: int
    records: dict[str, int]
    failures: list[tuple[str, str]]


def summarize(report: SendReport, states: dict[str, dict]) -> Summary:
    """What the run sent and what the portal made of it (Kustomer records from the ids
    each event reports having written)."""
    sent = Counter(r.send.kind for r in report.results)
    ids = {"customer": set(), "conversation": set(), "message": set(), "note": set(), "attachment": set()}
    done = failed = 0
    failures: list[tuple[str, str]] = []
    for event_id, answer in states.items():
        state = answer.get("state")
        if state == "done":
            done += 1
        elif state == "failed":
            failed += 1
            failures.append((event_id, str(answer.get("error") or "")[:200]))
        k = answer.get("kustomer") or {}
        if k.get("customer_id"):
            ids["customer"].add(k["customer_id"])
        if k.get("conversation_id"):
            ids["conversation"].add(k["conversation_id"])
        for name, key in (("message", "message_ids"), ("note", "note_ids"), ("attachment", "attachment_ids")):
            ids[name].update(k.get(key) or [])
    accepted = len(states)
    return Summary(sent=sent, accepted=accepted, done=done, failed=failed, unfinished=accepted - done - failed,
                   records={name: len(v) for name, v in ids.items()}, failures=failures)
