"""The contract's error body: {"detail": "...", "errors": {field: [...]}}."""
from portal.api import _flatten, _summary


def test_nested_serializer_errors_are_named_with_dots():
    errors = _flatten({"session": {"channel": ['"fax" is not a valid choice.']}, "data": {"files": [{}, {"url": ["Enter a valid URL."]}]}})
    assert errors == {"session.channel": ['"fax" is not a valid choice.'], "data.files.1.url": ["Enter a valid URL."]}


def test_the_summary_names_the_first_field_and_counts_the_rest():
    assert _summary({"id": ["This field is required."], "type": ["x"]}) == "Invalid input. id: This field is required. (and 1 more field)"


def test_non_field_errors_stand_alone():
    assert _flatten(["Something is off."]) == {"non_field_errors": ["Something is off."]}
