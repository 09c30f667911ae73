"""The API helpers the hot endpoints use: serializers whose fields are built once per
thread, and negotiation that answers JSON without parsing Accept."""
import threading

import pytest
from rest_framework import serializers

from core.api import ReusedFieldsSerializer


class _Input(ReusedFieldsSerializer):
    name = serializers.CharField(max_length=5)
    kind = serializers.ChoiceField(choices=["a", "b"], required=False, default="a")


def test_reused_fields_validate_each_body_on_its_own():
    first = _Input(data={"name": "ann", "kind": "b"})
    assert first.is_valid() and first.validated_data == {"name": "ann", "kind": "b"}
    bad = _Input(data={"name": "too long", "kind": "c"})
    assert not bad.is_valid()
    assert set(bad.errors) == {"name", "kind"}
    again = _Input(data={"name": "bo"})
    assert again.is_valid(), again.errors
    assert again.validated_data == {"name": "bo", "kind": "a"}
    assert first.validated_data == {"name": "ann", "kind": "b"}  # earlier results untouched


def test_reused_fields_belong_to_the_serializer_in_hand():
    one, two = _Input(data={"name": "x"}), _Input(data={"name": "y"})
    assert one.fields["name"].parent is one
    assert two.fields["name"].parent is two


def test_each_thread_has_its_own_fields():
    here = _Input(data={"name": "x"}).fields["name"]
    seen = []
    thread = threading.Thread(target=lambda: seen.append(_Input(data={"name": "y"}).fields["name"]))
    thread.start()
    thread.join()
    assert seen[0] is not here


def test_nested_serializers_are_not_reused():
    class Nested(ReusedFieldsSerializer):
        inner = _Input()

    with pytest.raises(TypeError, match="nested"):
        Nested(data={}).fields


@pytest.mark.django_db
def test_an_api_view_answers_json_whatever_the_client_accepts(api, monkeypatch):
    # As outside DEBUG (DEBUG adds the browsable API, and with it a choice to make).
    from rest_framework.renderers import JSONRenderer
    from rest_framework.views import APIView

    monkeypatch.setattr(APIView, "renderer_classes", [JSONRenderer])
    response = api.get("/api/v1/agents", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() is not None


@pytest.mark.django_db
def test_the_schema_still_negotiates_between_its_renderers(client):
    assert "json" in client.get("/api/schema/", HTTP_ACCEPT="application/json")["Content-Type"]
    assert client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi")["Content-Type"].startswith(
        "application/vnd.oai.openapi")
