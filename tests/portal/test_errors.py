"""The contract's error body: {"detail": "...", "errors": {field: [...]}}."""
from core.api import _flatten, _summary


def test_nested_serializer_errors_are_named_with_dots():
    errors = _flatten({"session": {"channel": ['"fax" is not a valid choice.']}, "data": {"files": [{}, {"url": ["Enter a valid URL."]}]}})
    assert errors == {"session.channel": ['"fax" is not a valid choice.'], "data.files.1.url": ["Enter a valid URL."]}


def test_the_summary_names_the_first_field_and_counts_the_rest():
    assert _summary({"id": ["This field is required."], "type": ["x"]}) == "Invalid input. id: This field is required. (and 1 more field)"


def test_non_field_errors_stand_alone():
    assert _flatten(["Something is off."]) == {"non_field_errors": ["Something is off."]}


def test_text_no_database_can_store_is_refused_naming_the_field():
    from core.parsers import first_unstorable_text

    assert first_unstorable_text({"end_user": {"name": "Ann\x00Lee"}}) == (
        "end_user.name", "contains a NUL character (\\u0000), which cannot be stored.")
    assert first_unstorable_text({"data": {"files": [{"name": "ok"}, {"name": "bad \ud800"}]}})[0] == "data.files.1.name"
    assert first_unstorable_text({"data": {"custom_data": {"k\x00": "v"}}})[0] == "data.custom_data"
    assert first_unstorable_text({"name": "日本語 ✓ emoji 🎧"}) is None
