"""Section `concurrency` of `make bench` (issue 16, docs/concurrency.md): the sync
backend at real Kustomer latency and at many tenants, in one run.

- 50 tenants (12 with --quick), each on a sandbox org of its own with its own budget
  (the connection's org id keys it), each fed the realistic mix of `loadtest.traffic`
  (what `manage.py simulate_traffic` sends).
- Backlog runs (events queued first, then one worker started; timed from the first
  event's processing start to the last one's finish): applied/s at 0 ms and at 150 ms
  added to every Kustomer request (the sandbox's latency, each request delayed in its
  own thread), on the threads pool; the same at 0 ms on one prefork process (the pool of
  before, "today's figure"); the worker's CPU seconds give events per worker core.
- Steady runs (every tenant sending at once, 50 ms a request): the quiet tenants'
  acceptance → last write p99 alone, and beside one noisy tenant whose org answers 429
  to everything, then whose Kustomer does not answer at all (timeouts).
- Budgets binding: ten more tenants on orgs of 60 requests/min, half sending twice what
  that carries, half half of it: each org's busiest 60 s next to its limit, 429s.

The figures go between the `concurrency` markers of BENCHMARKS.md; `run_bench.py`
keeps that block when it rewrites its own table.
"""
from __future__ import annotations

import os
import random
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bench import stack as stk
from bench.loadgen import percentile

BEGIN, END = "<!-- concurrency:begin -->", "<!-- concurrency:end -->"
SECTION = "Concurrency"
UNLIMITED = 1_000_000
THREADS = int(os.environ.get("BENCH_WORKER_THREADS", "32"))
BUDGET_LIMIT = 60


@dataclass
class BenchTenant:
    slug: str
    tenant_id: int
    api_key: str
    org_id: str


class ConcurrencyBench:
    def __init__(self, bench) -> None:
        self.b = bench
        self.quick = bench.quick
        self.url = bench.config.sandbox_url
        self.rows: list[dict] = []
        self.notes: list[str] = []
        self.seed = 1000

    # -- helpers ------------------------------------------------------------------------------
    def row(self, figure: str, value: str, reference: str = "", ratio: str = "", target: str = "",
            ok: bool | None = None) -> None:
        self.b.row(SECTION, figure, value, reference, ratio, target, ok)
        self.rows.append(self.b.rows.pop())

    def _tenants(self, count: int, prefix: str, limit: int) -> list[BenchTenant]:
        from bench.common import sandbox_org_create, tenant_setup

        out = []
        for i in range(count):
            slug, key = f"{prefix}{i:02d}", f"{prefix}-key-{i}-{uuid.uuid4().hex[:6]}"
            org_id = sandbox_org_create(self.url, api_key=key, rate_limit_per_minute=limit, name=f"Bench {slug}")
            t = tenant_setup(slug=slug, sandbox_url=self.url, sandbox_api_key=key, rate_limit_per_minute=limit,
                             agents=5, kustomer_agents=0, inheritance=False, kustomer_org_id=org_id)
            out.append(BenchTenant(slug=slug, tenant_id=t.tenant_id, api_key=t.api_key, org_id=org_id))
        return out

    def _day(self, events: int, file_base: str, scenarios=None):
        from loadtest.traffic import generate_day

        self.seed += 1
        return generate_day(agents=[f"agent{i}@example.com" for i in range(1, 6)], events=events, seed=self.seed,
                            start=datetime.now(timezone.utc), run_id=uuid.uuid4().hex[:6], file_base=file_base,
                            with_status=False, with_heartbeats=False, scenarios=scenarios)

    def _send(self, tenants: list[BenchTenant], events: dict[str, int], rate: dict[str, float], file_base: str,
              scenarios=None) -> dict[str, list[str]]:
        """Every tenant's day sent at once (its own key and connections); event ids by slug."""
        from loadtest.sender import Sender
        from loadtest.traffic import schedule

        plans = {t.slug: self._day(events[t.slug], file_base, scenarios) for t in tenants}
        start = datetime.now(timezone.utc)
        rng = random.Random(self.seed)
        # A steady feed: each tenant starts at its own moment within its first gap (fifty
        # first events at the same instant would be a burst, not a steady feed).
        shift = {t.slug: rng.uniform(0, 1.0 / rate[t.slug]) if rate[t.slug] else 0.0 for t in tenants}

        def one(t: BenchTenant):
            sender = Sender(self.b.config.web_url, t.api_key, threads=2)
            due = schedule(plans[t.slug], rate=rate[t.slug], start=start + timedelta(seconds=shift[t.slug]))
            report = sender.run([(offset + shift[t.slug], send) for offset, send in due])
            return t.slug, report.accepted_event_ids

        with ThreadPoolExecutor(max_workers=len(tenants)) as pool:
            return dict(pool.map(one, tenants))

    @staticmethod
    def _events(ids: dict[str, list[str]]):
        from conversations.models import Event

        return Event.objects.filter(event_id__in=[i for v in ids.values() for i in v])

    def _wait(self, ids: dict[str, list[str]], timeout: float) -> None:
        total = sum(len(v) for v in ids.values())
        qs = self._events(ids)
        stk.wait_until(lambda: qs.filter(state__in=["done", "failed"]).count() == total, timeout=timeout,
                       interval=0.5, what=f"{total} events applied")

    def _latencies(self, ids: dict[str, list[str]]) -> list[float]:
        return [(e.finished_at - e.received_at).total_seconds() * 1000
                for e in self._events(ids).filter(state="done").only("finished_at", "received_at")]

    def _faults(self, body: dict, org_id: str | None = None) -> None:
        path = f"/__sandbox/orgs/{org_id}/faults" if org_id else "/__sandbox/faults"
        status, answer = stk.http_json("POST" if body else "DELETE", self.url + path, body or None)
        if status not in (200, 204):
            raise RuntimeError(f"sandbox faults {path}: {status} {answer}")

    @staticmethod
    def _cpu_seconds(process: stk.Process) -> float:
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for pid in [process.pid, *process.children()]:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / ticks
            except (OSError, IndexError, ValueError):
                pass
        return total

    # -- runs ---------------------------------------------------------------------------------
    def backlog(self, name: str, tenants, per_tenant: int, files, *, latency_ms: int, pool: str,
                concurrency: int) -> tuple[float, float, Counter]:
        """Applied/s and events per worker CPU second of one worker on a queued backlog."""
        from django.db.models import Max, Min

        self._faults({"latency_ms": latency_ms})
        ids = self._send(tenants, {t.slug: per_tenant for t in tenants}, {t.slug: 0.0 for t in tenants}, files.url)
        worker = self.b.stack.worker(name, pool=pool, concurrency=concurrency)
        cpu_start = self._cpu_seconds(worker)
        try:
            self._wait(ids, 600)
            cpu = self._cpu_seconds(worker) - cpu_start
        finally:
            self.b.stack.stop(worker)
            self._faults({})
        span = self._events(ids).aggregate(first=Min("processing_started_at"), last=Max("finished_at"))
        seconds = max(0.001, (span["last"] - span["first"]).total_seconds())
        count = sum(len(v) for v in ids.values())
        states = Counter(self._events(ids).values_list("state", flat=True))
        self.b.say(f"  backlog {name}: {count} events in {seconds:.1f} s, worker CPU {cpu:.1f} s, {dict(states)}")
        return count / seconds, count / max(cpu, 0.001), states

    def steady(self, tenants, quiet, files, *, seconds: float, rate: float) -> tuple[list[float], Counter]:
        ids = self._send(tenants, {t.slug: max(2, int(rate * seconds)) for t in tenants},
                         {t.slug: rate for t in tenants}, files.url)
        quiet_ids = {s: v for s, v in ids.items() if s in quiet}
        self._wait(quiet_ids, 300)
        return self._latencies(quiet_ids), Counter(self._events(quiet_ids).values_list("state", flat=True))

    def budgets(self, tenants, files, *, seconds: float) -> None:
        from bench.common import sandbox_requests

        carried = BUDGET_LIMIT / 3.0 / 60.0  # events/s a budget carries at ~3 requests an event
        high = {t.slug for t in tenants[: len(tenants) // 2]}
        rate = {t.slug: carried * (2.0 if t.slug in high else 0.5) for t in tenants}
        started = datetime.now(timezone.utc)
        stk.http_json("DELETE", f"{self.url}/__sandbox/requests")
        ids = self._send(tenants, {t.slug: max(2, int(rate[t.slug] * seconds)) for t in tenants}, rate, files.url)
        time.sleep(max(0.0, seconds - (datetime.now(timezone.utc) - started).total_seconds()))
        low_ids = {s: v for s, v in ids.items() if s not in high}
        try:
            self._wait(low_ids, 120)
        except TimeoutError:
            pass
        busiest, refused, total = [], 0, 0
        for t in tenants:
            log = [e for e in sandbox_requests(self.url, t.org_id) if e.get("kind") != "upload"]
            total += len(log)
            refused += sum(1 for e in log if e.get("status") == 429)
            busiest.append(self.b._busiest_minute(log))
        low_states = Counter(self._events(low_ids).values_list("state", flat=True))
        self.row(f"budgets binding ({len(tenants)} orgs of {BUDGET_LIMIT}/min): busiest 60 s of any org",
                 f"{max(busiest)} requests", f"{BUDGET_LIMIT} (the limit)", f"{max(busiest) / BUDGET_LIMIT:.2f}",
                 "< 1.00", max(busiest) < BUDGET_LIMIT)
        self.row("budgets binding: Kustomer 429 answers (our own pacing)", f"{refused} of {total}", "", "", "0",
                 refused == 0)
        low_lat = self._latencies(low_ids)
        self.row("budgets binding: tenants at half their budget, events applied (p99 acceptance → last write)",
                 f"{low_states.get('done', 0)} of {sum(len(v) for v in low_ids.values())} "
                 f"({percentile(low_lat, 99) / 1000:.1f} s)" if low_lat else "none", "", "",
                 "all, beside tenants at twice theirs", low_states.get("done", 0) == sum(len(v) for v in low_ids.values()))
        self.notes.append(
            f"Budgets binding: {len(tenants)} tenants on sandbox orgs of {BUDGET_LIMIT} requests/min (connection "
            f"budget the same), {len(high)} sending twice what that carries at ~3 requests an event, the others half "
            f"of it, for {seconds:.0f} s; busiest 60 s per org from the sandbox's request log: {sorted(busiest)}. "
            "The tenants at twice their budget are paced by it (their events wait for the budget, re-queued, "
            "off the workers); the others' events are applied as they come.")

    # -- the section --------------------------------------------------------------------------
    def run(self) -> None:
        from loadtest.files import FileServer

        b = self.b
        b.say("6. concurrency: applied/s at 0 and 150 ms, per worker core, quiet tenants beside a noisy one, budgets")
        b.load_note("before concurrency")
        count = 12 if self.quick else 50
        tenants = self._tenants(count, "c", UNLIMITED)
        budget_tenants = self._tenants(4 if self.quick else 10, "b", BUDGET_LIMIT)
        per_tenant = 4 if self.quick else 8
        with FileServer() as files:
            # Warm-up: each tenant's one-off set-up (metadata, webhook subscription).
            every = tenants + budget_tenants
            warm = self._send(every, {t.slug: 1 for t in every}, {t.slug: 0.0 for t in every}, files.url,
                              scenarios=("ivr_call",))
            worker = b.stack.worker("conc-warm", concurrency=THREADS)
            try:
                self._wait(warm, 300)
            finally:
                b.stack.stop(worker)

            threads_0, per_cpu_threads, s0 = self.backlog("conc-t0", tenants, per_tenant, files, latency_ms=0,
                                                          pool="threads", concurrency=THREADS)
            prefork_0, per_cpu_prefork, sp = self.backlog("conc-p0", tenants, per_tenant, files, latency_ms=0,
                                                          pool="prefork", concurrency=1)
            threads_150, per_cpu_150, s150 = self.backlog("conc-t150", tenants, per_tenant, files, latency_ms=150,
                                                pool="threads", concurrency=THREADS)
            failed = s0.get("failed", 0) + s150.get("failed", 0) + sp.get("failed", 0)
            self.row(f"applied/s at 150 ms per request ÷ at 0 ms ({count} tenants, 1 worker × {THREADS} threads)",
                     f"{threads_150:.1f} /s ÷ {threads_0:.1f} /s", "", f"{threads_150 / threads_0:.2f}", "≥ 0.8",
                     threads_150 / threads_0 >= 0.8 and failed == 0)
            self.row("applied/s of one worker process at 0 ms (threads)", f"{threads_0:.1f} /s",
                     f"{prefork_0:.1f} /s (1 prefork process, same mix)", f"{threads_0 / prefork_0:.2f}×", "≥ 2×",
                     threads_0 / prefork_0 >= 2.0)
            self.row("events per worker CPU second at 0 ms (threads)", f"{per_cpu_threads:.1f}",
                     f"{per_cpu_prefork:.1f} (1 prefork process)", f"{per_cpu_threads / per_cpu_prefork:.2f}×")
            self.notes.append(
                f"Backlog runs: about {per_tenant} events (whole sessions) from each of {count} tenants queued "
                f"({sum(s0.values())}, {sum(sp.values())} and {sum(s150.values())} in all, a new day each run), then "
                "one worker started; applied/s from the first event's processing start "
                "to the last one's finish; worker CPU from /proc (the process and its pool children). The sandbox, "
                "PostgreSQL, Redis, gunicorn (webhook deliveries) and the worker share this machine's 2 cores. "
                f"States: threads 0 ms {dict(s0)}, prefork {dict(sp)}, threads 150 ms {dict(s150)}. "
                f"Worker CPU seconds: threads 0 ms {sum(s0.values()) / per_cpu_threads:.1f}, prefork "
                f"{sum(sp.values()) / per_cpu_prefork:.1f}, threads 150 ms {sum(s150.values()) / per_cpu_150:.1f}. "
                "Per worker core: at 0 ms a threaded worker is about CPU-bound (its CPU seconds near the run's "
                "seconds): threads take away the waiting, not the Python work per event, which is mostly the "
                "event's SQL (docs/concurrency.md; tests/conversations/test_queries_per_event.py holds the "
                "statements per event under a ceiling). The prefork reference moves most with the machine's other "
                "load (it waits on the sandbox and PostgreSQL between its steps).")

            # Steady feeds: one worker for the three runs.
            seconds = 15.0 if self.quick else 40.0
            rate = 0.12  # events/s per tenant: 6 a second across 50 tenants
            noisy = tenants[0]
            quiet = {t.slug for t in tenants[1:]}
            self._faults({"latency_ms": 50})
            worker = b.stack.worker("conc-steady", concurrency=THREADS)
            try:
                self.steady(tenants[1:], quiet, files, seconds=10.0, rate=rate)  # warm: threads, connections
                alone, st_alone = self.steady(tenants[1:], quiet, files, seconds=seconds, rate=rate)
                self._faults({"rate_limit_storm_seconds": seconds + 30}, noisy.org_id)
                storm, st_storm = self.steady(tenants, quiet, files, seconds=seconds, rate=rate)
                self._faults({}, noisy.org_id)
                self._faults({"timeout_next": 100000, "timeout_seconds": 30}, noisy.org_id)
                down, st_down = self.steady(tenants, quiet, files, seconds=seconds, rate=rate)
                self._faults({}, noisy.org_id)
            finally:
                b.stack.stop(worker)
                self._faults({})
            p_alone = percentile(alone, 99)
            for label, lat, st in (("a 429 storm", storm, st_storm), ("Kustomer not answering", down, st_down)):
                p = percentile(lat, 99)
                self.row(f"quiet tenants' acceptance → last write p99, one noisy tenant beside them ({label})",
                         f"{p:.0f} ms", f"{p_alone:.0f} ms (no noisy tenant)", f"{p / p_alone:.2f}", "≤ 1.1",
                         p / p_alone <= 1.1 and st.get("failed", 0) == 0)
            self.notes.append(
                f"Steady runs: {count - 1} quiet tenants each sending {rate:g} events/s for {seconds:.0f} s (about "
                f"{rate * (count - 1):.0f} events/s in all), 50 ms added to every Kustomer request, one worker × "
                f"{THREADS} threads (warmed by a 10 s feed first), each tenant starting at its own moment; p50 quiet alone {percentile(alone, 50):.0f} ms, beside the 429 storm "
                f"{percentile(storm, 50):.0f} ms, beside the silent Kustomer {percentile(down, 50):.0f} ms. The noisy "
                "tenant sends the same mix; its org answers 429 (Retry-After: the storm's rest) to everything, then "
                "never answers (the client gives up after KUSTOMER_TIMEOUT_SECONDS); its events are not counted. "
                f"Quiet states: {dict(st_alone)}, {dict(st_storm)}, {dict(st_down)}.")

            worker = b.stack.worker("conc-budget", concurrency=THREADS)
            try:
                self.budgets(budget_tenants, files, seconds=20.0 if self.quick else 60.0)
            finally:
                b.stack.stop(worker)
        self.write()

    def write(self) -> None:
        lines = [BEGIN, "## Concurrency: real Kustomer latency, many tenants (`make bench`, section `concurrency`)", "",
                 f"- **Run**: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC"
                 + (" (quick run: a tool check only)" if self.quick else ""),
                 f"- **Load average (1, 5, 15 min)**: {stk.load_average()}"
                 + (f"; {self.b.args.note}" if self.b.args.note else ""), "",
                 "| figure | value | reference | ratio | target | verdict |", "|---|---|---|---|---|---|"]
        for r in self.rows:
            verdict = "" if r["ok"] is None else ("pass" if r["ok"] else "**missed**")
            lines.append(f"| {r['figure']} | {r['value']} | {r['reference']} | {r['ratio']} | {r['target']} | "
                         f"{verdict} |")
        lines += [""] + [f"- {n}" for n in self.notes] + ["", END]
        output = Path(self.b.args.output)
        old = output.read_text() if output.exists() else ""
        start, end = old.find(BEGIN), old.find(END)
        block = "\n".join(lines)
        if start != -1 and end != -1:
            new = old[:start] + block + old[end + len(END):]
        else:
            new = old.rstrip("\n") + "\n\n" + block + "\n"
        output.write_text(new)
        self.b.say(f"wrote the concurrency block of {output}")
