"""Deliveries of one session arriving at the same moment on several connections (CCAI
Platform retrying while the first try is still in flight): no deadlock, no lost or
doubled transition."""
from __future__ import annotations

import random
import threading
from datetime import datetime, timezone

import pytest
from django.db import connection

from ccaip import rules, services
from ccaip.models import Delivery
from conversations.models import Event
from loadtest import ccaip_format as fmt

pytestmark = pytest.mark.django_db(transaction=True)

T0 = datetime(2026, 12, 1, 22, 0, tzinfo=timezone.utc)


def test_simultaneous_overlapping_deliveries_of_one_session(tenant, settings):
    endpoint, _ = services.endpoint_credentials_set(tenant=tenant, username="u")
    services.endpoint_agent_emails_set(tenant=tenant, text="15 = ann@example.com\n22 = bo@example.com")
    endpoint.refresh_from_db()
    errors: list[BaseException] = []
    expected: set[str] = set()
    for round_ in range(3):
        events = fmt.transferred_session(call_id=f"race-{round_}", dn="+14155550123", start=T0,
                                         first=fmt.Agent("15", "Ann"), second=fmt.Agent("22", "Bo"),
                                         queue_path_names=["Billing"])
        other = fmt.abandoned_session(call_id=f"other-{round_}", dn="+14155550124", start=T0,
                                      queue_path_names=["Billing"])[-1]
        rng = random.Random(round_)
        batches = [rng.sample(events, k=rng.randint(2, len(events))) + [other] for _ in range(6)]
        for batch in batches:
            rng.shuffle(batch)
        union = {e["event_id"]: e for batch in batches for e in batch if e is not other}
        state = rules.fold_session(channel="call", call_id=f"race-{round_}", deliveries=[
            rules.Delivery(e["event_id"], e["timestamp"], e["item"]) for e in union.values()])
        expected |= {rules.product_event_id("call", f"race-{round_}", e.key)
                     for e in rules.translate(state, settled=False).events}
        expected.add(f"ccaip-call-other-{round_}-abandoned")
        barrier = threading.Barrier(len(batches))

        def post(batch):
            try:
                barrier.wait(10)
                services.deliveries_record(endpoint=endpoint, channel="call", events=batch)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=post, args=(b,)) for b in batches]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert Delivery.objects.filter(session__call_id=f"race-{round_}").count() == len(union)
        assert Delivery.objects.get(session__call_id=f"other-{round_}").repeats == len(batches) - 1
    assert not errors, errors
    assert set(Event.objects.filter(tenant=tenant).values_list("event_id", flat=True)) == expected
