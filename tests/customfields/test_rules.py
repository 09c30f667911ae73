"""Pure rules of custom fields: the catalogue (R-F1), attribute names (R-F2), values,
and decisions about Kustomer's metadata. No database."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from customfields import rules
from customfields.rules import AttributeDecision, SessionFacts, ValueType

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)


def facts(**overrides) -> SessionFacts:
    base = dict(
        session_id="s-1001",
        session_type="call",
        channel="voice",
        source="ivr",
        started_at=T0,
        queue_name="Billing",
        menu="Billing > Refunds",
        from_phone="+14155550123",
        end_user_identifier="app-user-77",
        end_user_email="ann@example.com",
        call_duration_seconds=125,
        hold_seconds=30,
        wait_seconds=42,
        csat_rating=4,
        csat_comment="Quick and friendly.",
        custom_data={"orderId": "A-17"},
    )
    base.update(overrides)
    return SessionFacts(**base)


# ------------------------------------------------------------------ the catalogue (R-F1)
def test_r_f1_catalogue_has_the_sources_fields_with_kustomer_names_and_klasses():
    got = {(f.klass.value, f.attribute_name, f.display_name) for f in rules.CATALOGUE}
    assert got == {
        ("customer", "customUserIdStr", "Custom user ID"),
        ("message", "queueNameStr", "Queue name"),
        ("message", "sessionTypeStr", "Session type"),
        ("message", "sessionIdStr", "Session ID"),
        ("message", "fromPhoneNumberStr", "From phone number"),
        ("message", "callDurationNum", "Call duration"),
        ("message", "holdTimeNum", "Hold time"),
        ("message", "waitTimeNum", "Wait time"),
        ("message", "csatRatingNum", "CSAT rating"),
        ("message", "csatCommentTxt", "CSAT comment"),
        ("message", "customerMenuSelectionStr", "Customer menu selection"),
        ("message", "emailUsingInWebStr", "Email using In-Web"),
    }
    for definition in rules.CATALOGUE:  # every name is one Kustomer accepts
        assert rules.ATTRIBUTE_NAME_RE.match(definition.attribute_name)
        assert definition.attribute_name.endswith(definition.value_type.value)


EXPECTED_VALUES = {
    "custom_user_id": "app-user-77",
    "queue_name": "Billing",
    "session_type": "call",
    "session_id": "s-1001",
    "from_phone_number": "+14155550123",
    "call_duration": 125,
    "hold_time": 30,
    "wait_time": 42,
    "csat_rating": 4,
    "csat_comment": "Quick and friendly.",
    "customer_menu_selection": "Billing > Refunds",
    "email_using_in_web": None,  # an IVR session: no email was typed in the web SDK
}


@pytest.mark.parametrize("key", sorted(EXPECTED_VALUES))
def test_each_catalogue_field_computes_its_value_from_the_session(key):
    assert rules.CATALOGUE_BY_KEY[key].value(facts()) == EXPECTED_VALUES[key]


def test_every_catalogue_field_has_an_expected_value_test():
    assert set(EXPECTED_VALUES) == set(rules.CATALOGUE_BY_KEY)


@pytest.mark.parametrize("key", sorted(EXPECTED_VALUES))
def test_each_catalogue_field_is_none_when_the_session_lacks_it(key):
    empty = SessionFacts(session_id="", session_type="", channel="voice", source="ivr", started_at=T0)
    assert rules.CATALOGUE_BY_KEY[key].value(empty) is None


def test_email_using_in_web_is_the_email_typed_in_the_web_sdk_only():
    field = rules.CATALOGUE_BY_KEY["email_using_in_web"]
    assert field.value(facts(source="web_sdk", channel="chat")) == "ann@example.com"
    assert field.value(facts(source="mobile_sdk")) is None


def test_session_type_and_ids_follow_the_session():
    assert rules.CATALOGUE_BY_KEY["session_type"].value(facts(session_type="voicemail")) == "voicemail"
    assert rules.CATALOGUE_BY_KEY["session_id"].value(facts(session_id="  s-9 ")) == "s-9"


def test_durations_and_ratings_are_whole_non_negative_numbers():
    assert rules.CATALOGUE_BY_KEY["call_duration"].value(facts(call_duration_seconds=12.6)) == 13
    assert rules.CATALOGUE_BY_KEY["hold_time"].value(facts(hold_seconds=0)) == 0
    assert rules.CATALOGUE_BY_KEY["wait_time"].value(facts(wait_seconds=-5)) is None
    assert rules.CATALOGUE_BY_KEY["csat_rating"].value(facts(csat_rating=True)) is None


def test_str_values_are_cut_to_kustomers_1024_characters_and_txt_values_are_not():
    long = "x" * 3000
    assert rules.CATALOGUE_BY_KEY["queue_name"].value(facts(queue_name=long)) == "x" * 1024
    assert rules.CATALOGUE_BY_KEY["csat_comment"].value(facts(csat_comment=long)) == long


def test_blank_strings_count_as_no_value():
    assert rules.CATALOGUE_BY_KEY["queue_name"].value(facts(queue_name="   ")) is None


# ------------------------------------------------------------------ SDK fields (R-D3)
@pytest.mark.parametrize(
    "raw, value_type, expected",
    [
        ("A-17", "Str", "A-17"),
        (17, "Str", "17"),
        ("long text " * 200, "Txt", ("long text " * 200).strip()),
        ("42", "Num", 42),
        ("4.5", "Num", 4.5),
        (3, "Num", 3),
        ("abc", "Num", None),
        (float("nan"), "Num", None),
        (True, "Num", None),
        (True, "Bool", True),
        ("no", "Bool", False),
        ("maybe", "Bool", None),
        ("2026-11-23T10:00:00Z", "At", "2026-11-23T10:00:00.000Z"),
        ("2026-11-23T19:00:00+09:00", "At", "2026-11-23T10:00:00.000Z"),
        ("2026-11-23T10:00:00", "At", None),  # naive: which zone is unknowable
        ("yesterday", "At", None),
        ("https://shop.example.com/o/17", "Url", "https://shop.example.com/o/17"),
        ("javascript:alert(1)", "Url", None),
        ("not a url", "Url", None),
        ({"nested": 1}, "Str", None),
    ],
)
def test_r_d3_sdk_field_value_is_the_custom_data_fit_for_its_type(raw, value_type, expected):
    assert rules.sdk_field_value(facts(custom_data={"k": raw}), sdk_key="k", value_type=value_type) == expected


def test_sdk_field_without_its_key_in_the_session_has_no_value():
    assert rules.sdk_field_value(facts(custom_data={}), sdk_key="orderId", value_type="Str") is None


# ------------------------------------------------------------------ attribute names (R-F2)
@pytest.mark.parametrize(
    "sdk_key, value_type, expected",
    [
        ("orderId", "Str", "orderIdStr"),
        ("order_id", "Num", "orderIdNum"),
        ("Order ID", "Txt", "orderIdTxt"),
        ("order-total", "Num", "orderTotalNum"),
        ("URL", "Url", "urlUrl"),
        ("VIP", "Bool", "vipBool"),
        ("renewsAt", "At", "renewsAtAt"),
        ("  loyalty tier  ", "Str", "loyaltyTierStr"),
    ],
)
def test_r_f2_sdk_attribute_name_is_camel_case_plus_the_type_suffix(sdk_key, value_type, expected):
    name = rules.sdk_attribute_name(sdk_key=sdk_key, value_type=value_type)
    assert name == expected
    assert rules.ATTRIBUTE_NAME_RE.match(name)


@pytest.mark.parametrize(
    "sdk_key, value_type, field, words",
    [
        ("", "Str", "sdk_key", "Enter the key"),
        ("   ", "Str", "sdk_key", "Enter the key"),
        ("!!!", "Str", "sdk_key", "no letters or digits"),
        ("1stOrder", "Str", "sdk_key", "must start with a letter"),
        ("주문번호", "Str", "sdk_key", "no letters or digits"),
        ("a" * 61, "Str", "sdk_key", "longer than 60"),
        ("k" * 101, "Str", "sdk_key", "longer than 100"),
        ("orderId", "Id", "type", "Choose one of the Kustomer types"),
        ("orderId", "String", "type", "Choose one of the Kustomer types"),
    ],
)
def test_bad_sdk_keys_and_types_are_refused_naming_the_field(sdk_key, value_type, field, words):
    with pytest.raises(rules.NameProblem) as caught:
        rules.sdk_attribute_name(sdk_key=sdk_key, value_type=value_type)
    assert caught.value.field == field
    assert words in caught.value.message


@pytest.mark.parametrize("bad, words", [("", "Enter the name"), ("  ", "Enter the name"), ("x" * 101, "100 characters"), ("a\x00b", "control")])
def test_bad_display_names_are_refused(bad, words):
    with pytest.raises(rules.NameProblem) as caught:
        rules.clean_display_name(bad)
    assert caught.value.field == "display_name"
    assert words in caught.value.message


def test_display_name_whitespace_is_tidied():
    assert rules.clean_display_name("  Order   ID ") == "Order ID"


def test_split_attribute_name_reads_kustomers_suffixes():
    assert rules.split_attribute_name("customUserIdStr") == ("customUserId", "Str")
    assert rules.split_attribute_name("ordersId") == ("orders", "Id")
    assert rules.split_attribute_name("vipBool") == ("vip", "Bool")
    assert rules.split_attribute_name("queueName") is None
    assert rules.split_attribute_name("QueueNameStr") is None


# ------------------------------------------------------------------ Kustomer's metadata
def test_an_absent_attribute_is_created():
    assert rules.check_attribute("queueNameStr", {"otherStr": {"type": "string"}}).decision is AttributeDecision.CREATE


def test_an_attribute_with_the_same_name_and_type_is_adopted():
    check = rules.check_attribute("queueNameStr", {"queueNameStr": {"type": "string", "displayName": "Queue"}})
    assert check.decision is AttributeDecision.ADOPT


def test_an_attribute_with_the_same_name_but_another_reported_type_is_a_conflict():
    check = rules.check_attribute("callDurationNum", {"callDurationNum": {"type": "string"}})
    assert check.decision is AttributeDecision.CONFLICT
    assert "callDurationNum" in check.message and "string" in check.message and "number" in check.message


def test_the_same_base_name_with_another_suffix_is_a_conflict_not_a_second_field():
    check = rules.check_attribute("queueNameStr", {"queueNameTxt": {"type": "text", "displayName": "Queue name"}})
    assert check.decision is AttributeDecision.CONFLICT
    assert "queueNameTxt" in check.message and "queueNameStr" in check.message


def test_value_type_knows_kustomers_type_names():
    assert {t.value: t.kustomer_type for t in ValueType} == {
        "Str": "string", "Txt": "text", "Num": "number", "At": "date", "Bool": "boolean", "Url": "url",
    }

