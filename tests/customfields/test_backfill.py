"""R-O3 backfill: its pure decisions (days, the rate budget's share, progress), the API's
shapes and refusals, and the page (form, progress bar, result count, Cancel). The run
itself is proven end to end in test_e2e_backfill.py."""
from __future__ import annotations

import pytest
from django.utils import timezone

from customfields import backfill_rules as r
from customfields.models import BackfillJob, CustomField
from tests.customfields.factories import CustomFieldFactory

URL = "/api/v1/custom-fields/{}/backfills"
PAGE = "/settings/custom-fields/backfill/"


@pytest.mark.parametrize("given, days", [("7", 7), (1, 1), (" 90 ", 90)])
def test_r_o3_days_from_1_to_90(given, days):
    assert r.clean_days(given) == days


@pytest.mark.parametrize("given", ["0", "91", "x", None, "2.5"])
def test_r_o3_other_days_are_refused(given):
    with pytest.raises(r.DaysProblem, match="from 1 to 90"):
        r.clean_days(given)


def test_r_o3_a_backfill_sends_only_below_its_share_of_the_budget():
    assert r.backfill_wait_seconds(used=0, budget=18, paused_for=0, share=0.5) == 0
    assert r.backfill_wait_seconds(used=8, budget=18, paused_for=0, share=0.5) == 0
    # 9 of 18 used (by anyone): the other 9 are the live events' reserve.
    assert r.backfill_wait_seconds(used=9, budget=18, paused_for=0, share=0.5) == r.BUDGET_WAIT_SECONDS
    assert r.backfill_wait_seconds(used=0, budget=18, paused_for=7.5, share=0.5) == 7.5  # after a 429
    assert r.backfill_wait_seconds(used=0, budget=1, paused_for=0, share=0.1) == 0  # never starved to nothing


def test_r_o3_progress_rate_and_time_left():
    p = r.backfill_progress(done=30, total=120, rate_per_minute=60.0, active=True)
    assert (p.percent, p.seconds_left) == (25, 90)
    assert r.backfill_progress(done=3, total=3, rate_per_minute=10, active=False).seconds_left is None
    assert r.backfill_progress(done=0, total=0, rate_per_minute=0, active=False).percent == 100
    assert r.backfill_progress(done=0, total=5, rate_per_minute=0, active=True).seconds_left is None
    assert r.units_per_minute(done_in_run=10, elapsed_seconds=30) == 20


@pytest.mark.django_db
def test_r_o3_start_answers_202_queued_and_is_polled(api, connected):
    field = CustomFieldFactory(tenant=connected.tenant)
    response = api.post(URL.format(field.pk), {"days": 14}, format="json")
    assert response.status_code == 202, response.json()
    body = response.json()
    assert (body["state"], body["days"], body["done"], body["total"], body["attribute_name"]) == (
        "queued", 14, 0, 0, "queueNameStr")
    job = BackfillJob.objects.get(pk=body["id"])
    assert job.until == field.created_at and (timezone.now() - job.since).days == 14
    assert api.get(f"/api/v1/backfills/{job.pk}").json()["id"] == job.pk
    assert [j["id"] for j in api.get(URL.format(field.pk)).json()] == [job.pk]
    again = api.post(URL.format(field.pk), {"days": 3}, format="json")  # one at a time per field
    assert again.status_code == 409 and "already running" in again.json()["detail"]

    cancelled = api.post(f"/api/v1/backfills/{job.pk}/cancel", format="json")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert api.post(f"/api/v1/backfills/{job.pk}/cancel", format="json").status_code == 409
    assert api.post(URL.format(field.pk), {"days": 3}, format="json").status_code == 202  # cancelled: may start again


@pytest.mark.django_db
@pytest.mark.parametrize("body, field_name", [({}, "days"), ({"days": 0}, "days"), ({"days": 91}, "days"),
                                               ({"days": "soon"}, "days")])
def test_r_o3_bad_days_answer_400_naming_the_field(api, connected, body, field_name):
    field = CustomFieldFactory(tenant=connected.tenant)
    response = api.post(URL.format(field.pk), body, format="json")
    assert response.status_code == 400 and field_name in response.json()["errors"]
    assert not BackfillJob.objects.exists()


@pytest.mark.django_db
def test_r_o3_a_field_not_created_in_kustomer_or_of_another_tenant_is_refused(api, connected, other_tenant):
    pending = CustomFieldFactory(tenant=connected.tenant, catalogue_key="csat_rating", state=CustomField.State.PENDING,
                                 created_at=None)
    response = api.post(URL.format(pending.pk), {"days": 7}, format="json")
    assert response.status_code == 400 and "not created in Kustomer yet" in response.json()["errors"]["field"][0]
    foreign = CustomFieldFactory(tenant=other_tenant)
    assert api.post(URL.format(foreign.pk), {"days": 7}, format="json").status_code == 404
    job = BackfillJob.objects.create(tenant=other_tenant, field=foreign, days=1, since=timezone.now(), until=timezone.now())
    assert api.get(f"/api/v1/backfills/{job.pk}").status_code == 404
    assert api.post(f"/api/v1/backfills/{job.pk}/cancel").status_code == 404
    assert BackfillJob.objects.get(pk=job.pk).state == "queued"


@pytest.mark.django_db
def test_r_o3_the_page_starts_a_backfill_and_shows_progress_result_and_cancel(admin_client, connected):
    field = CustomFieldFactory(tenant=connected.tenant)
    html = admin_client.get(PAGE).content.decode()
    assert 'data-testid="backfill-form"' in html and "Queue name (queueNameStr)" in html
    assert admin_client.post(PAGE, {"field": field.pk, "days": 0}).status_code == 400
    assert admin_client.post(PAGE, {"field": field.pk, "days": 10}).status_code == 302
    job = BackfillJob.objects.get()
    BackfillJob.objects.filter(pk=job.pk).update(state="running", total=40, done=10, written=8, skipped=2,
                                                 rate_per_minute=20.0, started_at=timezone.now())
    html = admin_client.get(PAGE).content.decode()
    assert "<strong>10 / 40</strong> (25%)" in html and "20.0 per minute" in html and "about 1 min 30 s left" in html
    assert "Written: 8 · skipped (no value or no record): 2 · failed: 0" in html
    assert 'data-active="1"' in html and f'data-testid="backfill-cancel-{job.pk}"' in html
    assert admin_client.post(f"{PAGE}{job.pk}/cancel/").status_code == 302
    html = admin_client.get(PAGE).content.decode()
    assert 'data-state="cancelled"' in html and 'data-active="0"' in html and "backfill-cancel-" not in html


@pytest.mark.django_db
def test_r_o3_account_fields_take_each_customers_newest_session_in_range_in_customer_order(tenant):
    """Account backfills write each customer once, from its newest session in the range,
    paging by the customer's link."""
    from datetime import timedelta

    from conversations.models import CustomerLink, SessionLink, SyncedConversation
    from conversations.selectors import customers_held

    now = timezone.now()

    def customer(n: int, starts: list[int]) -> CustomerLink:
        link = CustomerLink.objects.create(tenant=tenant, customer_key=f"phone:+1415555000{n}", external_id=f"c{n}",
                                           kustomer_customer_id=f"kc{n}")
        conv = SyncedConversation.objects.create(tenant=tenant, customer=link, kustomer_customer_id=f"kc{n}",
                                                 external_id=f"conv{n}", kustomer_conversation_id=f"kv{n}")
        for days_ago in starts:
            SessionLink.objects.create(tenant=tenant, session_id=f"s{n}-{days_ago}", conversation=conv,
                                       started_at=now - timedelta(days=days_ago))
        return link

    first, second, third = customer(1, [5, 2, 9]), customer(2, [1]), customer(3, [40])  # the third is out of range
    since = now - timedelta(days=30)
    held = customers_held(tenant=tenant, since=since, until=now)
    assert [(h.customer_pk, h.session_id) for h in held] == [(first.pk, "s1-2"), (second.pk, "s2-1")]
    assert [h.session_id for h in customers_held(tenant=tenant, since=since, until=now, after_pk=first.pk)] == ["s2-1"]
    assert [h.session_id for h in customers_held(tenant=tenant, since=since, until=now, limit=1)] == ["s1-2"]
    assert third.pk > second.pk
