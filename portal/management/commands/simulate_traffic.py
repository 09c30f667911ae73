"""`PORTAL_API_KEY=KEY python manage.py simulate_traffic --url http://127.0.0.1:8000
[--api-key-file PATH] [--agents 5 --events 200 --rate 10 --seed 1] [--policies varied]`

The tenant API key comes from the environment (`PORTAL_API_KEY`) or a file
(`--api-key-file`, by default the one `make run` writes, var/demo-api-key), never from
the command line, where every user of the machine could read it (ps), and it is never
printed.

A contact-center day against a running portal, through its public API only: IVR calls
answered and ended with recordings (some transferred), abandoned calls, voicemails read
and called back or closed, mobile and web chats with custom data, transcripts and CSAT,
mobile calls with SmartActions, outbound and click-to-call calls, callbacks, and the
agents' status changes. A progress bar while it sends and while the events are applied,
then a summary (events sent/accepted/done/failed, Kustomer records made) and a verdict.

Recordings and files are served by a local file server this command starts; the
portal fetches them only when its operator allows private addresses
(`SYNC_FETCH_ALLOW_PRIVATE=1`); `--no-files` leaves them out.
Exit status: 0 when every accepted event is done, 1 otherwise.
"""
from __future__ import annotations

import contextlib
import os
import uuid
from datetime import datetime, timezone
from pathlib import Path

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from loadtest.files import FileServer
from loadtest.sender import Progress, Sender, summarize, wait_for_events
from loadtest.policy_day import POLICY_PRESETS, POLICY_SCENARIO_WEIGHTS, policy_preset
from loadtest.traffic import SCENARIO_WEIGHTS, generate_day, schedule


def api_key_read(path: str | None) -> str:
    """The API key from --api-key-file, else PORTAL_API_KEY, else var/demo-api-key."""
    if path is None and os.environ.get("PORTAL_API_KEY", "").strip():
        return os.environ["PORTAL_API_KEY"].strip()
    file = Path(path) if path else Path(settings.VAR_DIR) / "demo-api-key"
    try:
        key = file.read_text().strip()
    except OSError:
        key = ""
    if not key:
        raise CommandError(f"no API key: set PORTAL_API_KEY, or put the key in a file and pass --api-key-file "
                           f"(looked in {file})")
    return key


class Command(BaseCommand):
    help = "Simulate a contact-center day against a running portal through its public API."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="the portal's base URL")
        parser.add_argument("--api-key-file", default=None,
                            help="a file holding a tenant API key with events:write (and config:* to register the "
                                 "agents); default: $PORTAL_API_KEY, else var/demo-api-key (written by make run)")
        parser.add_argument("--agents", type=int, default=5, help="agents agent1..agentN@example.com (default 5)")
        parser.add_argument("--agent-domain", default="example.com")
        parser.add_argument("--events", type=int, default=200, help="contact-center events to send (about)")
        parser.add_argument("--rate", type=float, default=10.0, help="requests per second (0: as fast as possible)")
        parser.add_argument("--seed", type=int, default=1, help="same seed, same day")
        parser.add_argument("--threads", type=int, default=8, help="parallel connections")
        parser.add_argument("--wait", type=float, default=300.0,
                            help="seconds to wait for the events to be applied (0: do not wait)")
        parser.add_argument("--no-files", action="store_true", help="no recordings, voicemails or SmartAction files")
        parser.add_argument("--no-status", action="store_true", help="no agent status changes")
        parser.add_argument("--no-setup", action="store_true", help="do not register the agents first")
        parser.add_argument("--policies", choices=POLICY_PRESETS, default=None,
                            help="first set the tenant's call logging policies (PUT /api/v1/call-logging-policies; "
                                 "needs config:write): default = SPEC §4 as it is; varied = voicemails not logged, "
                                 "IVR calls done and reopened within 7 days, only numbers Kustomer knows, delayed call "
                                 "and chat records, records no agent owns to --default-owner / --default-team; the "
                                 "day then also holds the sessions those policies are about. Left out: the tenant's "
                                 "policies stay as they are")
        parser.add_argument("--default-owner", default=None,
                            help="with --policies varied: the Kustomer user (email) for records no agent owns "
                                 "(default: the first agent)")
        parser.add_argument("--default-team", default=None,
                            help="with --policies varied: a Kustomer team (name or id) for records no agent owns")
        parser.add_argument("--format", choices=("api", "ccaip"), default="api",
                            help="api: the product's own event API; ccaip: Google CCAI Platform's external session "
                                 "events, to the tenant's endpoint (Settings › Developer settings › CCAI Platform "
                                 "session events)")
        parser.add_argument("--ccaip-url", help="the page's Call events API Endpoint URL (…/calls; chats go to …/chats)")
        parser.add_argument("--ccaip-user", help="the page's username")
        parser.add_argument("--ccaip-password", default=os.environ.get("CCAIP_PASSWORD"),
                            help="the password the page showed (default: $CCAIP_PASSWORD, which keeps it off the "
                                 "command line)")
        parser.add_argument("--ccaip-disorder", type=float, default=0.0,
                            help="share of sessions whose updates are sent shuffled (0..1)")
        parser.add_argument("--ccaip-repeat", type=float, default=0.0,
                            help="chance each delivery is sent a second time, a little later (0..1)")

    def handle(self, *args, **opts):
        if opts["agents"] < 1 or opts["events"] < 1:
            raise CommandError("--agents and --events must be at least 1")
        base = opts["url"].rstrip("/")
        api = requests.Session()
        opts["api_key"] = api_key_read(opts["api_key_file"])
        api.headers["Authorization"] = f"Bearer {opts['api_key']}"
        try:
            probe = api.get(f"{base}/api/v1/events/simulate-traffic-probe", timeout=10)
        except requests.RequestException as exc:
            raise CommandError(f"the portal at {base} does not answer: {exc}") from None
        if probe.status_code in (401, 403):
            raise CommandError(f"the API key was refused ({probe.status_code}): {probe.text[:200]}")

        agents = [f"agent{i}@{opts['agent_domain']}" for i in range(1, opts["agents"] + 1)]
        status_ids: list[str] = []
        if not opts["no_status"]:
            status_ids = self._kustomer_status_ids(api, base)
        if not opts["no_setup"]:
            self._register_agents(api, base, agents)

        weights = None
        if opts["policies"]:
            self._policies_set(api, base, opts, agents)
            weights = POLICY_SCENARIO_WEIGHTS if opts["policies"] != "default" else None
        run_id = uuid.uuid4().hex[:6]
        if opts["format"] == "ccaip":
            self._ccaip(opts, base, run_id)
            return
        with (contextlib.nullcontext() if opts["no_files"] else FileServer()) as files:
            plan = generate_day(
                agents=agents, events=opts["events"], seed=opts["seed"], start=datetime.now(timezone.utc),
                run_id=run_id, file_base=None if files is None else files.url, kustomer_status_ids=status_ids,
                with_status=not opts["no_status"], weights=weights,
            )
            out = self.stdout
            out.write(f"Run {run_id}: {plan.event_count} events in {len(plan.sessions)} sessions of "
                      f"{len(plan.customers)} customers, {plan.status_count} agent status changes, "
                      f"{len(agents)} agents, seed {opts['seed']}, {opts['rate']:g} requests/s")
            out.write("Scenarios: " + ", ".join(f"{n} {plan.scenarios.get(n, 0)}" for n in (weights or SCENARIO_WEIGHTS)))
            start = datetime.now(timezone.utc)
            scheduled = schedule(plan, rate=opts["rate"], start=start)
            sender = Sender(base, opts["api_key"], threads=opts["threads"])
            report = sender.run(scheduled, progress=Progress(len(scheduled), "sending", out._out))
            event_ids = report.accepted_event_ids
            states: dict[str, dict] = {}
            if opts["wait"] > 0 and event_ids:
                states = wait_for_events(base, opts["api_key"], event_ids, timeout=opts["wait"],
                                         progress=Progress(len(event_ids), "applying", out._out))
            else:
                states = {e: {"id": e, "state": "accepted"} for e in event_ids}
            hits = files.hits if files is not None else 0
        self._summary(plan, report, states, hits, opts, base)

    # -- CCAI Platform -----------------------------------------------------------------------
    def _ccaip(self, opts, base: str, run_id: str) -> None:
        """A day of calls and chats as CCAI Platform's External Session Events send them."""
        from loadtest.ccaip_format import generate_ccaip_day

        if not (opts["ccaip_url"] and opts["ccaip_user"] and opts["ccaip_password"]):
            raise CommandError("--format ccaip needs --ccaip-url, --ccaip-user and --ccaip-password "
                               "(Settings › Developer settings › CCAI Platform session events)")
        day = generate_ccaip_day(
            agents=opts["agents"], deliveries=opts["events"], seed=opts["seed"], start=datetime.now(timezone.utc),
            run_id=run_id, calls_url=opts["ccaip_url"], auth=(opts["ccaip_user"], opts["ccaip_password"]),
            agent_domain=opts["agent_domain"], rate=opts["rate"], disorder=opts["ccaip_disorder"],
            repeat=opts["ccaip_repeat"],
        )
        out = self.stdout
        out.write(f"Run {run_id}: {len(day.sends)} CCAI Platform deliveries in {day.sessions} sessions "
                  f"({', '.join(f'{n} {k}' for k, n in sorted(day.scenarios.items()))}); {day.disordered} sessions "
                  f"shuffled, {day.repeats} deliveries repeated; {opts['rate']:g} requests/s")
        out.write("The portal's Agents field should read:\n  " + day.agent_map.replace("\n", "\n  "))
        sender = Sender(base, opts["api_key"], threads=opts["threads"])
        report = sender.run([(s.at, s) for s in day.sends], progress=Progress(len(day.sends), "sending", out._out))
        event_ids = report.accepted_event_ids
        if opts["wait"] > 0 and event_ids:
            states = wait_for_events(base, opts["api_key"], event_ids, timeout=opts["wait"],
                                     progress=Progress(len(event_ids), "applying", out._out))
        else:
            states = {e: {"id": e, "state": "accepted"} for e in event_ids}
        duplicates = sum(r.answer.get("duplicates", 0) for r in report.results if isinstance(r.answer, dict))
        out.write(f"  deliveries        : {len(report.results)} sent, {duplicates} answered as duplicates")
        self._summary(None, report, states, 0, opts, base)

    # -- set-up ------------------------------------------------------------------------------
    def _policies_set(self, api: requests.Session, base: str, opts, agents: list[str]) -> None:
        body = policy_preset(opts["policies"], default_owner_email=opts["default_owner"] or agents[0],
                             default_owner_team=opts["default_team"])
        response = api.put(f"{base}/api/v1/call-logging-policies", json=body, timeout=30)
        if response.status_code != 200:
            raise CommandError(f"the call logging policies were refused ({response.status_code}): "
                               f"{response.text[:300]}")
        shown = {k: v for k, v in response.json().items() if k not in ("name_templates", "preview_templates")}
        self.stdout.write(f"Call logging policies ({opts['policies']}): {shown}")

    def _kustomer_status_ids(self, api: requests.Session, base: str) -> list[str]:
        response = api.get(f"{base}/api/v1/kustomer-statuses", timeout=10)
        if response.status_code != 200:
            self.stdout.write(f"(no Kustomer statuses: {response.status_code}; only CC-side status changes)")
            return []
        return [s["id"] for s in response.json().get("results", []) if not s.get("removed")]

    def _register_agents(self, api: requests.Session, base: str, agents: list[str]) -> None:
        made = 0
        for email in agents:
            response = api.post(f"{base}/api/v1/agents", json={"email": email, "name": email.split("@")[0]},
                                timeout=10)
            if response.status_code == 201:
                made += 1
            elif response.status_code not in (409,):
                self.stdout.write(f"(could not register agent {email}: {response.status_code} {response.text[:150]})")
                return
        if made:
            self.stdout.write(f"Registered {made} agents in the portal.")

    # -- the end -----------------------------------------------------------------------------
    def _summary(self, plan, report, states, hits, opts, base) -> None:
        summary = summarize(report, states)
        out = self.stdout
        codes = report.by_status()
        out.write("")
        out.write("Summary")
        out.write(f"  requests sent     : {len(report.results)} in {report.seconds:.1f} s "
                  f"({len(report.results) / max(report.seconds, 0.001):.1f}/s); answers "
                  + ", ".join(f"{code or 'none'}: {n}" for code, n in sorted(codes.items(), key=lambda i: str(i[0]))))
        out.write(f"  events sent       : {summary.sent.get('event', 0) + summary.sent.get('click_to_call', 0)}"
                  f" (+ {summary.sent.get('status', 0)} agent status changes, {summary.sent.get('heartbeat', 0)} "
                  f"heartbeats)")
        status_decisions = {}
        for r in report.results:
            if r.send.kind == "status" and isinstance(r.answer, dict) and r.answer.get("decision"):
                status_decisions[r.answer["decision"]] = status_decisions.get(r.answer["decision"], 0) + 1
        if status_decisions:
            out.write("  status decisions  : " + ", ".join(f"{k} {v}" for k, v in sorted(status_decisions.items())))
        out.write(f"  events accepted   : {summary.accepted}")
        out.write(f"  events done       : {summary.done}")
        out.write(f"  events failed     : {summary.failed}")
        out.write(f"  still in progress : {summary.unfinished}")
        out.write("  Kustomer records  : " + ", ".join(f"{n} {name}s" for name, n in summary.records.items()))
        if hits:
            out.write(f"  files fetched     : {hits}")
        refused = [r for r in report.errors()]
        for r in refused[:5]:
            out.write(f"  refused: {r.send.label} {r.send.body.get('id', '')} -> {r.status} {str(r.answer or r.error)[:200]}")
        for event_id, error in summary.failures[:5]:
            out.write(f"  failed: {event_id}: {error}")
        if any("file fetch refused" in error for _, error in summary.failures):
            out.write("  hint: the portal refuses to fetch files from 127.0.0.1: start it with "
                      "SYNC_FETCH_ALLOW_PRIVATE=1, or run this with --no-files")
        ok = not refused and summary.failed == 0 and summary.unfinished == 0
        verdict = (f"{'OK' if ok else 'NOT OK'}: {summary.done}/{summary.accepted} events done, {summary.failed} failed, "
                   f"{summary.unfinished} unfinished, {len(refused)} requests refused")
        if opts["wait"] <= 0:
            verdict = f"SENT: {summary.accepted} events accepted ({len(refused)} refused); not waiting for them"
            ok = not refused
        out.write(self.style.SUCCESS(verdict) if ok else self.style.ERROR(verdict))
        if not ok:
            raise SystemExit(1)
