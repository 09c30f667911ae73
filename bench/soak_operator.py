"""The operator's cases of the soak (SPEC §7; bench/soak.py calls these with its Soak
as `soak`): numbers several Kustomer customers hold (R-O1) and calls whose end never
comes (R-O2), their set-up, the admin's part and the judge's invariants."""
from __future__ import annotations

import time
from collections import Counter

from bench.faults import log

# R-O1: numbers two Kustomer customers hold each (seeded in the sandbox before the day).
SHARED_PHONES = ("+14155550177", "+14155550178")
CLOSE_OUT_HOURS = 4  # R-O2's default


def seed_shared_numbers(sandbox, org, *, api_key: str) -> dict[str, list[str]]:
    """R-O1: numbers two Kustomer customers hold each (Kustomer lets several customers
    hold one; its API refuses a second, so the phones are set in the sandbox's store)."""
    import requests

    shared: dict[str, list[str]] = {}
    for n, phone in enumerate(SHARED_PHONES):
        for who in ("a", "b"):
            r = requests.post(f"{sandbox.url}/v1/customers", timeout=10,
                              headers={"Authorization": f"Bearer {api_key}"},
                              json={"name": f"Shared {n} {who}", "emails": [{"type": "home",
                                                                             "email": f"shared{n}{who}@example.com"}]})
            r.raise_for_status()
            shared.setdefault(phone, []).append(r.json()["data"]["id"])
    with sandbox.state.lock:
        for phone, ids in shared.items():
            for cid in ids:
                org.customers[cid]["attributes"]["phones"] = [{"type": "mobile", "phone": phone}]
    return shared


def operator_cases(soak, plan, report) -> list[str]:
    """R-O1: every event of a shared number waits (no message written), then the admin
    picks a candidate per number (as on Needs a customer). R-O2: beat's close-out tick
    four hours on closes out the calls whose end never came, once (a second tick
    makes none). Returns the violations seen before the choices."""
    from datetime import timedelta

    from django.utils import timezone

    from conversations.models import Event
    from conversations.services.close_out import sessions_close_out
    from conversations.services.needs_customer import event_customer_choose

    violations: list[str] = []
    accepted = set(report.accepted_event_ids)
    soak.shared_sends = [s for s in plan.sends if s.kind == "event" and s.scenario == "shared_number_call"
                         and s.body["id"] in accepted]
    rows = {e.event_id: e for e in Event.objects.filter(
        tenant_id=soak.tenancy.tenant_id, event_id__in=[s.body["id"] for s in soak.shared_sends])}
    with soak.sandbox.state.lock:
        written = Counter((m["attributes"].get("meta") or {}).get("eventId") for m in soak.org.messages.values())
    for send in soak.shared_sends:
        row = rows.get(send.body["id"])
        if row is None or row.state != "needs_customer":
            violations.append(f"shared-number event {send.body['id']} is {row and row.state}, not waiting")
        if written.get(send.body["id"]):
            violations.append(f"shared-number event {send.body['id']} wrote before a customer was chosen")
    soak.chosen: dict[str, str] = {}
    for phone, holders in soak.shared.items():
        first = Event.objects.filter(tenant_id=soak.tenancy.tenant_id, customer_key=phone,
                                     state="needs_customer").order_by("occurred_at", "pk").first()
        if first is None:
            continue
        if set(holders) != {c["id"] for c in first.customer_candidates}:
            violations.append(f"{phone}: candidates {[c['id'] for c in first.customer_candidates]}, "
                              f"Kustomer's holders {holders}")
        event_customer_choose(tenant=soak.tenant, event_pk=first.pk, kustomer_customer_id=holders[0])
        soak.chosen[phone] = holders[0]
    later = timezone.now() + timedelta(hours=CLOSE_OUT_HOURS, minutes=1)
    soak.closed_out = sessions_close_out(now=later)
    again = sessions_close_out(now=later + timedelta(hours=1))
    if again:
        violations.append(f"a second close-out tick closed out {again} more sessions")
    log(f"operator: {len(soak.shared_sends)} shared-number events chosen for, {soak.closed_out} sessions closed out")
    soak.sent_at = time.monotonic()
    return violations


def judge_operator_cases(soak, plan, report, customers, notes, checked: Counter) -> list[str]:
    """After the choices and the close-out: the shared numbers' events ran once on the
    chosen customer, nobody made a customer for them; each call without an end has
    one close-out event, done, with its one note; no other session was closed out."""
    from conversations.models import Event
    from conversations.services.close_out import close_out_event_id

    violations: list[str] = []
    phones = Counter(p.get("phone") for c in customers for p in (c.get("phones") or []) if isinstance(p, dict))
    for phone, holders in soak.shared.items():
        checked["shared numbers"] += 1
        if phones.get(phone, 0) != len(holders):
            violations.append(f"{phone}: {phones.get(phone, 0)} customers hold it, {len(holders)} were seeded")
    rows = {e.event_id: e for e in Event.objects.filter(tenant_id=soak.tenancy.tenant_id)}
    for send in soak.shared_sends:
        checked["shared-number events on the chosen customer"] += 1
        row = rows[send.body["id"]]
        from bench.soak_judge import customer_key

        key = customer_key(send.body["end_user"])
        if row.state != "done" or row.kustomer_customer_id != soak.chosen.get(key):
            violations.append(f"shared-number event {row.event_id}: {row.state} on {row.kustomer_customer_id or '-'}"
                              f", chosen {soak.chosen.get(key)}")
    accepted = set(report.accepted_event_ids)
    endless = {s.body["session"]["id"] for s in plan.sends if s.scenario == "call_without_end"
               and s.body.get("id") in accepted}
    closed = {e.session_id: e for e in rows.values() if e.type == "session.closed_out"}
    with soak.sandbox.state.lock:
        held_notes = set(soak.org.notes)
    for session in endless:
        checked["sessions without an end closed out"] += 1
        row = closed.get(session)
        if row is None or row.event_id != close_out_event_id(session):
            violations.append(f"session {session} without an end was not closed out")
        elif row.state != "done" or len(note_ids := (row.kustomer_ids or {}).get("note_ids") or []) != 1 \
                or note_ids[0] not in held_notes:
            violations.append(f"close-out of {session}: {row.state}, notes {(row.kustomer_ids or {}).get('note_ids')}")
    violations += [f"session {s} was closed out but had an end" for s in closed if s not in endless]
    return violations
