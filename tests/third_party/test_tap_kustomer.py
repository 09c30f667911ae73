"""A public Kustomer client reads what the product wrote: singer-io's tap-kustomer 1.1.0
runs all 9 of its streams against the sandbox org the product synced an e2e run into.

The product writes customers, conversations, messages and notes (through the API, a
real Celery worker and the sandbox); users, teams, tags and shortcuts are the org's
own. Each stream's records are exactly the org's records of that kind, and for the
product's kinds exactly what the product recorded having written.
"""
from __future__ import annotations

import json
import os
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

from kustomer_sandbox.catalog import seed_catalog
from kustomer_sandbox.store import add_team
from tests.conversations.e2e_helpers import add_agent, apply, event

pytestmark = pytest.mark.e2e

RUNNER = Path(__file__).with_name("run_tap_kustomer.py")
STREAMS = ("customers", "conversations", "messages", "notes", "kobjects", "users", "teams", "tags", "shortcuts")


def run_tap(python: Path, base_url: str, api_key: str, work: Path, *args: str) -> str:
    config = work / "config.json"
    config.write_text(json.dumps({
        "api_token": api_key, "start_date": "2020-01-01T00:00:00Z", "user_agent": "portal-tests",
        "page_size_limit": "500",
    }))
    done = subprocess.run(
        [str(python), str(RUNNER), "--config", str(config), *args],
        env={**os.environ, "TAP_KUSTOMER_BASE_URL": base_url}, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, f"tap-kustomer failed:\n{done.stderr[-6000:]}"
    return done.stdout


def select_all(catalog: dict) -> dict:
    for stream in catalog["streams"]:
        root = next((m for m in stream["metadata"] if m["breadcrumb"] == []), None)
        if root is None:
            root = {"breadcrumb": [], "metadata": {}}
            stream["metadata"].append(root)
        root["metadata"]["selected"] = True
    return catalog


def records_by_stream(output: str) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = defaultdict(list)
    for line in output.splitlines():
        message = json.loads(line)
        if message.get("type") == "RECORD":
            found[message["stream"]].append(message["record"])
    return found


def product_writes(e2e) -> None:
    """A contact-center morning through the product: answered calls, a second caller,
    a chat, an abandoned call, a wrap-up note and an outbound call."""
    add_agent(e2e, "agent1@example.com", "Agent One")
    apply(e2e, event("call.answered", "tap-1"))
    apply(e2e, event("session.ended", "tap-1", data={"duration_seconds": 95}))
    apply(e2e, event("disposition.submitted", "tap-1", data={"code": "Refund", "note": "refund issued"}))
    apply(e2e, event("call.answered", "tap-2", phone="+14155550199", menu="Sales"))
    apply(e2e, event("session.started", "tap-3", channel="chat", source="web_sdk", phone=None,
                     identifier="app-user-7", agent=None))
    apply(e2e, event("call.abandoned", "tap-4", phone="+14155550177", agent=None))
    apply(e2e, event("call.outbound_started", "tap-5", source="outbound", menu=None))


def test_tap_kustomer_reads_every_stream_the_product_wrote(e2e, tap_kustomer_python, tmp_path):
    product_writes(e2e)
    org = e2e.sandbox.org
    with e2e.sandbox.server.state.lock:
        seed_catalog(org)  # the org's own tags and shortcuts
        add_team(org, name="Support", member_ids=[u for u in org.users])
    held = e2e.sandbox.dump()

    catalog = json.loads(run_tap(tap_kustomer_python, e2e.sandbox.base_url, e2e.sandbox.api_key, tmp_path, "--discover"))
    assert sorted(s["stream"] for s in catalog["streams"]) == sorted(STREAMS)
    (tmp_path / "catalog.json").write_text(json.dumps(select_all(catalog)))
    records = records_by_stream(run_tap(
        tap_kustomer_python, e2e.sandbox.base_url, e2e.sandbox.api_key, tmp_path, "--catalog", str(tmp_path / "catalog.json"),
    ))

    from conversations.models import CustomerLink, EventAction, SyncedConversation

    written = {
        "customers": set(CustomerLink.objects.exclude(kustomer_customer_id="").values_list("kustomer_customer_id", flat=True)),
        "conversations": set(SyncedConversation.objects.exclude(kustomer_conversation_id="")
                             .values_list("kustomer_conversation_id", flat=True)),
        "messages": {a.result["message_id"] for a in EventAction.objects.filter(kind="add_message", state="done")},
        "notes": {a.result["note_id"] for a in EventAction.objects.filter(kind="add_note", state="done")},
        "kobjects": set(),
    }
    org_holds = {
        "customers": held["customers"], "conversations": held["conversations"], "messages": held["messages"],
        "notes": held["notes"], "kobjects": [], "users": held["users"], "teams": held["teams"],
        "tags": [{"id": t} for t in org.tags], "shortcuts": [{"id": s} for s in org.shortcuts],
    }
    counts = {stream: len(records.get(stream, [])) for stream in STREAMS}
    print("tap-kustomer records per stream:", counts)
    for stream in STREAMS:
        read_ids = [r["id"] for r in records.get(stream, [])]
        assert len(read_ids) == len(set(read_ids)), f"{stream}: a record read twice"
        assert set(read_ids) == {r["id"] for r in org_holds[stream]}, stream
        if stream in written:
            assert set(read_ids) == written[stream], f"{stream}: not what the product wrote"
    assert all(counts[s] > 0 for s in STREAMS if s != "kobjects"), counts
    assert counts["conversations"] >= 4 and counts["messages"] >= 5 and counts["notes"] >= 3, counts
