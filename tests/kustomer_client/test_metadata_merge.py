"""A metadata PUT of ours keeps every attribute the klass has (integrations.kustomer.metadata)."""
from integrations.kustomer.metadata import merged_metadata_properties, missing_properties


def test_merge_keeps_every_existing_attribute_and_its_options():
    existing = {
        "theirsStr": {"type": "string", "displayName": "Theirs", "enumeration": ["a", "b"],
                      "modifiedBy": "u1", "modifiedAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z"},
    }
    merged = merged_metadata_properties(existing, {"queueNameStr": {"displayName": "Queue name"}})
    assert merged == {
        "theirsStr": {"type": "string", "displayName": "Theirs", "enumeration": ["a", "b"]},
        "queueNameStr": {"displayName": "Queue name"},
    }


def test_merge_over_kustomers_100_property_limit_sends_the_additions_alone():
    existing = {f"a{i}Str": {"displayName": f"A{i}"} for i in range(100)}
    merged = merged_metadata_properties(existing, {"queueNameStr": {"displayName": "Queue name"}})
    assert merged == {"queueNameStr": {"displayName": "Queue name"}}


def test_missing_properties_are_the_absent_or_different_ones():
    existing = {"callIdStr": {"type": "string", "displayName": "Call ID"}, "menuStr": {"displayName": "Old"}}
    wanted = {"callIdStr": {"displayName": "Call ID"}, "menuStr": {"displayName": "Menu"}, "langStr": {"displayName": "L"}}
    assert missing_properties(existing, wanted) == {"menuStr": {"displayName": "Menu"}, "langStr": {"displayName": "L"}}
