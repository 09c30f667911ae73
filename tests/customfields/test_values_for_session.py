"""`custom_field_values_for_session`: what the conversation sync writes (R-F3, R-F4, R-D3)."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from customfields import services
from customfields.rules import SessionFacts
from customfields.selectors import custom_field_values_for_session
from tests.customfields.factories import CustomFieldFactory, SdkFieldFactory

pytestmark = pytest.mark.django_db
T = timezone.now().replace(microsecond=0)


def facts(started_at, **overrides) -> SessionFacts:
    values = dict(
        session_id="s-1", session_type="call", channel="voice", source="ivr", started_at=started_at,
        queue_name="Billing", menu="Billing > Refunds", call_duration_seconds=60, csat_comment=None,
        end_user_identifier="u-1", custom_data={"orderId": "A-17", "vip": "yes"},
    )
    values.update(overrides)
    return SessionFacts(**values)


def test_r_f3_a_field_created_at_t_gets_values_only_for_sessions_starting_after_t(tenant):
    CustomFieldFactory(tenant=tenant, catalogue_key="queue_name", created_at=T)
    after = custom_field_values_for_session(tenant=tenant, klass="message", facts=facts(T + timedelta(seconds=1)))
    before = custom_field_values_for_session(tenant=tenant, klass="message", facts=facts(T - timedelta(seconds=1)))
    at = custom_field_values_for_session(tenant=tenant, klass="message", facts=facts(T))
    assert after == {"queueNameStr": "Billing"}
    assert before == {} and at == {}


def test_r_f3_cut_off_is_per_field(tenant):
    CustomFieldFactory(tenant=tenant, catalogue_key="queue_name", created_at=T - timedelta(hours=1))
    CustomFieldFactory(tenant=tenant, catalogue_key="call_duration", created_at=T + timedelta(hours=1))
    values = custom_field_values_for_session(tenant=tenant, klass="message", facts=facts(T))
    assert values == {"queueNameStr": "Billing"}


def test_only_created_fields_give_values(tenant):
    CustomFieldFactory(tenant=tenant, catalogue_key="queue_name", state="pending", created_at=None)
    CustomFieldFactory(tenant=tenant, catalogue_key="customer_menu_selection", state="failed", created_at=None)
    CustomFieldFactory(tenant=tenant, catalogue_key="call_duration", created_at=T - timedelta(minutes=5))
    assert custom_field_values_for_session(tenant=tenant, klass="message", facts=facts(T)) == {"callDurationNum": 60}


def test_r_f4_deleting_a_field_stops_its_values(tenant):
    field = CustomFieldFactory(tenant=tenant, catalogue_key="queue_name", created_at=T - timedelta(hours=1))
    session = facts(T)
    assert custom_field_values_for_session(tenant=tenant, klass="message", facts=session) == {"queueNameStr": "Billing"}
    services.custom_field_delete(tenant=tenant, field_id=field.pk)
    assert custom_field_values_for_session(tenant=tenant, klass="message", facts=session) == {}


def test_values_are_per_klass_and_none_values_are_left_out(tenant):
    CustomFieldFactory(tenant=tenant, catalogue_key="custom_user_id", created_at=T - timedelta(hours=1))
    CustomFieldFactory(tenant=tenant, catalogue_key="queue_name", created_at=T - timedelta(hours=1))
    CustomFieldFactory(tenant=tenant, catalogue_key="csat_comment", created_at=T - timedelta(hours=1))  # no comment yet
    session = facts(T)
    assert custom_field_values_for_session(tenant=tenant, klass="customer", facts=session) == {"customUserIdStr": "u-1"}
    assert custom_field_values_for_session(tenant=tenant, klass="message", facts=session) == {"queueNameStr": "Billing"}


def test_r_d3_sdk_fields_give_the_custom_data_under_their_key(tenant):
    earlier = T - timedelta(hours=1)
    SdkFieldFactory(tenant=tenant, sdk_key="orderId", value_type="Str", created_at=earlier)
    SdkFieldFactory(tenant=tenant, sdk_key="vip", value_type="Bool", display_name="VIP", created_at=earlier)
    SdkFieldFactory(tenant=tenant, sdk_key="missing", value_type="Num", display_name="Missing", created_at=earlier)
    SdkFieldFactory(tenant=tenant, sdk_key="tier", klass="customer", display_name="Tier", created_at=earlier)
    values = custom_field_values_for_session(tenant=tenant, klass="message", facts=facts(T))
    assert values == {"orderIdStr": "A-17", "vipBool": True}


def test_r_a1_another_tenants_fields_never_give_values(tenant, other_tenant):
    CustomFieldFactory(tenant=other_tenant, catalogue_key="queue_name", created_at=T - timedelta(hours=1))
    assert custom_field_values_for_session(tenant=tenant, klass="message", facts=facts(T)) == {}


def test_a_naive_start_time_or_unknown_klass_is_a_programming_error(tenant):
    with pytest.raises(ValueError, match="timezone-aware"):
        custom_field_values_for_session(tenant=tenant, klass="message", facts=facts(datetime(2026, 11, 23, 10, 0)))
    with pytest.raises(ValueError, match="klass"):
        custom_field_values_for_session(tenant=tenant, klass="Message", facts=facts(T))


def test_conversations_have_no_custom_fields(tenant):
    CustomFieldFactory(tenant=tenant, catalogue_key="queue_name", created_at=T - timedelta(hours=1))
    assert custom_field_values_for_session(tenant=tenant, klass="conversation", facts=facts(T)) == {}
