"""API of the Kustomer connection: `GET|PUT /api/v1/kustomer-connection`."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations import services
from integrations.models import KustomerConnection
from integrations.selectors import kustomer_connection_get
from tenants.api import TenantApiMixin


class KustomerConnectionOutput(serializers.ModelSerializer):
    api_key_set = serializers.SerializerMethodField()

    class Meta:
        model = KustomerConnection
        fields = [
            "base_url", "rate_limit_per_minute", "api_key_set", "api_key_set_at", "verify_state", "verified_at",
            "kustomer_user_id", "kustomer_user_name", "kustomer_org_id", "last_error", "last_error_at",
            "pending_base_url", "pending_state", "pending_error",
        ]

    def get_api_key_set(self, obj) -> bool:
        return bool(obj.api_key_encrypted)


class KustomerConnectionApi(TenantApiMixin, APIView):
    """The tenant's Kustomer org. The API key is write-only: no answer ever contains it."""

    class Input(serializers.Serializer):
        base_url = serializers.CharField(max_length=300)
        api_key = serializers.CharField(required=False, allow_blank=True, write_only=True, max_length=500)
        rate_limit_per_minute = serializers.IntegerField(required=False, min_value=1, max_value=100_000)

    @extend_schema(responses=KustomerConnectionOutput, operation_id="kustomer_connection_get")
    def get(self, request):
        connection = kustomer_connection_get(tenant=self.tenant)
        if connection is None:
            return Response({"detail": "No Kustomer connection yet.", "errors": {}}, status=status.HTTP_404_NOT_FOUND)
        from integrations.verification import connection_expire_stale

        return Response(KustomerConnectionOutput(connection_expire_stale(connection=connection)).data)

    @extend_schema(request=Input, responses={202: KustomerConnectionOutput}, operation_id="kustomer_connection_put")
    def put(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        connection = services.kustomer_connection_save(tenant=self.tenant, **data.validated_data)
        return Response(KustomerConnectionOutput(connection).data, status=status.HTTP_202_ACCEPTED)
