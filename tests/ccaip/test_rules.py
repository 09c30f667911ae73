"""The pure translation of CCAI Platform's state progression into product events."""
import itertools
import random
from datetime import datetime, timezone

import pytest

from ccaip import rules
from loadtest import ccaip_format as fmt


T0 = datetime(2026, 12, 1, 22, 0, tzinfo=timezone.utc)
ANN, BO = fmt.Agent("15", "Ann Agent"), fmt.Agent("22", "Bo Agent")
QUEUE = ["Billing", "Refunds"]


def deliveries(events):
    return [rules.Delivery(e["event_id"], e["timestamp"], rules.session_fields(e)) for e in events]


def translated(events, *, channel="call", settled=False):
    state = rules.fold_session(channel=channel, call_id="c1", deliveries=deliveries(events))
    return state, rules.translate(state, settled=settled)


def keys(translation):
    return [(e.key, e.type) for e in translation.events]


def test_full_call_becomes_answered_ended_and_a_disposition_note():
    events = fmt.answered_session(call_id="c1", dn="+14155550123", start=T0, agent=ANN, queue_path_names=QUEUE)
    state, t = translated(events)
    assert keys(t) == [("answered", "call.answered"), ("ended", "session.ended"),
                       ("disposition", "disposition.submitted")]
    assert t.events[0].agent_id == "15"
    assert t.events[1].data == {"duration_seconds": 119}  # ends_at - connected_at
    assert dict(t.events[2].data) == {"code": "Resolved", "custom_code_id": "7", "note": "Refund issued"}
    assert state.queue_path_names == ("Billing", "Refunds")


def test_each_prefix_of_the_progression_implies_only_what_happened():
    events = fmt.answered_session(call_id="c1", dn="+14155550123", start=T0, agent=ANN, queue_path_names=QUEUE)
    expected = [[], [], [], ["answered"], ["answered", "ended"], ["answered", "ended", "disposition"]]
    for n, want in enumerate(expected, start=1):
        assert [e.key for e in translated(events[:n])[1].events] == want, n


def test_abandoned_call_with_no_agent_is_decided_at_once():
    events = fmt.abandoned_session(call_id="c1", dn="+14155550123", start=T0, queue_path_names=QUEUE)
    _, t = translated(events)
    assert keys(t) == [("abandoned", "call.abandoned")] and t.events[0].data == {"wait_seconds": 42}


def test_ended_with_an_agent_never_seen_connected_waits_then_abandons_when_settled():
    events = fmt.answered_session(call_id="c1", dn="+14155550123", start=T0, agent=ANN, queue_path_names=QUEUE)
    ended_only = [events[4]]  # the "active" update is late
    _, t = translated(ended_only)
    assert t.events == () and t.waiting is rules.Waiting.AGENT_EVIDENCE
    _, settled = translated(ended_only, settled=True)
    assert keys(settled) == [("abandoned", "call.abandoned")]
    _, late = translated([events[4], events[3]])  # the late "active" arrives: an answered call
    assert [e.key for e in late.events] == ["answered", "ended"] and late.waiting is rules.Waiting.NOTHING


def test_transfer_is_a_change_of_agent():
    events = fmt.transferred_session(call_id="c1", dn="+14155550123", start=T0, first=ANN, second=BO,
                                     queue_path_names=QUEUE)
    _, t = translated(events)
    assert [(e.key, e.agent_id) for e in t.events] == [
        ("answered", "15"), ("transfer-22-1", "22"), ("ended", "22"), ("disposition", "22")]


def test_chat_starts_once_routed():
    events = fmt.answered_session(call_id="c1", dn="+14155550123", start=T0, agent=ANN, queue_path_names=QUEUE)
    _, t = translated(events[:1], channel="chat")
    assert keys(t) == []  # not routed yet: its menu selection is not known
    _, t = translated(events[:2], channel="chat")
    assert keys(t) == [("started", "session.started")]


@pytest.mark.parametrize("builder", ["answered", "transferred", "abandoned"])
def test_any_order_and_any_repeats_give_the_same_translation(builder):
    make = {"answered": lambda: fmt.answered_session(call_id="c1", dn="+1415", start=T0, agent=ANN,
                                                     queue_path_names=QUEUE),
            "transferred": lambda: fmt.transferred_session(call_id="c1", dn="+1415", start=T0, first=ANN,
                                                           second=BO, queue_path_names=QUEUE),
            "abandoned": lambda: fmt.abandoned_session(call_id="c1", dn="+1415", start=T0,
                                                       queue_path_names=QUEUE)}[builder]
    events = make()
    _, clean = translated(events)
    rng = random.Random(7)
    for _ in range(30):
        shuffled = events + rng.sample(events, k=2)
        rng.shuffle(shuffled)
        assert keys(translated(shuffled)[1]) == keys(clean)


def test_deliveries_one_at_a_time_in_any_order_record_the_clean_keys():
    """What the service does: after each arrival, record the keys not recorded yet."""
    events = fmt.transferred_session(call_id="c1", dn="+1415", start=T0, first=ANN, second=BO,
                                     queue_path_names=QUEUE)
    _, clean = translated(events, settled=True)
    for order in itertools.islice(itertools.permutations(range(len(events))), 0, 40320, 97):
        recorded: dict[str, int] = {}
        seen = []
        times = []
        for i in order:
            seen.append(events[i])
            fresh = rules.not_yet_recorded(translated(seen)[1].events, recorded)
            for e in fresh:
                recorded[e.key] = e.occurred_ms
                times.append(e.occurred_ms)
        assert sorted(recorded) == sorted(e.key for e in clean.events), order
        assert times == sorted(times)  # never recorded "before" an earlier-recorded one


def test_a_session_recorded_as_abandoned_takes_only_a_late_disposition():
    events = fmt.answered_session(call_id="c1", dn="+1415", start=T0, agent=ANN, queue_path_names=QUEUE)
    fresh = rules.not_yet_recorded(translated(events)[1].events, {"abandoned": 1})
    assert [e.key for e in fresh] == ["disposition"]


def test_product_body_uses_the_contract_and_the_agent_map():
    events = fmt.answered_session(call_id="c1", dn="(415) 555-0123", start=T0, agent=ANN, queue_path_names=QUEUE)
    state, t = translated(events)
    phone = rules.e164(state.dn, "US")
    body, note = rules.product_event_body(t.events[0], state, phone=phone, agent_emails={"15": "ann@example.com"})
    assert body["id"] == "ccaip-call-c1-answered" and body["session"]["id"] == "ccaip-call-c1"
    assert body["end_user"]["phone"] == "+14155550123" and body["agent"] == {"email": "ann@example.com"}
    assert body["session"]["menu"] == "Billing > Refunds" and body["session"]["queue"] == "Refunds"
    assert note is None
    body, note = rules.product_event_body(t.events[0], state, phone=phone, agent_emails={})
    assert body["agent"] is None and "15" in note
    with pytest.raises(rules.Untranslatable):
        rules.product_event_body(t.events[0], state, phone=None, agent_emails={})


def test_flat_event_objects_are_read_too():
    events = fmt.answered_session(call_id="c1", dn="+1415", start=T0, agent=ANN, queue_path_names=QUEUE)
    flat = [{**e["item"], "event_id": e["event_id"], "timestamp": e["timestamp"]} for e in events]
    assert keys(translated(flat)[1]) == keys(translated(events)[1])


def test_agent_map_lines():
    assert rules.parse_agent_emails("15 = Ann@Example.com\n# c\n\n22=bo@example.com") == {
        "15": "ann@example.com", "22": "bo@example.com"}
    with pytest.raises(ValueError, match="line 1"):
        rules.parse_agent_emails("15 ann@example.com")
