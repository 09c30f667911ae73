"""`make faults` (`python bench/faults.py [--events 200] [--outage 60]`)

The fault suite: a realistic day of traffic through a whole stack of its own, while the
suite breaks things the way production does, then a check against what the Kustomer
sandbox holds that every accepted event was applied exactly once.

The stack: PostgreSQL (database portal_bench_faults, recreated), a *private*
redis-server on a free port (the shared Redis is never touched: other people's tests
use it), the Kustomer sandbox in this process behind a TCP proxy, gunicorn, two Celery
workers and beat, everything on 127.0.0.1.

Faults, while the traffic flows (each event and each status change is sent twice, in
shuffled order, by senders that retry a 5xx or a lost answer as telephony platforms
do):
- 5xx bursts from Kustomer (half of the requests answer 503 for a while);
- a worker SIGKILLed (whole process group) in the middle of an event, restarted later;
- a pool child of the other worker SIGKILLed mid-event;
- a 429 storm from Kustomer;
- the broker down: the private redis-server shut down without saving (its queued
  tasks are lost) and started again on the same port;
- Kustomer unreachable for a minute (the proxy refuses connections and cuts open ones);
- lost answers: writes that land but whose answer never comes, and timeouts;
- every Kustomer webhook delivered again twice, out of order, with valid signatures.

Then it waits for every accepted event to finish and checks, from the sandbox's own
records: no duplicate customer, conversation, message or note; nothing missing; every
status change recorded once; every webhook delivery stored once. Verdict
"0 lost, 0 duplicated" (exit 0) or the list of what was lost or duplicated (exit 1).
Bounded: about 7-9 minutes, every wait with a deadline.
"""
from __future__ import annotations

import argparse
import random
import signal
import sys
import threading
import time
import traceback
import uuid
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import stack as stk  # noqa: E402
from bench.fault_check import exactly_once_check  # noqa: E402
from bench.fault_pieces import PrivateRedis, TcpProxy  # noqa: E402


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


# ------------------------------------------------------------------------------ the suite
class FaultSuite:
    def __init__(self, args) -> None:
        self.args = args
        self.redis = PrivateRedis()
        self.faults_done: list[str] = []
        self.stop_faults = threading.Event()
        self.webhooks_replayed = 0
        self.rng = random.Random(args.seed)

    # -- set-up ------------------------------------------------------------------------------
    def setup(self) -> None:
        self.redis.start()
        log(f"private redis-server on 127.0.0.1:{self.redis.port}")
        from kustomer_sandbox import SandboxServer

        # The sandbox lives in this process (its records and webhook tokens are read
        # directly for the check and the replays), behind a proxy that can go away.
        self.sandbox = SandboxServer(port=0, webhook_retry_delays=[1, 2, 3, 5, 5, 10, 10]).start()
        self.proxy = TcpProxy(self.sandbox.port)
        self.proxy.up()
        self.config = stk.StackConfig(
            database=self.args.database, broker_url=self.redis.url, cache_url="locmemcache://",
            queue="faults", sandbox_port=self.proxy.port,
            extra_env={"SYNC_SWEEP_AFTER_SECONDS": "15", "SYNC_WEBHOOK_RETRY_SECONDS": "15",
                       "KUSTOMER_TIMEOUT_SECONDS": "5",
                       "CELERY_TASK_SOFT_TIME_LIMIT": "60", "CELERY_TASK_TIME_LIMIT": "75"},
        )
        stk.recreate_database(self.config)
        stk.configure(self.config)
        import django

        django.setup()
        from bench.common import tenant_setup

        self.org = self.sandbox.seed_demo_org(name="Faults", api_key="faults-key", rate_limit_per_minute=1000)
        self.tenancy = tenant_setup(slug="faults", sandbox_url=self.proxy.url, sandbox_api_key="faults-key",
                                    rate_limit_per_minute=1000, agents=8, watch_interval_seconds=5)
        self.stack = stk.Stack(self.config)
        self.stack.web(workers=2, wsgi="portal.wsgi:application")
        self.worker_a = self.stack.worker("faults-a")
        self.worker_b = self.stack.worker("faults-b", concurrency=4)
        self.beat = self.stack.beat()
        log(f"stack up: web {self.config.web_url}, sandbox {self.sandbox.url} via proxy {self.proxy.url}")

    # -- traffic -----------------------------------------------------------------------------
    def traffic(self):
        from loadtest.files import FileServer
        from loadtest.sender import Progress, Sender
        from loadtest.traffic import IDEMPOTENT_SCENARIOS, generate_day, schedule

        self.files = FileServer().__enter__()
        plan = generate_day(agents=self.tenancy.agents, events=self.args.events, seed=self.args.seed,
                            start=datetime.now(timezone.utc), run_id=uuid.uuid4().hex[:6], file_base=self.files.url,
                            kustomer_status_ids=list(self.tenancy.kustomer_status_ids.values()),
                            scenarios=IDEMPOTENT_SCENARIOS)
        # The traffic lasts as long as the fault plan, so every fault hits events in flight.
        rate = self.args.rate or len(plan.sends) / (110.0 + self.args.outage)
        scheduled = schedule(plan, rate=rate, start=datetime.now(timezone.utc))
        # Every request twice, the copies and the originals shuffled within a window:
        # duplicates and out-of-order arrivals, as at-least-once senders produce.
        doubled = [(offset, send, copy) for offset, send in scheduled for copy in (0, 1)]
        window = 24
        shuffled = []
        for i in range(0, len(doubled), window):
            chunk = doubled[i:i + window]
            self.rng.shuffle(chunk)
            shuffled += chunk
        timed = [(index / (2 * rate), send, copy) for index, (_, send, copy) in enumerate(shuffled)]
        log(f"traffic: {plan.event_count} events, {plan.status_count} status changes, {len(plan.sessions)} sessions, "
            f"{len(plan.customers)} customers; {len(timed)} requests (each twice, shuffled) at {2 * rate:g}/s")
        sender = Sender(self.config.web_url, self.tenancy.api_key, threads=8, ordered=False, retries=8,
                        retry_wait=1.0, timeout=20)
        report = sender.run(timed, progress=Progress(len(timed), "sending"))
        self.sender = sender
        return plan, report

    # -- faults ------------------------------------------------------------------------------
    def _at(self, t0: float, offset: float) -> bool:
        """Sleep until t0 + offset; False when the suite is stopping."""
        wait = t0 + offset - time.monotonic()
        return not (wait > 0 and self.stop_faults.wait(wait))

    def _note(self, text: str) -> None:
        self.faults_done.append(f"{time.strftime('%H:%M:%S')} {text}")
        log(f"FAULT {text}")

    def _faults(self, config: dict) -> None:
        from kustomer_sandbox.faults import fault_config_update

        with self.sandbox.state.lock:
            fault_config_update(self.sandbox.state.global_faults, config)

    def _faults_reset(self) -> None:
        from kustomer_sandbox.faults import FaultConfig

        with self.sandbox.state.lock:
            self.sandbox.state.global_faults = FaultConfig()

    def _processing(self) -> bool:
        from conversations.models import Event

        return Event.objects.filter(state="processing").exists()

    def _subscribed(self) -> bool:
        from conversations.models import WebhookSubscription

        return WebhookSubscription.objects.exclude(kustomer_webhook_id="").exists()

    def fault_plan(self) -> None:
        # The first events subscribe the tenant to Kustomer's webhooks; the faults start
        # once they did, so the duplicated, shuffled webhooks are part of the run.
        try:
            stk.wait_until(self._subscribed, timeout=30, interval=0.2, what="the webhook subscription")
        except TimeoutError:
            self.faults_done.append("the webhook subscription was not made within 30 s (faults start anyway)")
        t0 = time.monotonic()
        try:
            outage = self.args.outage
            steps = [
                (8, self._burst_5xx),
                (28, self._kill_worker_group),
                (48, self._storm_429),
                (66, self._broker_outage),
                (86, self._kill_pool_child),
                (96, lambda: self._unreachable(outage)),
                (100 + outage, self._lost_answers),
            ]
            for offset, step in steps:
                if not self._at(t0, offset):
                    return
                step()
        except Exception:  # a fault that could not be made is reported, not hidden
            traceback.print_exc()
            self.faults_done.append("ERROR while injecting faults: " + traceback.format_exc().splitlines()[-1])

    def _burst_5xx(self) -> None:
        self._faults({"error_rate": 0.5, "error_status": 503})
        self._note("5xx burst: half of Kustomer's answers are 503 for 12 s")
        if self.stop_faults.wait(12):
            return
        self._faults_reset()

    def _kill_worker_group(self) -> None:
        try:
            stk.wait_until(self._processing, timeout=15, interval=0.05, what="an event in progress")
        except TimeoutError:
            pass
        self.worker_a.kill()
        self._note(f"SIGKILL worker A (process group {self.worker_a.pid}) mid-event; restarted in 6 s")
        if self.stop_faults.wait(6):
            return
        self.stack.processes.remove(self.worker_a)
        self.worker_a = self.stack.worker("faults-a")

    def _storm_429(self) -> None:
        self._faults({"rate_limit_storm_seconds": 12})
        self._note("429 storm: every Kustomer request answers 429 for 12 s")

    def _broker_outage(self) -> None:
        self.redis.stop()
        self._note("broker down: private redis-server killed without saving (queued tasks lost) for 10 s")
        if self.stop_faults.wait(10):
            self.redis.start()
            return
        self.redis.start()
        self._note("broker back on the same port (empty)")

    def _kill_pool_child(self) -> None:
        try:
            stk.wait_until(self._processing, timeout=15, interval=0.05, what="an event in progress")
        except TimeoutError:
            pass
        children = self.worker_b.children()
        if not children:
            # A threads pool (the default) has no child: its tasks run in the worker
            # process itself, so that process is what dies mid-event; it is restarted.
            self.worker_b.kill()
            self._note(f"SIGKILL worker B (threads pool, process {self.worker_b.pid}) mid-event; restarted in 2 s")
            if self.stop_faults.wait(2):
                return
            self.stack.processes.remove(self.worker_b)
            self.worker_b = self.stack.worker("faults-b", concurrency=4)
            return
        import os

        os.kill(children[0], signal.SIGKILL)
        self._note(f"SIGKILL pool child {children[0]} of worker B mid-event")

    def _unreachable(self, seconds: float) -> None:
        self.proxy.down()
        self._note(f"Kustomer unreachable: connections refused and cut for {seconds:g} s")
        self.stop_faults.wait(seconds)
        self.proxy.up()
        self._note("Kustomer reachable again")

    def _lost_answers(self) -> None:
        self._faults({"drop_after_commit_next": 6, "timeout_next": 2, "timeout_seconds": 7,
                      "methods": ["POST", "PUT"]})
        self._note("lost answers: the next 6 Kustomer writes land but the connection closes unanswered; "
                   "2 more answer after the client's 5 s timeout")

    # -- webhooks twice, out of order ----------------------------------------------------------
    def replay_webhooks(self, done: set[str]) -> int:
        import requests

        from kustomer_sandbox.webhooks import signature_for

        with self.sandbox.state.lock:
            deliveries = [dict(d) for d in self.org.webhook_deliveries if d["id"] not in done]
            tokens = {h["id"]: h["attributes"]["token"] for h in self.org.webhooks.values()}
        jobs = [d for d in deliveries for _ in (0, 1)]
        self.rng.shuffle(jobs)
        sent = 0
        session = requests.Session()
        for d in jobs:
            token = tokens.get(d["webhook"])
            if not token:
                continue
            body = d["body"].encode()
            for attempt in range(5):
                try:
                    response = session.post(d["url"], data=body, timeout=10, headers={
                        "Content-Type": "application/json", "X-Kustomer-Webhook-Event": d["event"],
                        "X-Kustomer-Webhook-Signature": signature_for(body, token)})
                    if response.status_code < 500:
                        break
                except requests.RequestException:
                    pass
                time.sleep(1 + attempt)
            sent += 1
        done.update(d["id"] for d in deliveries)
        self.webhooks_replayed += sent
        return sent

    def webhook_loop(self) -> None:
        done: set[str] = set()
        while not self.stop_faults.wait(15):
            try:
                self.replay_webhooks(done)
            except Exception:
                traceback.print_exc()
        self._webhooks_done = done

    # -- the check ---------------------------------------------------------------------------
    def wait_applied(self, accepted: list[str], timeout: float) -> dict[str, str]:
        from conversations.models import Event

        qs = Event.objects.filter(tenant_id=self.tenancy.tenant_id, event_id__in=accepted)
        deadline = time.monotonic() + timeout
        last = -1
        while time.monotonic() < deadline:
            finished = qs.filter(state__in=["done", "failed"]).count()
            if finished != last:
                log(f"applied: {finished}/{len(accepted)}")
                last = finished
            if finished == len(accepted) and qs.count() == len(accepted):
                break
            time.sleep(2)
        return dict(qs.values_list("event_id", "state"))

    def check(self, plan, report, states: dict[str, str]) -> tuple[list[str], list[str], dict]:
        lost, dup, figures, self.mirror_wrong = exactly_once_check(
            tenant_id=self.tenancy.tenant_id, sandbox=self.sandbox, org=self.org, plan=plan, report=report,
            states=states, retried=len(self.sender.retried), webhooks_replayed=self.webhooks_replayed)
        return lost, dup, figures

    def sandbox_requests(self) -> Counter:
        with self.sandbox.state.lock:
            return Counter(e["status"] for e in self.sandbox.state.request_log if e.get("org_id") == self.org.id)

    def _drop_database(self) -> None:
        if not self.args.drop_database or not hasattr(self, "config"):
            return
        stk.drop_database(self.config)

    def teardown(self) -> None:
        self.stop_faults.set()
        for closer in (lambda: self.stack.stop_all(), lambda: self.files.__exit__(None, None, None),
                       lambda: self.proxy.down(), lambda: self.sandbox.stop(), lambda: self.redis.stop(),
                       self._drop_database):
            try:
                closer()
            except Exception:
                pass


def record(args, suite, figures: dict, lost: list, dup: list, verdict: str, took: float) -> None:
    """Keep the verdict in BENCHMARKS.md (its own section; `make bench` keeps it)."""
    from bench.run_bench import FAULTS_BEGIN, FAULTS_END

    path = stk.ROOT / "BENCHMARKS.md"
    lines = [FAULTS_BEGIN, "## Fault suite (`make faults`)", "",
             f"- **Run**: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {took:.0f} s, {args.events} events, "
             f"Kustomer unreachable for {args.outage:g} s; load average at the end {stk.load_average()}",
             f"- **Verdict**: **{'PASS' if not lost and not dup else 'FAIL'}: {verdict}**", "", "Faults made:", ""]
    lines += [f"- {line}" for line in suite.faults_done]
    lines += ["", "Figures:", ""] + [f"- {name}: {value}" for name, value in figures.items()]
    lines += [f"- LOST: {line}" for line in lost[:20]] + [f"- DUPLICATED: {line}" for line in dup[:20]]
    lines.append(FAULTS_END)
    block = "\n".join(lines)
    old = path.read_text() if path.exists() else "# Benchmarks\n"
    start, end = old.find(FAULTS_BEGIN), old.find(FAULTS_END)
    if start != -1 and end != -1:
        new = old[:start] + block + old[end + len(FAULTS_END):]
    else:
        new = old.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(new)
    log(f"recorded the verdict in {path}")


def main() -> int:
    parser = argparse.ArgumentParser(description="The fault suite: 0 lost, 0 duplicated, or it fails.")
    parser.add_argument("--events", type=int, default=200, help="contact-center events in the day (about)")
    parser.add_argument("--rate", type=float, default=0.0,
                        help="requests per second before doubling (default: spread over the fault plan)")
    parser.add_argument("--outage", type=float, default=60.0, help="seconds Kustomer is unreachable")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--settle", type=float, default=240.0, help="seconds to wait for the events after the traffic")
    parser.add_argument("--database", default="portal_bench_faults", help="PostgreSQL database (recreated)")
    parser.add_argument("--drop-database", action="store_true", help="drop the database at the end")
    parser.add_argument("--no-record", dest="record", action="store_false",
                        help="do not write the verdict into BENCHMARKS.md")
    args = parser.parse_args()
    suite = FaultSuite(args)
    started = time.monotonic()
    lost: list[str] = ["the suite did not finish"]
    dup: list[str] = []
    figures: dict = {}
    try:
        suite.setup()
        faults = threading.Thread(target=suite.fault_plan, daemon=True)
        webhooks = threading.Thread(target=suite.webhook_loop, daemon=True)
        faults.start()
        webhooks.start()
        plan, report = suite.traffic()
        log("traffic sent; waiting for the fault plan to finish")
        faults.join(timeout=args.outage + 120)
        suite._faults_reset()
        suite.stop_faults.set()
        webhooks.join(timeout=120)
        accepted = report.accepted_event_ids
        states = suite.wait_applied([i for i in accepted if not i.startswith("st-")], args.settle)
        # Every webhook delivered so far, again twice and shuffled.
        suite.replay_webhooks(getattr(suite, "_webhooks_done", set()))
        time.sleep(3)
        lost, dup, figures = suite.check(plan, report, states)
        figures["Kustomer answers (sandbox log)"] = dict(sorted(suite.sandbox_requests().items()))
    except Exception:
        traceback.print_exc()
        lost = ["the suite itself failed: " + traceback.format_exc().splitlines()[-1]]
    finally:
        suite.teardown()
    print("")
    print("Faults made:")
    for line in suite.faults_done:
        print(f"  {line}")
    print("Figures:")
    for name, value in figures.items():
        print(f"  {name}: {value}")
    for send, status, text in getattr(getattr(suite, "sender", None), "retried", [])[:3]:
        text = " ".join(text.split())
        print(f"  portal answered {status} to {send.path} ({send.label} {send.body.get('id')}), sent again: {text[:120]}")
    for line in getattr(suite, "mirror_wrong", [])[:5]:
        print(f"  mirror: {line}")
    for line in lost[:30]:
        print(f"  LOST: {line}")
    for line in dup[:30]:
        print(f"  DUPLICATED: {line}")
    verdict = f"{len(lost)} lost, {len(dup)} duplicated"
    took = time.monotonic() - started
    if args.record:
        record(args, suite, figures, lost, dup, verdict, took)
    if not lost and not dup:
        print(f"VERDICT: PASS: {verdict} ({took:.0f} s)")
        return 0
    print(f"VERDICT: FAIL: {verdict} ({took:.0f} s)")
    return 1


if __name__ == "__main__":
    sys.exit(main())
