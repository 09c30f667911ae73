"""`make soak` (`python bench/soak.py [--setup single|pg] [--events 300] [--agents 8] [--faults]`)

A contact-center day with a judge (issue 22). A stack of its own (the single-machine
default: SQLite, the embedded SQLAlchemy broker, one worker of two processes; or
PostgreSQL + a private Redis with two workers of two processes), the Kustomer sandbox
in this process, two-way status sync on (`--priority` LATEST_WINS or CRM_OVERRIDES),
then loadtest/traffic.py's day: every event type, transfers, callbacks, files, CSAT,
click-to-call, agent status changes from both sides, through the public API. With
`--faults` the sandbox answers 503 and 429 storms for a while (its fault settings).

Then it waits for quiescence (every accepted event finished, the broker queue empty,
no late file or webhook delivery waiting) and judges what the sandbox holds against an
expectation derived from the events sent, not from the product's records:
- every accepted event is done, or failed with a reason (Retry is offered for it);
- the broker queue is empty (its depth is sampled every second: peak and end);
- customers: one per customer key of the events (by externalId or phone), none twice;
- messages: exactly one per message-making event (its meta names the event), none
  without a deterministic externalId, none twice; every session's messages in one
  conversation; conversations and notes never twice (externalId);
- attachments: every file an event points at is in Kustomer exactly once (by content),
  unless its event failed with a reason;
- agents: each agent's two statuses agree with what Kustomer holds, or the portal shows
  why they differ (R-S13);
- the operator's cases (SPEC §7, bench/soak_operator.py): calls from numbers two Kustomer
  customers hold wait (nothing written) until the admin's choice, then run once on the
  chosen customer, and nobody makes a customer for them (R-O1); calls whose end never
  comes get one close-out event and note from beat's tick four hours on, no other
  session does, and a second tick adds none (R-O2);
- no webhook delivery left unprocessed and no custom-field push pending (nothing
  retrying forever);
- with `--policies both` (the default), a second tenant whose call logging policies are
  not the defaults (SPEC §6: a skipped kind, IVR calls done and reopened within a window,
  only known numbers, delayed call and chat records, a default user and team) gets its
  own day in its own org, and what that org holds is judged against what the events and
  the policies say (bench/soak_policies.py, bench/policy_oracle.py).
Prints the table and, with `--record`, writes it to BENCHMARKS.md (a row per set-up).
Exit status 0 when there is no violation.
"""
from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import threading
import time
import traceback
import uuid
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import soak_judge  # noqa: E402
from bench import soak_operator  # noqa: E402
from bench import soak_policies  # noqa: E402
from bench import stack as stk  # noqa: E402

from bench.fault_pieces import PrivateRedis  # noqa: E402
from bench.faults import log  # noqa: E402

SOAK_BEGIN, SOAK_END = "<!-- soak:begin -->", "<!-- soak:end -->"


class Soak:
    def __init__(self, args) -> None:
        self.args = args
        self.depths: list[int] = []
        self.stop_sampling = threading.Event()
        self.faults_made: list[str] = []
        self.redis: PrivateRedis | None = None
        self.policy: soak_policies.PolicyTenant | None = None  # the tenant with call logging policies

    # -- the stack -----------------------------------------------------------------------------
    def setup(self) -> None:
        from kustomer_sandbox import SandboxServer
        from kustomer_sandbox.store import add_user

        self.sandbox = SandboxServer(port=0, webhook_retry_delays=[1, 2, 3, 5, 5, 10, 10]).start()
        name = self.args.database or f"portal_soak_{self.args.setup}"
        extra = {"SYNC_SWEEP_AFTER_SECONDS": "30", "KUSTOMER_TIMEOUT_SECONDS": "5"}
        if self.args.setup == "pg":
            self.redis = PrivateRedis()
            self.redis.start()
            broker, cache = self.redis.url, "locmemcache://"
        else:
            var = stk.ROOT / "var" / "bench" / name
            for path in var.glob("*.sqlite3*"):
                path.unlink()
            broker, cache = f"sqla+sqlite:///{var / 'celery-broker.sqlite3'}", f"filecache://{var / 'cache'}"
            extra.update({"DATABASE_URL": f"sqlite:///{var / 'portal.sqlite3'}",
                          "KUSTOMER_RATE_LIMIT_URL": f"sqlite:///{var / 'kustomer-ratelimit.sqlite3'}"})
            var.mkdir(parents=True, exist_ok=True)
        self.config = stk.StackConfig(database=name, broker_url=broker, cache_url=cache, queue=f"soak{self.args.setup}",
                                      sandbox_port=self.sandbox.port, extra_env=extra)
        if self.args.setup == "pg":
            stk.recreate_database(self.config)
        else:
            stk.run([stk.PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], self.config, timeout=300)
        stk.configure(self.config)
        import django

        django.setup()
        from bench.common import tenant_setup

        self.org = self.sandbox.seed_demo_org(name="Soak", api_key="soak-key", rate_limit_per_minute=6000)
        agents = [f"agent{i}@example.com" for i in range(1, self.args.agents + 1)]
        with self.sandbox.state.lock:
            known = {u["attributes"].get("email") for u in self.org.users.values()}
            for email in agents:
                if email not in known:
                    add_user(self.org, name=email.split("@")[0], email=email)
        self.shared = soak_operator.seed_shared_numbers(self.sandbox, self.org, api_key="soak-key")
        self.tenancy = tenant_setup(slug="soak", sandbox_url=self.sandbox.url, sandbox_api_key="soak-key",
                                    rate_limit_per_minute=6000, agents=self.args.agents,
                                    kustomer_agents=self.args.agents, watch_interval_seconds=5)
        from statusmapping import services as status_services
        from tenants.models import Tenant

        self.tenant = Tenant.objects.get(pk=self.tenancy.tenant_id)
        status_services.status_inheritance_update(tenant=self.tenant, direction="TWO_WAY", priority=self.args.priority)
        if self.args.policies == "both":
            self.policy = soak_policies.setup(self)
        self.stack = stk.Stack(self.config)
        self.stack.web(workers=2)
        if self.policy is not None:
            soak_policies.policies_put(self, self.policy)
        if self.args.setup == "pg":
            self.stack.worker("soak-a")
            self.stack.worker("soak-b")
        else:
            self.stack.worker("soak")
        self.stack.beat()
        log(f"stack up ({self.args.setup}): web {self.config.web_url}, sandbox {self.sandbox.url}")

    # -- the queue -------------------------------------------------------------------------------
    def queue_depth(self) -> int:
        if self.args.setup == "pg":
            import redis

            client = redis.Redis.from_url(self.redis.url, socket_timeout=5)
            try:
                return int(sum(client.llen(k) for k in [self.config.queue] +
                               [f"{self.config.queue}\x06\x16{p}" for p in (3, 6, 9)]))
            finally:
                client.close()
        path = self.config.broker_url.split("sqlite:///", 1)[1]
        try:
            with sqlite3.connect(path, timeout=5) as db:
                return int(db.execute("select count(*) from kombu_message m join kombu_queue q on m.queue_id = q.id "
                                      "where q.name = ? and m.visible = 1", [self.config.queue]).fetchone()[0])
        except sqlite3.OperationalError:
            return 0  # not created yet

    def _sample(self) -> None:
        while not self.stop_sampling.wait(1.0):
            try:
                self.depths.append(self.queue_depth())
            except Exception:  # a sample lost is not a verdict
                pass

    # -- faults ----------------------------------------------------------------------------------
    def _faults(self, seconds: float) -> None:
        from kustomer_sandbox.faults import FaultConfig, fault_config_update

        plan = [(20, {"error_rate": 0.2, "error_status": 503}, "20% of Kustomer's answers 503 for 20 s"),
                (60, {"rate_limit_storm_seconds": 10}, "a 10 s 429 storm"),
                (100, {"error_rate": 0.2, "error_status": 502}, "20% of Kustomer's answers 502 for 20 s")]
        t0 = time.monotonic()
        for offset, config, text in plan:
            while offset > 0 and time.monotonic() - t0 < offset * seconds / 140:
                if self.stop_sampling.wait(0.5):
                    return
            with self.sandbox.state.lock:
                fault_config_update(self.sandbox.state.global_faults, config)
            self.faults_made.append(f"{time.strftime('%H:%M:%S')} {text}")
            log(f"FAULT {text}")
            if self.stop_sampling.wait(20):
                return
            with self.sandbox.state.lock:
                self.sandbox.state.global_faults = FaultConfig()

    # -- the day ---------------------------------------------------------------------------------
    def traffic(self):
        from loadtest.files import FileServer
        from loadtest.sender import Progress, Sender
        from loadtest.traffic import generate_day, schedule

        self.files = FileServer().__enter__()
        plan = generate_day(agents=self.tenancy.agents, events=self.args.events, seed=self.args.seed,
                            start=datetime.now(timezone.utc), run_id=uuid.uuid4().hex[:6], file_base=self.files.url,
                            kustomer_status_ids=list(self.tenancy.kustomer_status_ids.values()),
                            shared_phones=list(soak_operator.SHARED_PHONES), without_end=True)
        scheduled = schedule(plan, rate=self.args.rate, start=datetime.now(timezone.utc))
        log(f"day: {plan.event_count} events, {plan.status_count} status changes, {len(plan.sessions)} sessions, "
            f"{len(plan.customers)} customers, {len(self.tenancy.agents)} agents; {len(scheduled)} requests at "
            f"{self.args.rate:g}/s; scenarios {dict(sorted(plan.scenarios.items()))}")
        threading.Thread(target=self._sample, daemon=True).start()
        if self.args.faults:
            threading.Thread(target=self._faults, args=(len(scheduled) / self.args.rate,), daemon=True).start()
        sender = Sender(self.config.web_url, self.tenancy.api_key, threads=8, retries=8, retry_wait=1.0, timeout=20)
        # A Kustomer-side status change is the agent's choice in Kustomer: made in the
        # sandbox as it is reported (the adapter's event and the watcher both see it).
        threading.Thread(target=self._kustomer_side, args=(scheduled, time.monotonic()), daemon=True).start()
        started = time.monotonic()
        second = soak_policies.traffic(self, self.policy, soak_judge.customer_key) if self.policy is not None else None
        report = sender.run(scheduled, progress=Progress(len(scheduled), "sending"))
        if second is not None:
            second.join()
        self.sent_at = time.monotonic()
        log(f"sent in {self.sent_at - started:.0f} s")
        return plan, report

    def _kustomer_side(self, scheduled, t0: float) -> None:
        from kustomer_sandbox.work_sessions import agent_status_set

        with self.sandbox.state.lock:
            users = {u["attributes"].get("email"): uid for uid, u in self.org.users.items()}
        for offset, send in scheduled:
            if send.kind != "status" or send.body.get("source") != "kustomer":
                continue
            if self.stop_sampling.wait(max(0.0, t0 + offset - 0.05 - time.monotonic())):
                return
            with self.sandbox.state.lock:
                status = self.org.statuses.get(send.body.get("kustomer_status_id"))
                user_id = users.get(send.body.get("agent_email"))
                if status is not None and user_id is not None:
                    agent_status_set(self.org, user_id, status)

    def quiescent(self) -> tuple[bool, str]:
        from conversations.models import Event, EventAction, WebhookDelivery
        from conversations.services.late_files import ATTACH_FILE

        waiting = Event.objects.filter(tenant_id=self.tenancy.tenant_id, state__in=["accepted", "processing"]).count()
        if self.policy is not None:
            waiting += soak_policies.waiting(self.policy)
        late = EventAction.objects.filter(event__tenant_id=self.tenancy.tenant_id, kind=ATTACH_FILE,
                                          state="pending").count()
        deliveries = WebhookDelivery.objects.filter(subscription__tenant_id=self.tenancy.tenant_id,
                                                    state="received").count()
        from statusmapping.models import Agent

        pushes = Agent.objects.filter(tenant_id=self.tenancy.tenant_id).exclude(push_kustomer_status_id="").count()
        depth = self.queue_depth()
        return (waiting == 0 and late == 0 and deliveries == 0 and pushes == 0 and depth == 0,
                f"{waiting} events, {late} late files, {deliveries} webhook deliveries, {pushes} status pushes "
                f"waiting; queue {depth}")

    def wait_quiescent(self) -> float:
        deadline = time.monotonic() + self.args.settle
        quiet_since = None
        state = ""
        while time.monotonic() < deadline:
            ok, state = self.quiescent()
            if ok:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= 12:  # stays quiet: no tick re-fills it, the watcher (5 s) read Kustomer
                    took = quiet_since - self.sent_at
                    log(f"quiescent {took:.0f} s after the last send")
                    return took
            else:
                quiet_since = None
            time.sleep(1.0)
        log(f"NOT quiescent after {self.args.settle:.0f} s: {state}")
        return float("nan")

    # -- the operator's part (SPEC §7: bench/soak_operator.py) -------------------------------------
    def operator_cases(self, plan, report) -> list[str]:
        return soak_operator.operator_cases(self, plan, report)

    def judge(self, plan, report) -> tuple[list[str], dict]:
        return soak_judge.judge_day(self, plan, report)

    def _drop_database(self) -> None:
        if self.args.setup != "pg" or not self.args.drop_database or not hasattr(self, "config"):
            return
        stk.drop_database(self.config)

    def teardown(self) -> None:
        self.stop_sampling.set()
        for closer in (lambda: self.stack.stop_all(), lambda: self.files.__exit__(None, None, None),
                       lambda: self.sandbox.stop(), lambda: self.redis and self.redis.stop(), self._drop_database):
            try:
                closer()
            except Exception:
                pass


def record(args, figures: dict, violations: list[str], took: float, quiescence: float) -> None:
    """One row per set-up in BENCHMARKS.md's soak table (its own section)."""
    path = stk.ROOT / "BENCHMARKS.md"
    old = path.read_text() if path.exists() else "# Benchmarks\n"
    start, end = old.find(SOAK_BEGIN), old.find(SOAK_END)
    rows: dict[str, str] = {}
    if start != -1 and end != -1:
        for line in old[start:end].splitlines():
            if line.startswith("| ") and not line.startswith("| set-up") and not line.startswith("|---"):
                rows[line.split("|")[1].strip()] = line
    threads = os.environ.get("CELERY_WORKER_CONCURRENCY") or ("4" if args.setup == "single" else "16")
    pool = os.environ.get("CELERY_WORKER_POOL") or "threads"
    label = {"single": f"single machine (SQLite, embedded broker, 1 worker x {threads} {pool})",
             "pg": f"PostgreSQL + Redis (2 workers x {threads} {pool})"}[args.setup]
    rows[label] = (f"| {label} | {datetime.now(timezone.utc):%Y-%m-%d %H:%M} | {figures.get('events accepted', 0)} "
                   f"(+{figures.get('status changes accepted', 0)} status) | {args.agents} | {args.priority} | "
                   f"{'on' if args.faults else 'off'} | {figures.get('invariants checked', 0)} | {len(violations)} | "
                   f"{quiescence:.0f} s | {figures.get('queue depth peak / end', '?')} | "
                   f"{figures.get('events failed (with reason)', 0)} | {took:.0f} s |")
    lines = [SOAK_BEGIN, "## Soak: a contact-center day with a judge (`make soak`)", "",
             "Each row: one `bench/soak.py` run; expectation derived from the events sent, checked against what the "
             "Kustomer sandbox holds (see the module's docstring). Time to quiescence: from the last request sent to "
             "every event finished, no late file or webhook delivery waiting and the broker queue empty. "
             f"Load average at the end of this run: {stk.load_average()}.", "",
             "| set-up | run (UTC) | events | agents | priority | faults | invariants checked | violations | "
             "time to quiescence | queue depth peak / end | events failed (with reason) | whole run |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|", *rows.values(), SOAK_END]
    block = "\n".join(lines)
    new = (old[:start] + block + old[end + len(SOAK_END):]) if start != -1 and end != -1 else \
        old.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(new)
    log(f"recorded in {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A contact-center day with a judge: 0 violations, or it fails.")
    parser.add_argument("--setup", choices=["single", "pg"], default="single")
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--agents", type=int, default=8)
    parser.add_argument("--rate", type=float, default=10.0, help="requests per second")
    parser.add_argument("--priority", choices=["LATEST_WINS", "CRM_OVERRIDES"], default="LATEST_WINS")
    parser.add_argument("--faults", action="store_true", help="503/502 bursts and a 429 storm from Kustomer")
    parser.add_argument("--policies", choices=["default", "both"], default="both",
                        help="both: a second tenant (own org, own day) with call logging policies that are not the "
                             "defaults, judged against what they say (bench/soak_policies.py)")
    parser.add_argument("--seed", type=int, default=22)
    parser.add_argument("--settle", type=float, default=300.0, help="seconds to wait for quiescence")
    parser.add_argument("--record", action="store_true", help="write the row into BENCHMARKS.md")
    parser.add_argument("--database", default="", help="database (pg, recreated) or var/bench folder (single) name")
    parser.add_argument("--drop-database", action="store_true", help="pg: drop the database at the end")
    args = parser.parse_args(argv)
    soak = Soak(args)
    started = time.monotonic()
    violations: list[str] = ["the soak did not finish"]
    figures: dict = {}
    quiescence = float("nan")
    try:
        soak.setup()
        plan, report = soak.traffic()
        quiescence = soak.wait_quiescent()
        parked = soak.operator_cases(plan, report)
        after = soak.wait_quiescent()  # the chosen numbers' events and the close-outs
        soak.stop_sampling.set()
        violations, figures = soak.judge(plan, report)
        violations = parked + violations
        figures["operator cases"] = (f"{len(soak.shared_sends)} shared-number events, "
                                     f"{soak.closed_out} sessions closed out")
        if quiescence != quiescence or after != after:  # NaN: never quiet
            violations.append(f"not quiescent within {args.settle:.0f} s: {soak.quiescent()[1]}")
    except Exception:
        traceback.print_exc()
        violations = ["the soak itself failed: " + traceback.format_exc().splitlines()[-1]]
    finally:
        soak.teardown()
    took = time.monotonic() - started
    print("\nFigures:")
    for name, value in figures.items():
        print(f"  {name}: {value}")
    for line in getattr(soak, "disagreements", [])[:5]:
        print(f"  differs (reason shown): {line}")
    for line in violations[:40]:
        print(f"  VIOLATION: {line}")
    if args.record and figures:
        record(args, figures, violations, took, quiescence)
    verdict = f"{len(violations)} violations, {figures.get('invariants checked', 0)} invariants checked"
    print(f"VERDICT: {'PASS' if not violations else 'FAIL'}: {verdict} ({took:.0f} s)")
    return 0 if not violations else 1


if __name__ == "__main__":
    sys.exit(main())
