"""The fault suite's verdict (bench/faults.py): from the sandbox's own records and the
portal's tables, every accepted event and status change applied exactly once — no
duplicate customer, conversation, message or note, nothing missing, every webhook
delivery stored once — and how the status mirror ended."""
from __future__ import annotations

import json
from collections import Counter, defaultdict

MESSAGE_TYPES = ("session.started", "call.abandoned", "voicemail.received", "session.ended", "callback.requested",
                 "call.outbound_started", "custom_data.received", "csat.submitted")


def exactly_once_check(*, tenant_id: int, sandbox, org, plan, report, states: dict[str, str], retried: int,
                       webhooks_replayed: int) -> tuple[list[str], list[str], dict, list[str]]:
    """(lost, duplicated, figures, conversations whose mirrored status is not Kustomer's)."""
    from conversations.models import CustomerLink, EventAction, SessionLink, SyncedConversation, WebhookDelivery
    from statusmapping.models import StatusChange

    lost: list[str] = []
    dup: list[str] = []
    sends = {s.body["id"]: s for s in plan.sends if s.kind in ("event", "status")}
    answered = defaultdict(list)
    for r in report.results:
        if r.send.kind in ("event", "status"):
            answered[r.send.body["id"]].append(r.status)
    accepted = {i for i, codes in answered.items() if any(c in (200, 202) for c in codes)}
    never = [i for i in sends if i not in accepted]
    for i in never:
        lost.append(f"{sends[i].label} {i} never accepted: answers {answered.get(i)}")
    event_ids = {i for i in accepted if sends[i].kind == "event"}
    status_ids = {i for i in accepted if sends[i].kind == "status"}

    # Events: each accepted one stored once and done.
    for event_id in sorted(event_ids):
        state = states.get(event_id)
        if state != "done":
            from conversations.models import Event

            error = Event.objects.filter(tenant_id=tenant_id, event_id=event_id).values_list("error", flat=True)
            lost.append(f"event {event_id} ({sends[event_id].label}) is {state or 'missing'}: "
                        f"{(list(error) or [''])[0][:200]}")
    # Status changes: each accepted one recorded once (the unique key holds it).
    recorded = Counter(StatusChange.objects.filter(tenant_id=tenant_id, event_id__in=status_ids)
                       .values_list("event_id", flat=True))
    for status_id in status_ids:
        if recorded[status_id] == 0:
            lost.append(f"status change {status_id} not recorded")
        elif recorded[status_id] > 1:
            dup.append(f"status change {status_id} recorded {recorded[status_id]} times")

    with sandbox.state.lock:
        customers = {cid: json.loads(json.dumps(c["attributes"], default=str))
                     for cid, c in org.customers.items()}
        conversations = {cid: dict(c["attributes"], customer=c.get("customer"))
                         for cid, c in org.conversations.items()}
        messages = {mid: dict(m["attributes"], conversation=m["conversation"]) for mid, m in org.messages.items()}
        notes = {nid: dict(n["attributes"], conversation=n["conversation"]) for nid, n in org.notes.items()}
        deliveries = {d["eventId"] for d in org.webhook_deliveries}

    # Customers: one per customer key; none the portal does not know of.
    links = list(CustomerLink.objects.filter(tenant_id=tenant_id))
    linked_ids = {link.kustomer_customer_id for link in links if link.kustomer_customer_id}
    keys = {link.customer_key: link for link in links}
    from conversations.models import Event

    for key in set(Event.objects.filter(tenant_id=tenant_id, event_id__in=event_ids)
                   .values_list("customer_key", flat=True)):
        link = keys.get(key)
        if link is None or link.kustomer_customer_id not in customers:
            lost.append(f"customer {key}: no Kustomer customer")
    for cid in customers:
        if cid not in linked_ids:
            dup.append(f"customer {cid} ({customers[cid].get('externalId')}) made but linked to no customer key")
    by_external = Counter(c.get("externalId") for c in customers.values() if c.get("externalId"))
    dup += [f"{n} customers with externalId {x}" for x, n in by_external.items() if n > 1]

    # Conversations: each the portal made exists; no other.
    ours = set(SyncedConversation.objects.filter(tenant_id=tenant_id).exclude(kustomer_conversation_id="")
               .values_list("kustomer_conversation_id", flat=True))
    for cid in ours - set(conversations):
        lost.append(f"conversation {cid} recorded by the portal, missing in Kustomer")
    for cid in set(conversations) - ours:
        dup.append(f"conversation {cid} ({conversations[cid].get('externalId')}) in Kustomer, unknown to the portal")
    sessions_linked = set(SessionLink.objects.filter(tenant_id=tenant_id).values_list("session_id", flat=True))
    for event_id in event_ids:
        session = sends[event_id].body["session"]["id"]
        if session not in sessions_linked:
            lost.append(f"session {session} (event {event_id}) belongs to no conversation")

    # Messages and notes: each action's record exists once; none without an action;
    # the message of each message-making event exists exactly once (by its meta).
    actions = list(EventAction.objects.filter(event__tenant_id=tenant_id, kind__in=["add_message", "add_note"]))
    expected_messages = {a.result.get("message_id") for a in actions if a.kind == "add_message" and a.state == "done"}
    expected_notes = {a.result.get("note_id") for a in actions if a.kind == "add_note" and a.state == "done"}
    for mid in expected_messages - set(messages):
        lost.append(f"message {mid} recorded done, missing in Kustomer")
    for mid in set(messages) - expected_messages:
        dup.append(f"message {mid} (externalId {messages[mid].get('externalId')}) in Kustomer, made by no action")
    for nid in expected_notes - set(notes):
        lost.append(f"note {nid} recorded done, missing in Kustomer")
    for nid in set(notes) - expected_notes:
        dup.append(f"note {nid} (externalId {notes[nid].get('externalId')}) in Kustomer, made by no action")
    per_event = Counter((m.get("meta") or {}).get("eventId") for m in messages.values())
    for event_id in event_ids:
        label = sends[event_id].label
        n = per_event.get(event_id, 0)
        if label in MESSAGE_TYPES and n == 0:
            lost.append(f"no message for {label} {event_id}")
        if n > 1:
            dup.append(f"{n} messages for {label} {event_id}")
    for kind, records in (("message", messages), ("note", notes)):
        counted = Counter(r.get("externalId") for r in records.values())
        dup += [f"{n} {kind}s with externalId {x}" for x, n in counted.items() if x and n > 1]
        lost += [f"{kind} {rid} has no externalId" for rid, r in records.items() if not r.get("externalId")]

    # Webhooks: every delivery the sandbox made stored once by the portal.
    stored = Counter(WebhookDelivery.objects.filter(subscription__tenant_id=tenant_id)
                     .values_list("kustomer_event_id", flat=True))
    for event_id in deliveries:
        if stored[event_id] == 0:
            lost.append(f"webhook delivery {event_id} never stored")
    # The status mirror after every webhook arrived twice and out of order: each
    # conversation's mirrored status is Kustomer's (a figure, printed with details).
    mirror_wrong = []
    for row in SyncedConversation.objects.filter(tenant_id=tenant_id).exclude(kustomer_conversation_id=""):
        actual = (conversations.get(row.kustomer_conversation_id) or {}).get("status")
        if actual and row.status != actual:
            mirror_wrong.append(f"{row.kustomer_conversation_id}: mirror {row.status}, Kustomer {actual}")
    figures = {
        "events accepted": len(event_ids), "status changes accepted": len(status_ids),
        "requests sent (each twice)": len(report.results),
        "5xx answers from the portal (sent again)": retried,
        "Kustomer customers": len(customers), "conversations": len(conversations),
        "messages": len(messages), "notes": len(notes),
        "webhook deliveries (sandbox)": len(deliveries), "webhook deliveries replayed": webhooks_replayed,
        "events with more than one run": Event.objects.filter(tenant_id=tenant_id, attempts__gt=1).count(),
        "conversations whose mirrored status differs from Kustomer's": len(mirror_wrong),
    }
    return lost, dup, figures, mirror_wrong
