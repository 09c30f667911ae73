"""The contact-center event API (CONTRACT.md): inbox, event state, retry, click-to-call."""
from __future__ import annotations

import json

import phonenumbers
from django.core.paginator import Paginator
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from conversations import rules, selectors, services
from conversations.forms import MAX_PAGE_SIZE, PAGE_SIZE, EventFilterForm
from conversations.models import Event
from conversations.services.policies import call_logging_policies_update
from core.errors import NotFoundError
from tenants.api import TenantApiMixin

MAX_ID = 200
# Any text (Unicode too) but what would cut or change /api/v1/events/{id}: no / ? # % \,
# spaces or control characters.
EVENT_ID_PATTERN = r"^[^/?#%\\\s\x00-\x1f\x7f]+$"
# (No % or braces in the message: Django and DRF each format it.)
EVENT_ID_RULE = ("An event id must not hold slashes, question marks, hash or percent signs, backslashes, spaces "
                 "or control characters: it is part of the event's URL.")


def phone_to_e164(value: str, region: str) -> str:
    """Any format `phonenumbers` reads with the tenant's default region → E.164."""
    try:
        number = phonenumbers.parse(value, region or "US")
    except phonenumbers.NumberParseException:
        raise serializers.ValidationError("Not a phone number.") from None
    if not phonenumbers.is_valid_number(number):
        raise serializers.ValidationError(f"Not a valid phone number (read with default region {region}).")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _phone_normalised(values: dict, part: str, name: str, region: str, errors: dict) -> dict:
    """``values[name]`` in E.164 when given; a bad number goes to ``errors[part][name]``."""
    if values.get(name):
        try:
            values[name] = phone_to_e164(values[name], region)
        except serializers.ValidationError as exc:
            errors.setdefault(part, {})[name] = exc.detail
    return values


class _Strict(serializers.Serializer):
    """Unknown keys are refused by name (a typo must not pass silently)."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = set(data) - set(self.fields)
            if unknown:
                raise serializers.ValidationError({k: ["Unknown field."] for k in sorted(unknown)})
        return super().to_internal_value(data)


class _Session(_Strict):
    id = serializers.CharField(max_length=MAX_ID)
    channel = serializers.ChoiceField(choices=rules.CHANNELS)
    source = serializers.ChoiceField(choices=rules.SOURCES)
    menu = serializers.CharField(max_length=500, required=False, allow_null=True, allow_blank=True)
    queue = serializers.CharField(max_length=200, required=False, allow_null=True, allow_blank=True)
    language = serializers.CharField(max_length=20, required=False, allow_null=True, allow_blank=True)
    recording_enabled = serializers.BooleanField(required=False, default=False)
    # Added (SPEC R-P2): the contact-center number the session came in on or went out from.
    cc_number = serializers.CharField(max_length=40, required=False, allow_null=True, allow_blank=True)
    # Added (SPEC R-P5): chats: how many messages the end user had sent in the session when
    # the event happened (a tenant may delay a chat's record until N).
    end_user_message_count = serializers.IntegerField(min_value=0, max_value=1_000_000, required=False,
                                                      allow_null=True)


class _EndUser(_Strict):
    phone = serializers.CharField(max_length=40, required=False, allow_null=True, allow_blank=True)
    identifier = serializers.CharField(max_length=MAX_ID, required=False, allow_null=True, allow_blank=True)
    name = serializers.CharField(max_length=200, required=False, allow_null=True, allow_blank=True)
    email = serializers.EmailField(required=False, allow_null=True, allow_blank=True)


class _Agent(_Strict):
    email = serializers.EmailField(required=False, allow_null=True, allow_blank=True)


class _HttpUrl(serializers.URLField):
    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not value.lower().startswith(("http://", "https://")):
            raise serializers.ValidationError("Only http(s) URLs.")
        return value


class _Seconds(serializers.IntegerField):
    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(min_value=0, max_value=7 * 24 * 3600, **kwargs)


class _CustomData(_Strict):
    custom_data = serializers.DictField(required=False, default=dict)


class _CustomDataRequired(_Strict):
    custom_data = serializers.DictField()


class _OutboundData(_Strict):
    kustomer_customer_id = serializers.RegexField(r"^[0-9a-fA-F]{24}$", required=False, allow_null=True,
                                                  error_messages={"invalid": "A Kustomer id is 24 hex characters."})
    # Added (SPEC R-P1): false when the called party never answered.
    answered = serializers.BooleanField(required=False, allow_null=True)


class _AbandonedData(_Strict):
    wait_seconds = _Seconds()
    # Added (SPEC R-P3): why the call reached no agent.
    reason = serializers.ChoiceField(choices=list(rules.MISSED_REASONS), required=False, allow_null=True)


class _VoicemailData(_Strict):
    recording_url = _HttpUrl(max_length=2000)
    duration_seconds = _Seconds()


class _TranscriptLine(_Strict):
    at = serializers.DateTimeField(required=False, allow_null=True)
    # "from" is a Python keyword: declared below.
    text = serializers.CharField(allow_blank=True, max_length=20000)


_TranscriptLine._declared_fields["from"] = serializers.CharField(max_length=200)


class _EndedData(_Strict):
    answered = serializers.BooleanField(required=False, allow_null=True)  # added (R-P1): outbound calls
    duration_seconds = _Seconds()
    hold_seconds = _Seconds()
    wait_seconds = _Seconds()
    recording_url = _HttpUrl(max_length=2000, required=False, allow_null=True, allow_blank=True)
    transcript = _TranscriptLine(many=True, required=False)


class _TransferredData(_Strict):
    to_agent_email = serializers.EmailField()


class _CallbackData(_Strict):
    reason = serializers.ChoiceField(choices=("after_call", "short_call"))
    previous_session_id = serializers.CharField(max_length=MAX_ID)


class _File(_Strict):
    name = serializers.CharField(max_length=255)
    url = _HttpUrl(max_length=2000)
    content_type = serializers.CharField(max_length=200, required=False, allow_blank=True)


class _SmartActionCompletedData(_Strict):
    action = serializers.CharField(max_length=200)
    result = serializers.DictField(required=False, default=dict)
    files = _File(many=True, required=False)


class _SmartActionFailedData(_Strict):
    action = serializers.CharField(max_length=200)
    error = serializers.CharField(max_length=2000)


class _CsatData(_Strict):
    rating = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(max_length=5000, required=False, allow_null=True, allow_blank=True)


class _VoicemailUpdatedData(_Strict):
    action = serializers.ChoiceField(choices=("read", "closed", "called_back"))


class _DispositionData(_Strict):
    code = serializers.CharField(max_length=200, required=False, allow_null=True, allow_blank=True)
    custom_code_id = serializers.CharField(max_length=200, required=False, allow_null=True, allow_blank=True)
    note = serializers.CharField(max_length=5000, required=False, allow_null=True, allow_blank=True)


DATA_SERIALIZERS = {
    rules.SESSION_STARTED: _CustomData,
    rules.CALL_ANSWERED: _Strict,
    rules.OUTBOUND_STARTED: _OutboundData,
    rules.CALL_ABANDONED: _AbandonedData,
    rules.VOICEMAIL_RECEIVED: _VoicemailData,
    rules.SESSION_ENDED: _EndedData,
    rules.SESSION_TRANSFERRED: _TransferredData,
    rules.CALLBACK_REQUESTED: _CallbackData,
    rules.SMART_ACTION_COMPLETED: _SmartActionCompletedData,
    rules.SMART_ACTION_FAILED: _SmartActionFailedData,
    rules.CUSTOM_DATA_RECEIVED: _CustomDataRequired,
    rules.CSAT_SUBMITTED: _CsatData,
    rules.VOICEMAIL_UPDATED: _VoicemailUpdatedData,
    rules.DISPOSITION_SUBMITTED: _DispositionData,
}


def _jsonable(value):
    """Validated data back to plain JSON (datetimes as ISO strings)."""
    return json.loads(json.dumps(value, default=lambda v: v.isoformat() if hasattr(v, "isoformat") else str(v)))


class EventOutput(serializers.Serializer):
    id = serializers.CharField(source="event_id")
    type = serializers.CharField()
    state = serializers.CharField()
    error = serializers.CharField()
    attempts = serializers.IntegerField()
    occurred_at = serializers.DateTimeField()
    received_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)  # null until the event is done or failed
    kustomer = serializers.SerializerMethodField()

    def get_kustomer(self, event: Event) -> dict:
        return selectors.event_kustomer_ids(event)


class EventListOutput(serializers.Serializer):
    count = serializers.IntegerField()
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    page_size = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = EventOutput(many=True)


_LIST_PARAMETERS = [
    OpenApiParameter("q", str, description="An event id, session id, phone number (any format, read with the "
                     "tenant's default region), or a Kustomer customer or conversation id."),
    OpenApiParameter("state", str, enum=list(Event.State.values)),
    OpenApiParameter("type", str, enum=list(rules.EVENT_TYPES)),
    OpenApiParameter("since", OpenApiTypes.DATETIME, description="Received at or after (ISO 8601)."),
    OpenApiParameter("until", OpenApiTypes.DATETIME, description="Received at or before (ISO 8601)."),
    OpenApiParameter("sort", str, enum=list(selectors.EVENT_SORTS),
                     description="A column, `-` in front for descending; default `-received` (newest first)."),
    OpenApiParameter("page", int, description="From 1 (default 1)."),
    OpenApiParameter("page_size", int, description=f"1 to {MAX_PAGE_SIZE} (default {PAGE_SIZE})."),
]


class EventCreateApi(TenantApiMixin, APIView):
    """POST /api/v1/events: the contact center reports what happened.
    GET /api/v1/events: the tenant's events, searched, filtered, sorted and paged."""

    read_scope = "events:write"
    write_scope = "events:write"

    class InputSerializer(_Strict):
        # The id appears in /api/v1/events/{id}: only characters that cannot break a URL.
        id = serializers.RegexField(EVENT_ID_PATTERN, max_length=MAX_ID, error_messages={"invalid": EVENT_ID_RULE})
        type = serializers.ChoiceField(choices=rules.EVENT_TYPES)
        occurred_at = serializers.DateTimeField()
        session = _Session()
        end_user = _EndUser()
        agent = _Agent(required=False, allow_null=True)
        data = serializers.DictField(required=False, default=dict)

        def validate(self, attrs):
            errors: dict = {}
            region = self.context["tenant"].default_region
            end_user = _phone_normalised(dict(attrs["end_user"]), "end_user", "phone", region, errors)
            if not end_user.get("phone") and not end_user.get("identifier"):
                errors.setdefault("end_user", {})["phone"] = ["Give end_user.phone or end_user.identifier."]
            if attrs["type"] == rules.OUTBOUND_STARTED and not end_user.get("phone"):
                errors.setdefault("end_user", {})["phone"] = ["An outbound call needs the phone number it calls."]
            attrs["end_user"] = end_user
            attrs["session"] = _phone_normalised(dict(attrs["session"]), "session", "cc_number", region, errors)
            data_serializer = DATA_SERIALIZERS[attrs["type"]](data=attrs.get("data") or {})
            if not data_serializer.is_valid():
                errors["data"] = data_serializer.errors
            else:
                attrs["data"] = dict(data_serializer.validated_data)
            if errors:
                raise serializers.ValidationError(errors)
            return attrs

    class OutputSerializer(serializers.Serializer):
        id = serializers.CharField(source="event_id")
        state = serializers.CharField()

    @extend_schema(request=InputSerializer, responses={202: OutputSerializer, 200: EventOutput})
    def post(self, request):
        try:
            raw_body = request.body.decode("utf-8", errors="replace")
        except Exception:  # the stream was read already: keep the parsed form
            raw_body = json.dumps(request.data)
        serializer = self.InputSerializer(data=request.data, context={"tenant": self.tenant})
        serializer.is_valid(raise_exception=True)
        payload = _jsonable(serializer.validated_data)
        payload.setdefault("agent", None)
        event, created = services.event_record(tenant=self.tenant, payload=payload, raw_body=raw_body,
                                               received=request.data)
        if created:
            return Response(self.OutputSerializer(event).data, status=status.HTTP_202_ACCEPTED)
        return Response(EventOutput(event).data, status=status.HTTP_200_OK)

    @extend_schema(parameters=_LIST_PARAMETERS, responses=EventListOutput, operation_id="events_list")
    def get(self, request):
        form = EventFilterForm(request.query_params)
        if not form.is_valid():
            raise serializers.ValidationError(
                {name: [e["message"] for e in errors] for name, errors in form.errors.get_json_data().items()})
        size = form.cleaned_data.get("page_size") or PAGE_SIZE
        paginator = Paginator(selectors.events_search(
            tenant=self.tenant, filters=form.filters(region=self.tenant.default_region)), size)
        number = form.cleaned_data.get("page") or 1
        if number > max(1, paginator.num_pages):
            raise NotFoundError(_("No such page: there are %(pages)d.") % {"pages": paginator.num_pages})
        page = paginator.page(number)

        def link(n: int) -> str:
            params = request.query_params.copy()
            params["page"] = str(n)
            return request.build_absolute_uri(request.path) + "?" + params.urlencode()

        return Response(EventListOutput({
            "count": paginator.count, "page": page.number, "pages": paginator.num_pages, "page_size": size,
            "next": link(page.next_page_number()) if page.has_next() else None,
            "previous": link(page.previous_page_number()) if page.has_previous() else None,
            "results": page.object_list,
        }).data)


class EventDetailApi(TenantApiMixin, APIView):
    """GET /api/v1/events/{id}: state, attempts, error and the Kustomer ids written."""

    read_scope = "events:write"
    write_scope = "events:write"

    class OutputSerializer(EventOutput):
        actions = serializers.SerializerMethodField()

        def get_actions(self, event: Event) -> list[dict]:
            return [
                {"index": a.index, "kind": a.kind, "rule": a.rule, "state": a.state, "attempts": a.attempts,
                 "error": a.error, "result": a.result}
                for a in event.actions.order_by("index")
            ]

    @extend_schema(responses=OutputSerializer)
    def get(self, request, id: str):  # noqa: A002  (the contract names the path parameter `id`)
        event = selectors.event_get(tenant=self.tenant, event_id=id)
        return Response(self.OutputSerializer(event).data)


class EventRetryApi(TenantApiMixin, APIView):
    """POST /api/v1/events/{id}/retry: queue a failed event again."""

    read_scope = "events:write"
    write_scope = "events:write"

    @extend_schema(request=None, responses={202: EventOutput})
    def post(self, request, id: str):  # noqa: A002
        event = selectors.event_get(tenant=self.tenant, event_id=id)
        event = services.event_retry(event=event)
        return Response(EventOutput(event).data, status=status.HTTP_202_ACCEPTED)


class ClickToCallApi(TenantApiMixin, APIView):
    """POST /api/v1/click-to-call (R-X2): the adapter starts an outbound call."""

    read_scope = "events:write"
    write_scope = "events:write"

    class InputSerializer(_Strict):
        agent_email = serializers.EmailField()
        phone = serializers.CharField(max_length=40)
        kustomer_customer_id = serializers.RegexField(
            r"^[0-9a-fA-F]{24}$", required=False, allow_null=True, allow_blank=True,
            error_messages={"invalid": "A Kustomer id is 24 hex characters."})

        def validate_phone(self, value):
            return phone_to_e164(value, self.context["tenant"].default_region)

    class OutputSerializer(serializers.Serializer):
        session_id = serializers.CharField()
        event_id = serializers.CharField()

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data, context={"tenant": self.tenant})
        serializer.is_valid(raise_exception=True)
        event = services.click_to_call_start(tenant=self.tenant, **serializer.validated_data)
        return Response(self.OutputSerializer({"session_id": event.session_id, "event_id": event.event_id}).data,
                        status=status.HTTP_201_CREATED)


class CallLoggingPoliciesApi(TenantApiMixin, APIView):
    """`GET|PUT /api/v1/call-logging-policies` (SPEC §6): a PUT changes the fields it
    gives; a bad value answers 400 naming its field."""

    class InputSerializer(_Strict):
        logging = serializers.DictField(child=serializers.CharField(), required=False)
        create_unknown_customers = serializers.BooleanField(required=False)
        connected_numbers = serializers.ListField(child=serializers.CharField(max_length=40, allow_blank=True),
                                                  required=False, max_length=200)
        default_owner_email = serializers.CharField(max_length=254, required=False, allow_blank=True)
        default_owner_team_id = serializers.CharField(max_length=200, required=False, allow_blank=True,
                                                      help_text="A team of the org by id or name; \"\" = none.")
        name_templates = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)
        preview_templates = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)
        number_format = serializers.CharField(required=False)
        short_abandon_seconds = serializers.IntegerField(required=False)
        reopen_days = serializers.IntegerField(required=False)
        delay_call_until_connected = serializers.BooleanField(required=False)
        delay_chat_until_messages = serializers.IntegerField(required=False)

    class OutputSerializer(serializers.Serializer):
        """The answer spells out every field (and every session kind)."""

        logging = serializers.DictField(child=serializers.ChoiceField(choices=list(rules.LOG_CHOICES)))
        create_unknown_customers = serializers.BooleanField()
        connected_numbers = serializers.ListField(child=serializers.CharField())
        default_owner_email = serializers.CharField()
        default_owner_team_id = serializers.CharField(help_text="R-P6: the Kustomer team's id (\"\": none).")
        default_owner_team_name = serializers.CharField(help_text="Its name when it was saved.")
        name_templates = serializers.DictField(child=serializers.CharField())
        preview_templates = serializers.DictField(child=serializers.CharField())
        number_format = serializers.ChoiceField(choices=list(rules.NUMBER_FORMATS))
        short_abandon_seconds = serializers.IntegerField()
        reopen_days = serializers.IntegerField()
        delay_call_until_connected = serializers.BooleanField()
        delay_chat_until_messages = serializers.IntegerField(help_text="R-P5: 0 = off.")

    @extend_schema(responses=OutputSerializer, operation_id="call_logging_policies_get")
    def get(self, request):
        return Response(selectors.call_logging_policies_output(
            selectors.call_logging_policies_read(tenant=self.tenant)))

    @extend_schema(request=InputSerializer, responses=OutputSerializer, operation_id="call_logging_policies_put")
    def put(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        policies = call_logging_policies_update(tenant=self.tenant, **serializer.validated_data)
        return Response(selectors.call_logging_policies_output(policies))


class SyncSettingsApi(TenantApiMixin, APIView):
    """`GET|PUT /api/v1/sync-settings` (added): the portal's own sync settings;
    `close_out_after_hours` (R-O2, default 4, 0 = never)."""

    class Input(serializers.Serializer):
        close_out_after_hours = serializers.IntegerField(required=False, min_value=0, max_value=720)
        ambiguous_pick_latest = serializers.BooleanField(required=False)

    class Output(serializers.Serializer):
        close_out_after_hours = serializers.IntegerField()
        ambiguous_pick_latest = serializers.BooleanField()

    @extend_schema(responses=Output, operation_id="sync_settings_get")
    def get(self, request):
        from conversations.services.close_out import sync_settings_get

        return Response(self.Output(sync_settings_get(tenant=self.tenant)).data)

    @extend_schema(request=Input, responses=Output, operation_id="sync_settings_put")
    def put(self, request):
        from conversations.services.close_out import sync_settings_update

        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(self.Output(sync_settings_update(tenant=self.tenant, **data.validated_data)).data)
