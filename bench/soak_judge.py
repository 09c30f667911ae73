"""The soak's judge (bench/soak.py): after a whole day of traffic, what the sandbox org
and the portal hold against what the day's events say — every event settled once, the
customers, conversations, messages, notes and files, custom field values, the status
mirror, both statuses of every agent agreeing (R-S13), the queue drained."""
from __future__ import annotations

from collections import Counter, defaultdict

from bench import soak_operator, soak_policies
from bench.fault_check import MESSAGE_TYPES  # event types whose event writes one message


def judge_day(soak, plan, report) -> tuple[list[str], dict]:
    from conversations.models import Event, WebhookDelivery
    from customfields.models import CustomField
    from integrations.kustomer.external_ids import external_id
    from loadtest.files import file_content
    from statusmapping import selectors as status_selectors

    violations: list[str] = []
    checked = Counter()
    accepted = set(report.accepted_event_ids)
    events = [s for s in plan.sends if s.kind == "event" and s.body.get("id") in accepted]
    rows = {e.event_id: e for e in Event.objects.filter(tenant_id=soak.tenancy.tenant_id)}

    # 1. Every accepted event finished: done, or failed with its reason (Retry).
    for event_id in sorted(i for i in accepted if not i.startswith("st-")):
        checked["events finished"] += 1
        row = rows.get(event_id)
        if row is None:
            violations.append(f"event {event_id} accepted but unknown to the portal")
        elif row.state not in ("done", "failed"):
            violations.append(f"event {event_id} still {row.state}: {row.error[:120]}")
        elif row.state == "failed" and not row.error:
            violations.append(f"event {event_id} failed without a reason")
    failed = {i for i, r in rows.items() if r.state == "failed"}

    # 2. The queue is empty.
    checked["queue empty"] += 1
    end_depth = soak.queue_depth()
    if end_depth:
        violations.append(f"{end_depth} tasks still queued at the end")

    with soak.sandbox.state.lock:
        customers = [dict(c["attributes"]) for c in soak.org.customers.values()]
        conversations = {cid: dict(c["attributes"]) for cid, c in soak.org.conversations.items()}
        messages = [dict(m["attributes"], conversation=m["conversation"], attachments=list(m.get("attachments") or []))
                    for m in soak.org.messages.values()]
        notes = [dict(n["attributes"], conversation=n["conversation"], attachments=list(n.get("attachments") or []))
                 for n in soak.org.notes.values()]
        contents = Counter(bytes(a["content"] or b"") for a in soak.org.attachments.values())
        sessions_of = {}
        for user in soak.org.users.values():
            sessions_of[user["attributes"].get("email")] = user["id"]
        active_status = {ws["user"]: ws["status"] for ws in soak.org.work_sessions.values()
                         if ws["attributes"].get("active")}

    # 3. Customers: one per customer key, none twice.
    keys = {}
    for send in events:
        key = customer_key(send.body.get("end_user") or {})
        if key:
            keys.setdefault(key, send.body["id"])
    by_external = Counter(c.get("externalId") for c in customers if c.get("externalId"))
    phones = Counter(p.get("phone") for c in customers for p in (c.get("phones") or []) if isinstance(p, dict))
    for key, first_event in keys.items():
        if key in soak.shared:
            continue  # Kustomer's holders, checked in judge_operator_cases
        checked["customers"] += 1
        if keys and first_event in failed:
            continue
        ours = by_external.get(external_id("soak", "customer", key), 0)
        by_phone = phones.get(key, 0) if not key.startswith("app:") else 0
        if ours > 1 or (ours == 0 and by_phone != 1):
            violations.append(f"customer {key}: {ours} with our externalId, {by_phone} with its phone")
    violations += [f"{n} customers with externalId {x}" for x, n in by_external.items() if n > 1]

    # 4. Messages: one per message-making event; a session's messages in one conversation.
    per_event = Counter((m.get("meta") or {}).get("eventId") for m in messages)
    for send in events:
        if send.label not in MESSAGE_TYPES or send.body["id"] in failed:
            continue
        checked["messages"] += 1
        n = per_event.get(send.body["id"], 0)
        if n != 1:
            violations.append(f"{n} messages for {send.label} {send.body['id']}")
    by_session = defaultdict(set)
    for m in messages:
        if (m.get("meta") or {}).get("sessionId"):
            by_session[m["meta"]["sessionId"]].add(m["conversation"])
    for session, convs in by_session.items():
        checked["sessions in one conversation"] += 1
        if len(convs) > 1:
            violations.append(f"session {session} split over {len(convs)} conversations")
    for kind, records in (("message", messages), ("note", notes), ("conversation", list(conversations.values()))):
        counted = Counter(r.get("externalId") for r in records if r.get("externalId"))
        checked[f"{kind}s never twice"] += len(records)
        violations += [f"{n} {kind}s with externalId {x}" for x, n in counted.items() if n > 1]
        if kind != "conversation":
            violations += [f"{kind} without externalId: {str(r.get('body') or r.get('preview'))[:60]}"
                           for r in records if not r.get("externalId")]

    # 5. Attachments: every file an event points at, exactly once.
    base = soak.files.url
    for send in events:
        if send.body["id"] in failed:
            continue
        for url in urls_in(send.body, base):
            checked["attachments"] += 1
            n = contents.get(file_content(url[len(base):].split("?", 1)[0]), 0)
            if n != 1:
                violations.append(f"file {url} of {send.body['id']} is in Kustomer {n} times")

    # 6. Agents: two statuses agree, or the portal says why not (R-S13).
    from statusmapping.models import Agent

    config = status_selectors.status_config_read(tenant=soak.tenant)
    disagreements = []
    for agent in Agent.objects.filter(tenant=soak.tenant):
        checked["agents"] += 1
        agreement = status_selectors.agent_status_agreement(agent=agent, config=config)
        held = active_status.get(sessions_of.get(agent.email))
        if not agreement.agree and not agreement.reason:
            violations.append(f"agent {agent.email}: statuses differ, no reason shown")
        elif not agreement.agree:
            disagreements.append(f"{agent.email}: {agreement.reason}")
        elif held and agent.kustomer_status_id and held != agent.kustomer_status_id:
            violations.append(f"agent {agent.email}: the portal shows agreement on {agent.kustomer_status_id}, "
                              f"Kustomer holds {held}")

    # 7. The operator's cases (SPEC §7: shared numbers, sessions without an end).
    violations += soak_operator.judge_operator_cases(soak, plan, report, customers, notes, checked)

    # 8. Nothing retrying forever.
    stuck = WebhookDelivery.objects.filter(subscription__tenant=soak.tenant, state="received").count()
    pending_fields = CustomField.objects.filter(tenant=soak.tenant, state="pending", deleted_at__isnull=True).count()
    checked["webhook deliveries settled"] += WebhookDelivery.objects.filter(subscription__tenant=soak.tenant).count()
    if stuck:
        violations.append(f"{stuck} webhook deliveries still waiting")
    if pending_fields:
        violations.append(f"{pending_fields} custom-field pushes still pending")
    failed_deliveries = list(WebhookDelivery.objects.filter(subscription__tenant=soak.tenant, state="failed")
                             .values_list("kustomer_event_id", "error"))
    violations += [f"webhook delivery {i} failed without its error" for i, e in failed_deliveries if not e]

    if soak.policy is not None:  # the tenant with call logging policies: its own judge
        more, counted, policy_figures = soak_policies.judge(soak.policy, customer_key, file_content, base)
        violations += more
        checked.update(counted)
    figures = {
        "events accepted": len([i for i in accepted if not i.startswith("st-")]),
        "status changes accepted": sum(1 for r in report.results if r.send.kind == "status" and r.status == 200),
        "events failed (with reason)": len(failed),
        "failed reasons": Counter(rows[i].error.split(":")[0][:60] for i in failed).most_common(3),
        "Kustomer records": f"{len(customers)} customers, {len(conversations)} conversations, {len(messages)} "
                            f"messages, {len(notes)} notes, {sum(contents.values())} attachments",
        "agents whose statuses differ (reason shown)": len(disagreements),
        "two-way ready": type(soak.tenant).objects.get(pk=soak.tenant.pk).status_inheritance.two_way_ready,
        "invariants checked": sum(checked.values()),
        "checked": dict(checked),
        "queue depth peak / end": f"{max(soak.depths or [0])} / {end_depth}",
        "webhook deliveries failed (shown with Retry)": len(failed_deliveries),
    }
    if soak.policy is not None:
        figures.update(policy_figures)
    soak.disagreements = disagreements
    return violations, figures


def customer_key(user: dict) -> str | None:
    """The customer an event names, as SPEC §4 keys it: the app user's identifier, else
    the E.164 phone (numbers the telephony side sends in local format are read in the
    tenant's region, US)."""
    import phonenumbers

    if user.get("identifier"):
        return f"app:{user['identifier']}"
    if user.get("phone"):
        try:
            parsed = phonenumbers.parse(str(user["phone"]), "US")
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        except phonenumbers.NumberParseException:
            return None
    return None


def urls_in(value, base: str):
    if isinstance(value, str):
        if value.startswith(base):
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from urls_in(item, base)
    elif isinstance(value, list):
        for item in value:
            yield from urls_in(item, base)
