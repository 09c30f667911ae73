"""`make bench` (`python bench/run_bench.py [--quick] [--output BENCHMARKS.md]`)

The benchmarks of the status inheritance and conversation sync issues, on this machine,
under gunicorn on PostgreSQL and Celery on Redis, against the Kustomer sandbox:

1. Status event endpoint (`POST /api/v1/agent-status/events`): p50/p99 latency at a
   steady 200 events/s (open loop), and the most requests/s, next to a bare Django view
   doing one indexed UPDATE on the same gunicorn (targets: p99 < 25 ms at 200/s,
   throughput ≥ half the bare view's).
2. Watcher delay: an agent's status changed in the sandbox → the portal's agent row
   (target: under 2 watch intervals).
3. Ingestion (`POST /api/v1/events`, a realistic mix from loadtest.traffic): events
   accepted/s; events applied/s with 1 and 2 Celery workers (sandbox unlimited);
   Kustomer requests per event type next to the fewest the rules allow; the sandbox's
   raw request rate as the reference.
4. Rate limit: the sandbox org limited to 1,000 requests/min, a steady feed with 2
   workers: acceptance → last Kustomer write p50/p99, failed events (must be 0), 429s.
6. Concurrency (bench/concurrency.py, its own block of BENCHMARKS.md): 50 tenants at 0
   and 150 ms Kustomer latency, per worker core, quiet tenants beside a noisy one,
   budgets binding (`--only concurrency` runs it alone).

It recreates its own database (portal_bench), uses Redis db 15, binds 127.0.0.1 only,
stops everything it started, and writes the table to BENCHMARKS.md. Exit status 0
when every target holds, 1 otherwise.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import traceback
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import stack as stk  # noqa: E402
from bench.loadgen import open_loop, wrk_lua_post, wrk_max  # noqa: E402
from bench.sync_benches import UNLIMITED, SyncBenches  # noqa: E402

ROOT = stk.ROOT
FAULTS_BEGIN = "<!-- fault suite: written by bench/faults.py -->"
FAULTS_END = "<!-- /fault suite -->"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs (tool check, figures not for the table)")
    parser.add_argument("--output", default=None,
                        help="default BENCHMARKS.md (a --quick run writes var/bench/BENCHMARKS-quick.md)")
    parser.add_argument("--database", default="portal_bench")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--note", default=os.environ.get("BENCH_NOTE", ""),
                        help="what else ran on the machine (goes into BENCHMARKS.md)")
    parser.add_argument("--only", default="",
                        help="comma list of sections: status,watcher,ingestion,ratelimit,ccaip,concurrency")
    return parser.parse_args()


class Bench(SyncBenches):
    def __init__(self, args) -> None:
        self.args = args
        self.quick = args.quick
        self.config = stk.StackConfig(database=args.database, broker_url=args.broker, cache_url=args.broker,
                                      queue=f"bench-{uuid.uuid4().hex[:6]}")
        self.stack = stk.Stack(self.config)
        self.rows: list[dict] = []
        self.notes: list[str] = []
        self.failures: list[str] = []
        self.started = datetime.now(timezone.utc)
        self.loads: list[str] = []

    # -- helpers -----------------------------------------------------------------------------
    def say(self, text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)

    def row(self, section: str, figure: str, value: str, reference: str = "", ratio: str = "", target: str = "",
            ok: bool | None = None) -> None:
        self.rows.append({"section": section, "figure": figure, "value": value, "reference": reference,
                          "ratio": ratio, "target": target, "ok": ok})
        verdict = "" if ok is None else ("  PASS" if ok else "  FAIL")
        self.say(f"  {figure}: {value}" + (f"  (ref {reference}, ratio {ratio})" if reference else "") + verdict)
        if ok is False:
            self.failures.append(f"{section}: {figure} = {value} (target {target})")

    def load_note(self, when: str) -> None:
        self.loads.append(f"{when}: {stk.load_average()}")

    # -- set-up ------------------------------------------------------------------------------
    def setup(self) -> None:
        self.say(f"database {self.config.database}, broker {self.config.broker_url}, queue {self.config.queue}")
        stk.flush_redis(self.config.broker_url)
        stk.recreate_database(self.config)
        stk.configure(self.config)
        import django

        django.setup()
        self.sandbox = self.stack.sandbox_subprocess()
        from bench.common import sandbox_org_create, tenant_setup

        self.org_id = sandbox_org_create(self.config.sandbox_url, api_key="bench-key",
                                         rate_limit_per_minute=UNLIMITED, name="Bench")
        self.tenancy = tenant_setup(slug="bench", sandbox_url=self.config.sandbox_url, sandbox_api_key="bench-key",
                                    rate_limit_per_minute=UNLIMITED, agents=50, watch_interval_seconds=2)
        stk.flush_redis(self.config.broker_url)  # nothing queued by the set-up
        self.web = self.stack.web(workers=self.args.web_workers, wsgi="portal.wsgi:application")

    # -- 1. status endpoint -----------------------------------------------------------------
    def bench_status(self) -> None:
        self.say("1. status event endpoint vs bare view (gunicorn, PostgreSQL)")
        self.load_note("before status")
        t = self.tenancy
        agents = t.agents
        kustomer_ids = list(t.kustomer_status_ids.values())
        cc_names = ["Available", "Break", "Lunch", "Meeting", "Training", "Available", "In-chat"]
        run = uuid.uuid4().hex[:6]
        base = datetime.now(timezone.utc)
        rng = random.Random(7)

        def status_body(i: int) -> dict:
            agent = agents[i % len(agents)]
            at = (base + timedelta(milliseconds=i)).isoformat().replace("+00:00", "Z")
            if i % 2:
                return {"id": f"st-{run}-{i}", "source": "kustomer", "agent_email": agent,
                        "kustomer_status_id": kustomer_ids[rng.randrange(len(kustomer_ids))], "occurred_at": at}
            return {"id": f"st-{run}-{i}", "source": "contact_center", "agent_email": agent,
                    "status": cc_names[rng.randrange(len(cc_names))], "kind": "manual", "occurred_at": at}

        def bare_body(i: int) -> dict:
            return {"tenant_id": t.tenant_id, "agent_email": agents[i % len(agents)]}

        port = self.config.web_port
        auth = {"Authorization": f"Bearer {t.api_key}"}
        seconds = 6 if self.quick else 20
        results = {}
        for name, path, make, headers in (
            ("status endpoint", "/api/v1/agent-status/events", status_body, auth),
            ("bare view", "/bench/bare-update", bare_body, {}),
        ):
            open_loop(host="127.0.0.1", port=port, path=path, make_body=make, headers=headers, rate=100,
                      seconds=2)  # warm-up: connections, imports, caches
            results[name] = open_loop(host="127.0.0.1", port=port, path=path, make_body=make, headers=headers,
                                      rate=200, seconds=seconds, connections=16)
            r = results[name]
            self.say(f"  {name}: {r.ok}/{r.sent} ok at {r.achieved_rps:.0f}/s, statuses {r.statuses}")
        s, b = results["status endpoint"], results["bare view"]
        self.row("Status endpoint", "p50 latency at 200 events/s", f"{s.p(50):.1f} ms", f"{b.p(50):.1f} ms (bare)",
                 f"{s.p(50) / b.p(50):.1f}×")
        self.row("Status endpoint", "p99 latency at 200 events/s", f"{s.p(99):.1f} ms", f"{b.p(99):.1f} ms (bare)",
                 f"{s.p(99) / b.p(99):.1f}×", "< 25 ms", s.p(99) < 25.0 and s.errors == 0)
        self.row("Status endpoint", "errors at 200 events/s", f"{s.errors} of {s.sent}", "", "", "0", s.errors == 0)

        decisions = self._decision_counts()
        self.notes.append("Status events: half contact-center changes (manual), half Kustomer changes (API feed), "
                          f"over 50 agents, inheritance on (one-way, LATEST_WINS); decisions: {decisions}.")
        wrk_seconds = 6 if self.quick else 15
        counter = f"{run}w"
        status_lua = wrk_lua_post(
            path="/api/v1/agent-status/events", headers=auth,
            prelude=("local agents = {" + ",".join(f'"{a}"' for a in agents) + "}\n"
                     "local names = {" + ",".join(f'"{c}"' for c in cc_names) + "}\n"
                     "local kids = {" + ",".join(f'"{k}"' for k in kustomer_ids) + "}\n"),
            body_lua=(
                '(n % 2 == 1) and string.format(\'{"id":"st-' + counter + '-%d-%d","source":"kustomer",'
                '"agent_email":"%s","kustomer_status_id":"%s","occurred_at":"2030-01-01T00:00:00.%06dZ"}\', '
                'tid, n, agents[(n % #agents) + 1], kids[(n % #kids) + 1], n % 1000000) '
                'or string.format(\'{"id":"st-' + counter + '-%d-%d","source":"contact_center",'
                '"agent_email":"%s","status":"%s","kind":"manual","occurred_at":"2030-01-01T00:00:00.%06dZ"}\', '
                'tid, n, agents[(n % #agents) + 1], names[(n % #names) + 1], n % 1000000)'),
        )
        bare_lua = wrk_lua_post(
            path="/bench/bare-update", headers={},
            prelude="local agents = {" + ",".join(f'"{a}"' for a in agents) + "}\n",
            body_lua=(f'string.format(\'{{"tenant_id":{t.tenant_id},"agent_email":"%s"}}\', '
                      'agents[(n % #agents) + 1])'),
        )
        status_max = wrk_max(url=f"http://127.0.0.1:{port}/api/v1/agent-status/events", lua=status_lua,
                             seconds=wrk_seconds)
        bare_max = wrk_max(url=f"http://127.0.0.1:{port}/bench/bare-update", lua=bare_lua, seconds=wrk_seconds)
        for name, result in (("status", status_max), ("bare", bare_max)):
            if result.non_2xx or result.socket_errors:
                self.say(f"  wrk {name}: non-2xx {result.non_2xx}, socket errors {result.socket_errors}")
            if not result.rps:
                self.say(f"  wrk {name} output:\n{result.raw}")
        ratio = status_max.rps / bare_max.rps if bare_max.rps else 0.0
        self.row("Status endpoint", "throughput (most requests/s, 16 connections)",
                 f"{status_max.rps:.0f} req/s", f"{bare_max.rps:.0f} req/s (bare)", f"{ratio:.2f}",
                 "≥ 0.5 of bare", ratio >= 0.5 and status_max.non_2xx == 0)
        self.notes.append(f"Throughput under wrk, 2 threads, 16 connections, {wrk_seconds} s each: status p50 "
                          f"{status_max.p50_ms:.1f} ms / p99 {status_max.p99_ms:.1f} ms, bare p50 "
                          f"{bare_max.p50_ms:.1f} ms / p99 {bare_max.p99_ms:.1f} ms; status non-2xx "
                          f"{status_max.non_2xx}. gunicorn {self.args.web_workers} sync workers, DEBUG off.")

    def _decision_counts(self) -> dict:
        from statusmapping.models import StatusChange

        return dict(Counter(StatusChange.objects.filter(tenant_id=self.tenancy.tenant_id)
                            .values_list("decision", flat=True)))

    # -- 2. watcher ---------------------------------------------------------------------------
    def bench_watcher(self) -> None:
        self.say("2. watcher delay (sandbox status change -> portal agent row)")
        self.load_note("before watcher")
        from statusmapping.models import Agent, StatusInheritanceSettings

        interval = StatusInheritanceSettings.objects.get(tenant_id=self.tenancy.tenant_id).watch_interval_seconds
        worker = self.stack.worker("watch-worker", concurrency=1)
        beat = self.stack.beat()
        try:
            time.sleep(interval + 2)  # the first read of every session
            delays = []
            names = ["Lunch", "Available", "Break", "Available", "Training", "Available"]
            rounds = 3 if self.quick else 6
            for i in range(rounds):
                email = f"agent{(i % 5) + 1}@example.com"
                name = names[i % len(names)]
                wanted = self.tenancy.kustomer_status_ids[name]
                # Between intervals at random: the delay's spread covers the tick.
                time.sleep(random.Random(i).uniform(0, interval))
                started = time.monotonic()
                status, body = stk.http_json("POST", f"{self.config.sandbox_url}/__sandbox/orgs/{self.org_id}/agents/status",
                                             {"email": email, "status": name})
                if status != 200:
                    raise RuntimeError(f"sandbox agent status: {status} {body}")
                try:
                    stk.wait_until(lambda: Agent.objects.filter(tenant_id=self.tenancy.tenant_id, email=email,
                                                                kustomer_status_id=wanted).exists(),
                                   timeout=interval * 5, interval=0.05, what=f"{email} -> {name}")
                    delays.append(time.monotonic() - started)
                except TimeoutError:
                    delays.append(float("inf"))
            finite = [d for d in delays if d != float("inf")]
            worst = max(delays)
            self.row("Watcher", f"delay, sandbox change → agent row (p50 of {len(delays)})",
                     f"{statistics.median(finite):.2f} s" if finite else "never", f"interval {interval} s",
                     f"{statistics.median(finite) / interval:.2f} intervals" if finite else "-")
            self.row("Watcher", "delay, worst", f"{worst:.2f} s" if worst != float("inf") else "never",
                     f"interval {interval} s", f"{worst / interval:.2f} intervals" if worst != float("inf") else "-",
                     "< 2 intervals", worst < 2 * interval)
        finally:
            self.stack.stop(beat)
            self.stack.stop(worker)

    # -- 3. ingestion ------------------------------------------------------------------------
    def write(self) -> None:
        finished = datetime.now(timezone.utc)
        lines = [
            "# Benchmarks",
            "",
            "Measured by `make bench` (`python bench/run_bench.py`): gunicorn, PostgreSQL, Celery on Redis and the "
            "Kustomer sandbox on this machine, every process bound to 127.0.0.1. The figures are from one run; the "
            "machine's other load is noted below. Ratios: the figure divided by its reference.",
            "",
            f"- **Date**: {self.started:%Y-%m-%d %H:%M} – {finished:%H:%M} UTC" + (" (quick run: figures are a tool "
                                                                                    "check only)" if self.quick else ""),
            f"- **Machine**: {stk.machine_description()}",
            f"- **Load average (1, 5, 15 min)**: " + "; ".join(self.loads),
        ]
        if self.args.note:
            lines.append(f"- **Disturbances**: {self.args.note}")
        lines += ["", "| section | figure | value | reference | ratio | target | verdict |",
                  "|---|---|---|---|---|---|---|"]
        for r in self.rows:
            verdict = "" if r["ok"] is None else ("pass" if r["ok"] else "**FAIL**")
            lines.append(f"| {r['section']} | {r['figure']} | {r['value']} | {r['reference']} | {r['ratio']} | "
                         f"{r['target']} | {verdict} |")
        lines += ["", "## How each figure was taken", ""] + [f"- {n}" for n in self.notes]
        lines += ["", f"Verdict: **{'PASS' if not self.failures else 'FAIL'}**"
                  + ("" if not self.failures else " — " + "; ".join(self.failures)), ""]
        output = Path(self.args.output)
        # The fault suite's last verdict (bench/faults.py), the soak's table
        # (bench/soak.py) and the demo-day figures (make simulate) stay in the file.
        kept = ""
        if output.exists():
            old = output.read_text()
            for begin_mark, end_mark in ((FAULTS_BEGIN, FAULTS_END), ("<!-- soak:begin -->", "<!-- soak:end -->"),
                                         ("<!-- simulate:begin -->", "<!-- simulate:end -->"),
                                         ("<!-- concurrency:begin -->", "<!-- concurrency:end -->")):
                start, end = old.find(begin_mark), old.find(end_mark)
                if start != -1 and end != -1:
                    kept += old[start:end + len(end_mark)] + "\n"
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text("\n".join(lines) + ("\n" + kept if kept else ""))
        self.say(f"wrote {self.args.output}")


def main() -> int:
    args = parse_args()
    if args.output is None:
        args.output = str(ROOT / ("var/bench/BENCHMARKS-quick.md" if args.quick else "BENCHMARKS.md"))
    bench = Bench(args)
    sections = [s for s in args.only.split(",") if s] or ["status", "watcher", "ratelimit", "ingestion", "ccaip",
                                                          "concurrency"]
    deadline = time.monotonic() + (1300 if not args.quick else 600)
    ok = True
    try:
        bench.setup()
        for name in sections:
            if time.monotonic() > deadline:
                bench.failures.append(f"{name}: skipped, the run's time budget was spent")
                continue
            try:
                getattr(bench, f"bench_{name}")()
            except Exception as exc:  # one section failing must not hide the others
                traceback.print_exc()
                bench.failures.append(f"{name}: {type(exc).__name__}: {exc}")
    finally:
        bench.stack.stop_all()
    if set(sections) - {"concurrency"}:  # that section writes its own block (bench/concurrency.py)
        bench.write()
    ok = not bench.failures
    print("")
    print(f"VERDICT: {'PASS' if ok else 'FAIL'}: " + ("every target holds" if ok else "; ".join(bench.failures)))
    for r in bench.rows:
        print(f"  {r['section']:<28} {r['figure']:<55} {r['value']:<24} {r['reference']:<24} {r['ratio']}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
