"""The soak's second tenant: one whose call logging policies are not the defaults
(SPEC §6, loadtest/policy_day.py's "varied" preset), in its own sandbox org, with its own
day, and its own judge: what the org holds against what the events and the policies
say it should (bench/policy_oracle.py), so a policy the product breaks is a violation.

Before its day, the customers of some of the day's numbers are made in its org by hand
(Kustomer knew them): with creation of unknown customers off (R-P2) only their sessions
are logged."""
from __future__ import annotations

import hashlib
import threading
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from bench.fault_check import MESSAGE_TYPES
from bench.faults import log

SLUG, API_KEY = "soakp", "soak-policies-key"
DESK_EMAIL, TEAM_NAME = "desk@example.com", "Front desk"


@dataclass
class PolicyTenant:
    tenancy: Any
    org: Any
    preset: dict
    desk_id: str = ""
    team_id: str = ""
    known: dict[str, str] = field(default_factory=dict)  # customer key -> its phone, made before the day
    plan: Any = None
    report: Any = None
    lock: Any = None  # the sandbox's state lock


def setup(soak) -> PolicyTenant:
    """Its org (demo users, the agents, a desk user and a team), the tenant, no status sync."""
    from bench.common import tenant_setup
    from kustomer_sandbox.store import add_team, add_user
    from loadtest.policy_day import policy_preset

    org = soak.sandbox.seed_demo_org(name="Soak policies", api_key=API_KEY, rate_limit_per_minute=6000)
    agents = [f"agent{i}@example.com" for i in range(1, soak.args.agents + 1)]
    with soak.sandbox.state.lock:
        known = {u["attributes"].get("email") for u in org.users.values()}
        for email in agents:
            if email not in known:
                add_user(org, name=email.split("@")[0], email=email)
        desk = add_user(org, name="Front desk", email=DESK_EMAIL)
        team = add_team(org, name=TEAM_NAME, member_ids=[desk["id"]])
    tenancy = tenant_setup(slug=SLUG, sandbox_url=soak.sandbox.url, sandbox_api_key=API_KEY,
                           rate_limit_per_minute=6000, agents=soak.args.agents, kustomer_agents=soak.args.agents,
                           inheritance=False)
    preset = policy_preset("varied", default_owner_email=DESK_EMAIL, default_owner_team=TEAM_NAME)
    return PolicyTenant(tenancy=tenancy, org=org, preset=preset, desk_id=desk["id"], team_id=team["id"],
                        lock=soak.sandbox.state.lock)


def policies_put(soak, pt: PolicyTenant) -> None:
    """The preset through the public API, as an admin's client would (the team by name)."""
    import requests

    r = requests.put(f"{soak.config.web_url}/api/v1/call-logging-policies", json=pt.preset, timeout=30,
                     headers={"Authorization": f"Bearer {pt.tenancy.api_key}"})
    if r.status_code != 200 or r.json().get("default_owner_team_id") != pt.team_id:
        raise RuntimeError(f"policies not saved: {r.status_code} {r.text[:300]}")
    log(f"policies of {SLUG}: {pt.preset}")


def traffic(soak, pt: PolicyTenant, key_of) -> threading.Thread:
    """Its day (the policy mix, no status changes), the known customers made in its org,
    then a thread that sends it (joined by the caller)."""
    import phonenumbers
    import requests

    from loadtest.policy_day import POLICY_SCENARIO_WEIGHTS
    from loadtest.sender import Sender
    from loadtest.traffic import generate_day, schedule

    pt.plan = generate_day(agents=pt.tenancy.agents, events=soak.args.events, seed=soak.args.seed + 1,
                           start=datetime.now(timezone.utc), run_id=uuid.uuid4().hex[:6], file_base=soak.files.url,
                           with_status=False, with_heartbeats=False, weights=POLICY_SCENARIO_WEIGHTS)
    for send in pt.plan.sends:
        user = send.body.get("end_user") or ({"phone": send.body.get("phone")} if send.kind == "click_to_call" else {})
        key = key_of(user)
        phone = user.get("phone")
        if not key or not phone or key in pt.known:
            continue
        if int(hashlib.sha256(key.encode()).hexdigest(), 16) % 4:  # about 3 in 4 Kustomer knew
            pt.known[key] = phonenumbers.format_number(phonenumbers.parse(phone, "US"),
                                                       phonenumbers.PhoneNumberFormat.E164)
    for key, phone in pt.known.items():
        r = requests.post(f"{soak.sandbox.url}/v1/customers", json={"name": f"Known {key}", "phones": [
            {"type": "mobile", "phone": phone}]}, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=30)
        if r.status_code not in (200, 201):
            raise RuntimeError(f"known customer not made: {r.status_code} {r.text[:200]}")
    scheduled = schedule(pt.plan, rate=soak.args.rate / 2, start=datetime.now(timezone.utc))
    log(f"{SLUG} day: {pt.plan.event_count} events, {len(pt.plan.sessions)} sessions, {len(pt.plan.customers)} "
        f"customers ({len(pt.known)} known to Kustomer); scenarios {dict(sorted(pt.plan.scenarios.items()))}")
    sender = Sender(soak.config.web_url, pt.tenancy.api_key, threads=4, retries=8, retry_wait=1.0, timeout=20)

    def run():
        pt.report = sender.run(scheduled)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def judge(pt: PolicyTenant, key_of, file_content, files_base: str) -> tuple[list[str], Counter, dict]:
    """The policy tenant's invariants; (violations, checked, figures)."""
    from conversations.models import Event
    from integrations.kustomer.external_ids import external_id

    from bench.policy_oracle import expect

    violations: list[str] = []
    checked: Counter = Counter()
    accepted = set(pt.report.accepted_event_ids)
    sends = [s for s in pt.plan.sends if s.kind == "event" and s.body.get("id") in accepted]
    rows = {e.event_id: e for e in Event.objects.filter(tenant_id=pt.tenancy.tenant_id)}
    for event_id in sorted(accepted):
        checked["policies: events finished"] += 1
        row = rows.get(event_id)
        if row is None or row.state not in ("done", "failed") or (row.state == "failed" and not row.error):
            violations.append(f"{SLUG} event {event_id}: {row.state if row else 'unknown'} {row.error[:100] if row else ''}")
    failed = {i for i, r in rows.items() if r.state == "failed"}
    exp = expect(_bodies(pt, accepted), pt.preset, known=lambda k: k in pt.known, key_of=key_of,
                 message_types=MESSAGE_TYPES)
    org = pt.org
    with pt.lock:
        customers = [dict(c["attributes"]) for c in org.customers.values()]
        conversations = {cid: dict(c["attributes"]) for cid, c in org.conversations.items()}
        messages = [dict(m["attributes"], conversation=m["conversation"]) for m in org.messages.values()]
        notes = [dict(n["attributes"], conversation=n["conversation"]) for n in org.notes.values()]
        contents = Counter(bytes(a["content"] or b"") for a in org.attachments.values())

    # R-P2: with creation off no customer is ours; a known number is its one customer.
    create = pt.preset.get("create_unknown_customers", True)
    by_external = Counter(c.get("externalId") for c in customers if c.get("externalId"))
    phones = Counter(p.get("phone") for c in customers for p in (c.get("phones") or []) if isinstance(p, dict))
    for key in {key_of(s.body.get("end_user") or {}) for s in sends} - {None}:
        checked["policies: customers (R-P2)"] += 1
        ours = by_external.get(external_id(SLUG, "customer", key), 0)
        if not create and ours:
            violations.append(f"{SLUG} customer {key} created although creating customers is off (R-P2)")
        if key in pt.known and phones.get(pt.known[key], 0) != 1:
            violations.append(f"{SLUG} known customer {key}: {phones.get(pt.known[key], 0)} with its phone")
    if not create and len(customers) != len(pt.known):
        violations.append(f"{SLUG}: {len(customers)} customers in Kustomer, {len(pt.known)} were known (R-P2)")

    # Messages per event: what the policies say (R-P1 skipped kinds, R-P2, R-P5 delays).
    per_event = Counter((m.get("meta") or {}).get("eventId") for m in messages)
    for event_id, n in exp.messages.items():
        if event_id in failed:
            continue
        checked["policies: messages per event"] += 1
        if per_event.get(event_id, 0) != n:
            violations.append(f"{SLUG} event {event_id} ({rows[event_id].type if event_id in rows else '?'}): "
                              f"{per_event.get(event_id, 0)} messages, the policies say {n}")
    by_session: dict[str, set] = defaultdict(set)
    for m in messages:
        if (m.get("meta") or {}).get("sessionId"):
            by_session[m["meta"]["sessionId"]].add(m["conversation"])
    sessions_of: dict[str, set] = defaultdict(set)
    for session, convs in by_session.items():
        checked["policies: sessions in one conversation"] += 1
        if len(convs) > 1:
            violations.append(f"{SLUG} session {session} split over {len(convs)} conversations")
        for conv in convs:
            sessions_of[conv].add(session)
    for kind, records in (("message", messages), ("note", notes), ("conversation", list(conversations.values()))):
        counted = Counter(r.get("externalId") for r in records if r.get("externalId"))
        checked[f"policies: {kind}s never twice"] += len(records)
        violations += [f"{SLUG}: {n} {kind}s with externalId {x}" for x, n in counted.items() if n > 1]

    # Files: attached once when their event writes, never when the policies say it does not.
    for url, n in exp.files.items():
        checked["policies: attachments"] += 1
        held = contents.get(file_content(url[len(files_base):].split("?", 1)[0]), 0)
        if held != n and not (n == 1 and any(url in str(s.body) for s in sends if s.body["id"] in failed)):
            violations.append(f"{SLUG} file {url} is in Kustomer {held} times, the policies say {n}")

    sessions = exp.sessions
    for session_id, s in sessions.items():
        if not s.logged:  # R-P1 / R-P2: nothing at all
            checked["policies: sessions not logged"] += 1
            if session_id in by_session:
                violations.append(f"{SLUG} session {session_id} ({s.kind}) is in Kustomer; the policies say not")
    for conv_id, attrs in conversations.items():
        ours = sessions_of.get(conv_id, set())
        if not ours or any(x not in sessions for x in ours):
            continue
        if all(sessions[x].unowned for x in ours):  # R-P6: the default user and team
            checked["policies: default owner (R-P6)"] += 1
            if (attrs.get("assignedUsers") or []) != [pt.desk_id] or (attrs.get("assignedTeams") or []) != [pt.team_id]:
                violations.append(f"{SLUG} conversation {conv_id} of {sorted(ours)} no agent owns: users "
                                  f"{attrs.get('assignedUsers')}, teams {attrs.get('assignedTeams')} (R-P6)")
        if pt.preset["logging"].get("ivr_answered") == "done" and all(sessions[x].kind == "ivr_answered" for x in ours):
            checked["policies: done kind left done (R-P1)"] += 1
            if attrs.get("status") != "done":
                violations.append(f"{SLUG} conversation {conv_id} of IVR calls is {attrs.get('status')} (R-P1 done)")
        abandoned = [x for x in ours if sessions[x].abandoned]
        for x in abandoned:
            checked["policies: delayed record abandoned (R-P5)"] += 1
            previews = [m.get("preview") or "" for m in messages if (m.get("meta") or {}).get("sessionId") == x]
            if len(previews) != 1 or not previews[0].startswith("Abandoned"):
                violations.append(f"{SLUG} session {x} ended before its record: {previews} (R-P5)")
    if int(pt.preset.get("reopen_days") or 0) > 0:  # R-P4: an inbound session joins or reopens, never a second
        founded: dict[tuple, list] = defaultdict(list)
        for conv_id, attrs in conversations.items():
            founder = sessions.get(str((attrs.get("custom") or {}).get("ccCallIdStr")))
            if founder is not None and founder.inbound and not founder.abandoned:
                founded[(founder.key, founder.channel, founder.menu)].append(conv_id)
        for group, convs in founded.items():
            checked["policies: reopen window (R-P4)"] += 1
            if len(convs) > 1:
                violations.append(f"{SLUG} {group}: {len(convs)} conversations inside the reopen window (R-P4)")
    from conversations.models import EventAction

    # What the product's plans said (shown, not judged: the judge reads Kustomer).
    plan_rules = Counter(EventAction.objects.filter(event__tenant_id=pt.tenancy.tenant_id,
                                                    rule__in=["R-P1", "R-P2", "R-P4", "R-P5", "R-P6"])
                         .values_list("rule", flat=True))
    figures = {
        f"{SLUG} plan steps by policy rule": dict(sorted(plan_rules.items())),
        f"{SLUG} events accepted": len(accepted),
        f"{SLUG} sessions": dict(Counter(
            "not logged: " + s.why_not if not s.logged else "abandoned before its record (R-P5)" if s.abandoned
            else "record delayed, then made (R-P5)" if s.delayed else "unowned (R-P6)" if s.unowned
            else "logged" for s in sessions.values())),
        f"{SLUG} Kustomer records": f"{len(customers)} customers ({len(pt.known)} known before), "
                                    f"{len(conversations)} conversations, {len(messages)} messages, {len(notes)} notes",
    }
    return violations, checked, figures


def _bodies(pt: PolicyTenant, accepted: set[str]) -> list[dict]:
    """The events the tenant got, in order: those sent, and the outbound call each
    click-to-call started (the portal's own event, placed with its agent)."""
    started = {id(r.send): r.answer for r in pt.report.results
               if r.send.kind == "click_to_call" and isinstance(r.answer, dict) and r.answer.get("event_id")}
    bodies = []
    for send in pt.plan.sends:
        if send.kind == "click_to_call" and id(send) in started:
            answer = started[id(send)]
            bodies.append({"id": answer["event_id"], "type": "call.outbound_started",
                           "session": {"id": answer["session_id"], "channel": "voice", "source": "outbound"},
                           "end_user": {"phone": send.body["phone"]}, "agent": {"email": send.body["agent_email"]},
                           "data": {}})
        elif send.kind == "event" and send.body.get("id") in accepted:
            bodies.append(send.body)
    return bodies


def waiting(pt: PolicyTenant) -> int:
    from conversations.models import Event

    return Event.objects.filter(tenant_id=pt.tenancy.tenant_id, state__in=["accepted", "processing"]).count()
