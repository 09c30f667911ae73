"""CCAI Platform's external session events in: `POST /api/v1/ccai-platform/{endpoint_id}/calls`
and `.../chats` (docs/api.md, docs/ccai-platform.md).

The endpoint id in the path only routes; the delivery is authenticated by HTTP basic
authentication with the credentials set on the portal page (401, and nothing stored,
otherwise). Each event object is stored once per `event_id`; the answer goes out once
every delivery and the product events it implies are rows.
"""
from __future__ import annotations

from core.principals import NonUserPrincipal

from dataclasses import dataclass

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import authentication, exceptions, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from ccaip import rules, services
from ccaip.models import Endpoint

MAX_EVENTS = 500


@dataclass
class CcaipSender(NonUserPrincipal):
    """The principal of a delivery: CCAI Platform, for one tenant's endpoint."""

    endpoint: Endpoint
    throttle_scope = "api_key"  # core/throttling.py: each endpoint its own count

    @property
    def throttle_key(self) -> str:
        return f"ccaip:{self.endpoint.pk}"


class CcaipBasicAuthentication(authentication.BasicAuthentication):
    """Basic authentication against the endpoint named in the path (constant-time)."""

    www_authenticate_realm = "ccai-platform"

    def authenticate_credentials(self, userid, password, request=None):
        public_id = request.parser_context["kwargs"].get("endpoint_id") if request is not None else None
        endpoint = services.endpoint_authenticate(public_id=public_id, username=userid, password=password)
        if endpoint is None:
            raise exceptions.AuthenticationFailed("Wrong username or password.")
        return CcaipSender(endpoint=endpoint), endpoint


class _Participant(serializers.Serializer):
    type = serializers.CharField(help_text="`agent`, or the customer's side (the documentation's *External*).")
    status = serializers.CharField(help_text="connected, accepted, disconnected, dispositionSubmitted")
    id = serializers.CharField(required=False, help_text="The live agent's id (agents).")
    name = serializers.CharField(required=False, help_text="The live agent's name (agents).")


class _Disposition(serializers.Serializer):
    code = serializers.CharField(required=False, allow_null=True)
    custom_code_id = serializers.CharField(required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_null=True, allow_blank=True)


class _Item(serializers.Serializer):
    call_id = serializers.CharField(help_text="The session's id (the call's or the chat's).")
    state = serializers.CharField(required=False, help_text="connected | disconnected")
    dn = serializers.CharField(required=False, allow_null=True, help_text="The customer's phone number.")
    queue_path_names = serializers.ListField(child=serializers.CharField(), required=False)
    initiator = serializers.CharField(required=False, allow_null=True,
                                      help_text="Who made the state change (virtual_agent_15, agent_1).")
    participants = _Participant(many=True, required=False)
    connected_at = serializers.CharField(required=False, allow_null=True, help_text="ISO 8601")
    ends_at = serializers.CharField(required=False, allow_null=True, help_text="ISO 8601")
    dispositions = _Disposition(required=False, allow_null=True)


class _Event(serializers.Serializer):
    event_id = serializers.UUIDField(help_text="The notification's UUID: each is stored once.")
    timestamp = serializers.IntegerField(min_value=0, help_text="Epoch milliseconds the event was made.")
    item = _Item(help_text="The session's fields (also read from the event object itself when it has no item).")


class SessionEventsApi(APIView):
    """CCAI Platform's External Session Events for one tenant (calls or chats)."""

    authentication_classes = [CcaipBasicAuthentication]
    permission_classes = [IsAuthenticated]
    channel = rules.CALL

    class InputSerializer(serializers.Serializer):
        count = serializers.IntegerField(min_value=0, help_text="The number of event objects in this payload.")
        events = _Event(many=True)

    class OutputSerializer(serializers.Serializer):
        accepted = serializers.IntegerField(help_text="Event objects stored now.")
        duplicates = serializers.IntegerField(help_text="Event objects whose event_id was stored before.")
        recorded = serializers.ListField(child=serializers.CharField(),
                                         help_text="Ids of the product events (POST /api/v1/events) recorded.")

    @extend_schema(
        request=InputSerializer, responses={200: OutputSerializer},
        summary="CCAI Platform external session events (basic authentication)",
        examples=[OpenApiExample("Active (agent connected)", request_only=True, value={
            "count": 1, "events": [{
                "event_id": "5f8e3b1a-0c47-4c1e-9a51-2f0d8a7e6b13", "timestamp": 1764630045000,
                "item": {"call_id": "88412", "state": "connected", "dn": "+14155550123",
                         "queue_path_names": ["Billing", "Refunds"], "initiator": "agent_15",
                         "participants": [{"type": "external", "status": "connected"},
                                          {"type": "agent", "status": "connected", "id": "15", "name": "Ann Agent"}],
                         "connected_at": "2026-12-01T23:00:00Z"}}]})],
    )
    def post(self, request, endpoint_id):
        events = _validated_events(request.data)
        result = services.deliveries_record(endpoint=request.auth, channel=self.channel, events=events)
        return Response({"accepted": result.accepted, "duplicates": result.repeats, "recorded": result.recorded},
                        status=status.HTTP_200_OK)


class ChatSessionEventsApi(SessionEventsApi):
    """The same for chat sessions (their own URL on CCAI Platform's settings page)."""

    channel = rules.CHAT


def _validated_events(data) -> list[dict]:
    """The event objects as received (unknown fields kept), once their documented
    fields have the documented types. The whole delivery is refused (400, nothing
    stored) when one is malformed."""
    if not isinstance(data, dict):
        raise exceptions.ValidationError({"non_field_errors": ["Expected {\"count\": N, \"events\": [...]}."]})
    raw_events = data.get("events")
    errors: dict = {}
    if not isinstance(raw_events, list):
        raise exceptions.ValidationError({"events": ["A list of event objects."]})
    if len(raw_events) > MAX_EVENTS:
        raise exceptions.ValidationError({"events": [f"At most {MAX_EVENTS} event objects a delivery."]})
    if not isinstance(data.get("count"), int) or isinstance(data.get("count"), bool):
        errors["count"] = ["An integer."]
    for index, event in enumerate(raw_events):
        if not isinstance(event, dict):
            errors[f"events.{index}"] = ["An object."]
            continue
        problems = {}
        try:
            serializers.UUIDField().run_validation(event.get("event_id"))
        except serializers.ValidationError:
            problems["event_id"] = ["A UUID."]
        stamp = event.get("timestamp")
        if not isinstance(stamp, int) or isinstance(stamp, bool) or stamp < 0:
            problems["timestamp"] = ["Epoch milliseconds (an integer)."]
        call_id = rules.session_fields(event).get("call_id")
        if call_id is None or isinstance(call_id, (dict, list, bool)) or not str(call_id).strip() \
                or len(str(call_id)) > 200:
            problems["item.call_id"] = ["The session's call_id."]
        for name, messages in problems.items():
            errors[f"events.{index}.{name}"] = messages
    if errors:
        raise exceptions.ValidationError(errors)
    return raw_events
