"""API of custom fields (CONTRACT.md): `GET|POST /api/v1/custom-fields`,
`GET|DELETE /api/v1/custom-fields/{id}`, `POST /api/v1/custom-fields/{id}/retry`;
R-O3 `GET|POST /api/v1/custom-fields/{id}/backfills`, `GET /api/v1/backfills/{id}`,
`POST /api/v1/backfills/{id}/cancel`.

Reads need the `config:read` scope, changes `config:write`. Creating only writes the
row and queues the Kustomer call: the answer says `pending`; poll the field for its state.
"""
from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from customfields import backfill_rules, rules, selectors, services
from customfields.models import BackfillJob, CustomField
from tenants.api import TenantApiMixin

_ERROR = inline_serializer(
    "CustomFieldError",
    fields={"detail": serializers.CharField(), "errors": serializers.DictField(child=serializers.ListField(child=serializers.CharField()))},
)


class CustomFieldOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=CustomField.Kind.values, help_text="catalogue (R-F1) or sdk (SDK custom data)")
    group = serializers.ChoiceField(choices=["account", "record", "sdk"], help_text="Where the portal lists it.")
    key = serializers.CharField(source="catalogue_key", allow_null=True, help_text="Catalogue key; null for SDK fields.")
    sdk_key = serializers.CharField(allow_null=True, help_text="Key in the SDK's custom data; null for catalogue fields.")
    klass = serializers.ChoiceField(choices=CustomField.Klass.values, help_text="Kustomer klass: customer (Account) or message (Record).")
    attribute_name = serializers.CharField(help_text="The Kustomer attribute, e.g. queueNameStr.")
    display_name = serializers.CharField()
    type = serializers.CharField(source="value_type", help_text="Str, Txt, Num, At, Bool or Url.")
    state = serializers.ChoiceField(choices=CustomField.State.values)
    error = serializers.CharField(allow_blank=True, help_text="Kustomer's error (failed), or the last transient one (pending).")
    adopted = serializers.BooleanField(help_text="Kustomer already had this attribute with this type; it was taken as created.")
    attempts = serializers.IntegerField()
    requested_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField(allow_null=True, help_text="When Kustomer had it; only sessions starting later get values (R-F3).")
    last_attempt_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["key"] = data["key"] or None
        data["sdk_key"] = data["sdk_key"] or None
        return data


class CatalogueEntryOutput(serializers.Serializer):
    key = serializers.CharField()
    group = serializers.CharField()
    klass = serializers.CharField()
    attribute_name = serializers.CharField()
    display_name = serializers.CharField()
    type = serializers.CharField()
    description = serializers.CharField()
    field_id = serializers.IntegerField(allow_null=True, help_text="The tenant's live field for this entry, if created.")


def _catalogue_entries(rows: list[selectors.CatalogueRow]) -> list[dict]:
    return [
        {
            "key": row.definition.key,
            "group": "account" if row.definition.klass is rules.Klass.CUSTOMER else "record",
            "klass": row.definition.klass.value,
            "attribute_name": row.definition.attribute_name,
            "display_name": row.definition.display_name,
            "type": row.definition.value_type.value,
            "description": row.definition.description,
            "field_id": row.field.pk if row.field else None,
        }
        for row in rows
    ]


class CustomFieldListCreateApi(TenantApiMixin, APIView):
    """The tenant's custom fields, and creating one (a catalogue entry or an SDK field)."""

    # Named components: every app's nested `Input` would otherwise share one schema name.
    @extend_schema_serializer(component_name="CustomFieldCreateInput")
    class Input(serializers.Serializer):
        key = serializers.CharField(required=False, max_length=50, help_text="A catalogue key (see `catalogue`), e.g. queue_name.")
        sdk_key = serializers.CharField(
            required=False, max_length=rules.MAX_SDK_KEY_LENGTH, help_text="For an SDK field: its key in the SDK's custom data."
        )
        display_name = serializers.CharField(required=False, allow_blank=True, max_length=200, help_text="For an SDK field.")
        type = serializers.ChoiceField(required=False, choices=[t.value for t in rules.ValueType], help_text="For an SDK field.")
        klass = serializers.ChoiceField(
            required=False, choices=CustomField.Klass.values, default=CustomField.Klass.MESSAGE, help_text="For an SDK field."
        )

        def validate(self, attrs):
            if ("key" in attrs) == ("sdk_key" in attrs):
                raise serializers.ValidationError(
                    {"key": ["Send either `key` (a catalogue field) or `sdk_key` with `display_name` and `type` (an SDK field)."]}
                )
            if "sdk_key" in attrs:
                missing = {name: ["This field is required for an SDK field."] for name in ("display_name", "type") if name not in attrs}
                if missing:
                    raise serializers.ValidationError(missing)
            return attrs

    @extend_schema_serializer(component_name="CustomFieldList")
    class ListOutput(serializers.Serializer):
        fields = CustomFieldOutput(many=True)
        catalogue = CatalogueEntryOutput(many=True)

    @extend_schema(responses=ListOutput, operation_id="custom_fields_list")
    def get(self, request):
        return Response(
            {
                "fields": CustomFieldOutput(selectors.custom_field_list(tenant=self.tenant), many=True).data,
                "catalogue": _catalogue_entries(selectors.custom_field_catalogue(tenant=self.tenant)),
            }
        )

    @extend_schema(
        request=Input,
        responses={201: CustomFieldOutput, 400: _ERROR, 409: OpenApiResponse(_ERROR, description="The field already exists (R-F4).")},
        operation_id="custom_fields_create",
    )
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if "key" in values:
            field = services.custom_field_create_from_catalogue(tenant=self.tenant, key=values["key"])
        else:
            field = services.custom_field_create_for_sdk(
                tenant=self.tenant,
                sdk_key=values["sdk_key"],
                display_name=values["display_name"],
                value_type=values["type"],
                klass=values["klass"],
            )
        return Response(CustomFieldOutput(field).data, status=status.HTTP_201_CREATED)


class CustomFieldDetailApi(TenantApiMixin, APIView):
    """One field; DELETE stops pushes and leaves Kustomer's attribute and data alone (R-F4)."""

    @extend_schema(responses={200: CustomFieldOutput, 404: _ERROR}, operation_id="custom_fields_get")
    def get(self, request, id: int):  # noqa: A002 - the contract names the path parameter `id`
        return Response(CustomFieldOutput(selectors.custom_field_get(tenant=self.tenant, field_id=id)).data)

    @extend_schema(responses={204: None, 404: _ERROR}, operation_id="custom_fields_delete")
    def delete(self, request, id: int):  # noqa: A002
        services.custom_field_delete(tenant=self.tenant, field_id=id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CustomFieldRetryApi(TenantApiMixin, APIView):
    """Queue a failed field's creation in Kustomer again."""

    @extend_schema(
        request=None,
        responses={202: CustomFieldOutput, 404: _ERROR, 409: OpenApiResponse(_ERROR, description="Not failed.")},
        operation_id="custom_fields_retry",
    )
    def post(self, request, id: int):  # noqa: A002
        field = services.custom_field_retry(tenant=self.tenant, field_id=id)
        return Response(CustomFieldOutput(field).data, status=status.HTTP_202_ACCEPTED)


# ------------------------------------------------------------------------ R-O3 backfill
class BackfillOutput(serializers.Serializer):
    id = serializers.IntegerField()
    field_id = serializers.IntegerField()
    attribute_name = serializers.CharField(source="field.attribute_name")
    days = serializers.IntegerField(help_text="Sessions of the last this many days that started before the field existed.")
    state = serializers.ChoiceField(choices=BackfillJob.State.values)
    total = serializers.IntegerField(help_text="Units to fill: sessions (a Record field) or customers (an Account field).")
    done = serializers.IntegerField()
    written = serializers.IntegerField(help_text="Units whose Kustomer records now hold the value.")
    skipped = serializers.IntegerField(help_text="Units with no value for this field, or no record to hold it.")
    failed = serializers.IntegerField(help_text="Units Kustomer refused (e.g. a record deleted there).")
    percent = serializers.SerializerMethodField()
    rate_per_minute = serializers.FloatField(help_text="Units per minute so far.")
    seconds_left = serializers.SerializerMethodField(help_text="Estimated; null when not known or finished.")
    note = serializers.CharField(allow_blank=True, help_text="Why it waits (live events have the rate budget) or failed.")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)

    @extend_schema_field(OpenApiTypes.INT)
    def get_percent(self, job) -> int:
        return selectors.backfill_progress(job).percent

    @extend_schema_field({"type": "integer", "nullable": True})
    def get_seconds_left(self, job):
        return selectors.backfill_progress(job).seconds_left

    def to_representation(self, instance):
        data = super().to_representation(instance)
        progress = selectors.backfill_progress(instance)
        data.update(total=progress.total, rate_per_minute=progress.rate_per_minute)
        return data


class CustomFieldBackfillApi(TenantApiMixin, APIView):
    """R-O3: the field's backfills (newest first), and starting one."""

    @extend_schema_serializer(component_name="BackfillStartInput")
    class Input(serializers.Serializer):
        days = serializers.IntegerField(min_value=backfill_rules.MIN_DAYS, max_value=backfill_rules.MAX_DAYS,
                                        help_text="Fill sessions of the last this many days.")

    @extend_schema(responses={200: BackfillOutput(many=True), 404: _ERROR}, operation_id="custom_fields_backfills_list")
    def get(self, request, id: int):  # noqa: A002
        field = selectors.custom_field_get(tenant=self.tenant, field_id=id)
        jobs = BackfillJob.objects.filter(tenant=self.tenant, field=field).select_related("field")[:20]
        return Response(BackfillOutput(jobs, many=True).data)

    @extend_schema(
        request=Input,
        responses={202: BackfillOutput, 400: _ERROR, 404: _ERROR,
                   409: OpenApiResponse(_ERROR, description="A backfill of this field is running.")},
        operation_id="custom_fields_backfill_start",
    )
    def post(self, request, id: int):  # noqa: A002
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        job = services.backfill_start(tenant=self.tenant, field_id=id, days=data.validated_data["days"])
        return Response(BackfillOutput(job).data, status=status.HTTP_202_ACCEPTED)


class BackfillDetailApi(TenantApiMixin, APIView):
    """R-O3: one backfill's progress (poll it)."""

    @extend_schema(responses={200: BackfillOutput, 404: _ERROR}, operation_id="backfills_get")
    def get(self, request, id: int):  # noqa: A002
        return Response(BackfillOutput(selectors.backfill_job_get(tenant=self.tenant, job_id=id)).data)


class BackfillCancelApi(TenantApiMixin, APIView):
    """R-O3: stop a queued or running backfill; what it wrote stays in Kustomer."""

    @extend_schema(request=None, responses={200: BackfillOutput, 404: _ERROR,
                                            409: OpenApiResponse(_ERROR, description="Already finished.")},
                   operation_id="backfills_cancel")
    def post(self, request, id: int):  # noqa: A002
        return Response(BackfillOutput(services.backfill_cancel(tenant=self.tenant, job_id=id)).data)
