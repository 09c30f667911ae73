"""`python bench/profile_status.py [--requests N] [--cprofile]`

Where the status event endpoint spends its time, in-process, on PostgreSQL: the same
tenant set-up as `make bench` (sandbox org, 50 agents, inheritance on), then N requests
through Django's test client (no gunicorn, no sockets). Prints the mean wall time per
request, the queries of one request with their times, and optionally a cProfile of the
whole run. A tool for working on the hot path; the benchmark gives the figures that count.
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import stack as stk  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument("--database", default="portal_prof")
    args = parser.parse_args()

    config = stk.StackConfig(database=args.database, broker_url="redis://127.0.0.1:6379/15",
                             cache_url="redis://127.0.0.1:6379/15", queue=f"prof-{uuid.uuid4().hex[:6]}")
    stack = stk.Stack(config)
    stk.flush_redis(config.broker_url)
    stk.recreate_database(config)
    stk.configure(config)
    import django

    django.setup()
    try:
        stack.sandbox_subprocess()
        from bench.common import sandbox_org_create, tenant_setup

        sandbox_org_create(config.sandbox_url, api_key="prof-key", rate_limit_per_minute=1_000_000, name="Prof")
        t = tenant_setup(slug="prof", sandbox_url=config.sandbox_url, sandbox_api_key="prof-key",
                         rate_limit_per_minute=1_000_000, agents=50)
        run(t, args)
    finally:
        stack.stop_all()


def run(t, args) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Bearer {t.api_key}")
    kustomer_ids = list(t.kustomer_status_ids.values())
    cc_names = ["Available", "Break", "Lunch", "Meeting", "Training", "Available", "In-chat"]
    rng = random.Random(7)
    base = datetime.now(timezone.utc)
    run_id = uuid.uuid4().hex[:6]

    def body(i: int) -> dict:
        agent = t.agents[i % len(t.agents)]
        at = (base + timedelta(milliseconds=i)).isoformat().replace("+00:00", "Z")
        if i % 2:
            return {"id": f"p-{run_id}-{i}", "source": "kustomer", "agent_email": agent,
                    "kustomer_status_id": kustomer_ids[rng.randrange(len(kustomer_ids))], "occurred_at": at}
        return {"id": f"p-{run_id}-{i}", "source": "contact_center", "agent_email": agent,
                "status": cc_names[rng.randrange(len(cc_names))], "kind": "manual", "occurred_at": at}

    def post(i: int):
        response = client.post("/api/v1/agent-status/events", body(i), content_type="application/json")
        assert response.status_code in (200, 201), (response.status_code, response.content)

    for i in range(200):  # warm-up
        post(i)
    for i in (1001, 1002):
        with CaptureQueriesContext(connection) as captured:
            post(i)
        print(f"\nqueries of one {'kustomer' if i % 2 else 'contact-center'} event: {len(captured)}")
        for q in captured.captured_queries:
            print(f"  {float(q['time']) * 1000:6.2f} ms  {q['sql'][:150]}")
    bare = Client()
    bare_body = {"tenant_id": t.tenant_id, "agent_email": t.agents[0]}
    for _ in range(200):
        bare.post("/bench/bare-update", bare_body, content_type="application/json")
    start = time.perf_counter()
    for _ in range(args.requests):
        bare.post("/bench/bare-update", bare_body, content_type="application/json")
    bare_ms = (time.perf_counter() - start) / args.requests * 1000
    print(f"\nbare view (reference): {bare_ms:.2f} ms wall per request")
    profiler = cProfile.Profile() if args.cprofile else None
    start = time.perf_counter()
    cpu = time.process_time()
    if profiler:
        profiler.enable()
    for i in range(10_000, 10_000 + args.requests):
        post(i)
    if profiler:
        profiler.disable()
    wall = (time.perf_counter() - start) / args.requests * 1000
    cpu = (time.process_time() - cpu) / args.requests * 1000
    print(f"{args.requests} requests: {wall:.2f} ms wall, {cpu:.2f} ms CPU (this process) per request; "
          f"{wall / bare_ms:.2f}x the bare view")
    if profiler:
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(70)
        stats.sort_stats("tottime").print_stats(40)


if __name__ == "__main__":
    main()
