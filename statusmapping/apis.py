"""API of status inheritance (CONTRACT.md: agent status, adapter heartbeat, status
inheritance, status mapping, Kustomer statuses, support availability, agents).

Views translate HTTP only: they validate the shape, call a service or a selector and
render the answer. No view calls Kustomer.
"""
from __future__ import annotations

import dataclasses

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import ReusedFieldsSerializer
from core.errors import ApplicationError
from tenants.api import IsSupportStaff, TenantApiMixin
from tenants.services import audit_record
from statusmapping import selectors, services
from statusmapping.models import Activity, Agent, Direction, Feed, Kind, Priority, Source, StatusChange
from tenants.models import Tenant


# ---------------------------------------------------------------------------- outputs
class StatusChangeOutput(serializers.ModelSerializer):
    class Meta:
        model = StatusChange
        fields = [
            "event_id", "agent_email", "source", "feed", "kind", "instance_id", "kustomer_status_id",
            "kustomer_status_name", "requested_status", "from_status", "to_status", "decision", "reason",
            "occurred_at", "received_at", "pushed_kustomer_status_id",
        ]


class AgentOutput(serializers.Serializer):
    email = serializers.EmailField()
    name = serializers.CharField()
    kustomer_user_id = serializers.CharField()
    kustomer_user_error = serializers.CharField()
    cc_status = serializers.SerializerMethodField()
    cc_status_at = serializers.DateTimeField(allow_null=True)
    kustomer_status_id = serializers.CharField()
    kustomer_status = serializers.SerializerMethodField()
    kustomer_status_at = serializers.DateTimeField(allow_null=True)
    held_status = serializers.SerializerMethodField()
    live_instances = serializers.SerializerMethodField()
    several_instances = serializers.SerializerMethodField()
    push_error = serializers.CharField()
    # R-S13: under two-way sync, whether the two statuses agree, and why not.
    statuses_agree = serializers.SerializerMethodField()
    disagreement = serializers.SerializerMethodField()

    def _agreement(self, agent: Agent):
        config = self.context.get("status_config")
        if config is None:
            config = self.context["status_config"] = selectors.status_config_read(tenant=agent.tenant)
        return selectors.agent_status_agreement(agent=agent, config=config)

    def get_statuses_agree(self, agent: Agent) -> bool:
        return self._agreement(agent).agree

    def get_disagreement(self, agent: Agent) -> str:
        result = self._agreement(agent)
        return "" if result.agree else result.reason

    def get_cc_status(self, agent: Agent) -> str | None:
        return agent.cc_status.name if agent.cc_status_id else None

    def get_kustomer_status(self, agent: Agent) -> str | None:
        names = self.context.get("kustomer_names") or {}
        return names.get(agent.kustomer_status_id) if agent.kustomer_status_id else None

    def get_held_status(self, agent: Agent) -> str | None:
        return agent.held_cc_status.name if agent.held_cc_status_id else None

    def get_live_instances(self, agent: Agent) -> int:
        live = getattr(agent, "live_instances", None)
        return live if live is not None else len(selectors.agent_live_instance_ids(agent=agent))

    def get_several_instances(self, agent: Agent) -> bool:
        return self.get_live_instances(agent) > 1


def _settings_output(settings) -> dict:
    return {
        "available": settings.available,
        "enabled": settings.enabled,
        "priority": settings.priority,
        "direction": settings.direction,
        "inherit_on_login": settings.inherit_on_login,
        "watch_interval_seconds": settings.watch_interval_seconds,
        "sign_out_status": settings.sign_out_cc_status.name if settings.sign_out_cc_status_id else "",
        "flap_max_changes": settings.flap_max_changes,
        "flap_hold_seconds": settings.flap_hold_seconds,
        "email_new_unmapped_statuses": settings.email_new_unmapped_statuses,
        "two_way": {
            "ready": settings.two_way_ready,
            "checked_at": settings.two_way_checked_at,
            "checks": settings.two_way_checks or [],
            "error": settings.two_way_check_error,
        },
    }


def _mapping_output(tenant: Tenant) -> dict:
    kustomer = list(selectors.kustomer_status_list(tenant=tenant))
    cc = list(selectors.cc_status_list(tenant=tenant))
    return {
        "mapping": {k.kustomer_id: (k.cc_status.name if k.cc_status_id else None) for k in kustomer},
        "push": {c.name: (c.push_kustomer_status_id or None) for c in cc},
        "kustomer_statuses": [_kustomer_status(k) for k in kustomer],
        "cc_statuses": [_cc_status(c) for c in cc],
        "warnings": selectors.status_mapping_warnings(tenant=tenant),
        "config_version": tenant.config_version,
    }


def _kustomer_status(k) -> dict:
    return {
        "id": k.kustomer_id, "name": k.name, "status_type": k.status_type, "system": k.system,
        "cc_status": k.cc_status.name if k.cc_status_id else None,
        "removed": k.removed_at is not None, "removed_at": k.removed_at, "last_seen_at": k.last_seen_at,
    }


def _cc_status(c) -> dict:
    return {"name": c.name, "routable": c.routable, "activity": c.activity, "is_default": c.is_default,
            "push_kustomer_status_id": c.push_kustomer_status_id or None}


# ---------------------------------------------------------------------------- agent status
class AgentStatusEventApi(TenantApiMixin, APIView):
    """`POST /api/v1/agent-status/events`: decided in the request (R-S4..R-S12)."""

    read_scope = None
    write_scope = "events:write"

    class Input(ReusedFieldsSerializer):  # the hottest endpoint: fields built once per thread
        id = serializers.CharField(max_length=200)
        source = serializers.ChoiceField(choices=Source.values)
        agent_email = serializers.CharField(max_length=254)
        occurred_at = serializers.DateTimeField()
        kustomer_status_id = serializers.CharField(max_length=64, required=False, allow_blank=True)
        status = serializers.CharField(max_length=60, required=False, allow_blank=True)
        # `sign_in` (an addition): the agent signed in to the CC (R-S8).
        kind = serializers.ChoiceField(choices=[Kind.MANUAL, Kind.SYSTEM_NEXT, Kind.SIGN_IN], required=False,
                                       default=Kind.MANUAL)
        instance_id = serializers.CharField(max_length=100, required=False, allow_blank=True)

        def validate(self, data):
            if data["source"] == Source.KUSTOMER and not data.get("kustomer_status_id"):
                raise serializers.ValidationError({"kustomer_status_id": "Required when source is kustomer."})
            if data["source"] == Source.CONTACT_CENTER and not data.get("status"):
                raise serializers.ValidationError({"status": "Required when source is contact_center."})
            return data

    class Output(serializers.Serializer):
        id = serializers.CharField()
        decision = serializers.CharField()
        agent_status = serializers.CharField(allow_null=True)
        reason = serializers.CharField()

    @extend_schema(request=Input, responses=Output, operation_id="agent_status_event")
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        feed = Feed.ADAPTER if v.get("instance_id") else Feed.API
        change = services.agent_status_change_record(
            tenant=self.tenant, event_id=v["id"], source=v["source"], agent_email=v["agent_email"],
            occurred_at=v["occurred_at"], kustomer_status_id=v.get("kustomer_status_id") or "",
            status=v.get("status") or "", kind=v.get("kind") or Kind.MANUAL,
            instance_id=v.get("instance_id") or "", feed=feed,
        )
        return Response({
            "id": change.event_id, "decision": change.decision, "agent_status": change.to_status or None,
            "reason": change.reason,
        })


class AdapterHeartbeatApi(TenantApiMixin, APIView):
    """`POST /api/v1/adapter/heartbeat` (R-S6): every few seconds from each open adapter."""

    read_scope = None
    write_scope = "events:write"

    class Input(serializers.Serializer):
        agent_email = serializers.CharField(max_length=254)
        instance_id = serializers.CharField(max_length=100)

    class Output(serializers.Serializer):
        agent_email = serializers.CharField()
        instance_id = serializers.CharField()
        live_instances = serializers.IntegerField()
        several_instances = serializers.BooleanField()
        message = serializers.CharField()

    @extend_schema(request=Input, responses=Output, operation_id="adapter_heartbeat")
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        agent, live = services.adapter_heartbeat_record(tenant=self.tenant, **data.validated_data)
        several = live > 1
        return Response({
            "agent_email": agent.email, "instance_id": data.validated_data["instance_id"], "live_instances": live,
            "several_instances": several,
            "message": ("You are signed in to Kustomer in more than one tab or computer: status sync is paused "
                        "until only one is open." if several else ""),
        })


# ---------------------------------------------------------------------------- configuration
class StatusInheritanceApi(TenantApiMixin, APIView):
    """`GET|PUT /api/v1/status-inheritance` (R-S1 step 2, R-S7, R-S8, R-S9)."""

    class Input(serializers.Serializer):
        enabled = serializers.BooleanField(required=False)
        priority = serializers.ChoiceField(choices=Priority.values, required=False)
        direction = serializers.ChoiceField(choices=Direction.values, required=False)
        inherit_on_login = serializers.BooleanField(required=False)
        watch_interval_seconds = serializers.IntegerField(required=False, min_value=1, max_value=3600)
        # R-O6: the CC status an agent gets when their Kustomer work session ends ("": off).
        sign_out_status = serializers.CharField(required=False, allow_blank=True, max_length=60)
        # R-O7: the flapping guard (0 changes: off).
        flap_max_changes = serializers.IntegerField(required=False, min_value=0, max_value=100)
        flap_hold_seconds = serializers.IntegerField(required=False, min_value=5, max_value=600)
        # R-O5: e-mail the admins about new unmapped Kustomer statuses.
        email_new_unmapped_statuses = serializers.BooleanField(required=False)

        # Optimistic concurrency: the version read with GET; an older one answers 409.
        config_version = serializers.IntegerField(required=False, min_value=0)

    @extend_schema(responses=dict, operation_id="status_inheritance_get")
    def get(self, request):
        return Response({**_settings_output(selectors.inheritance_settings_get(tenant=self.tenant)),
                         "config_version": self.tenant.config_version})

    @extend_schema(request=Input, responses=dict, operation_id="status_inheritance_put")
    def put(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        settings = services.status_inheritance_update(tenant=self.tenant, expected_version=fields.pop(
            "config_version", None), **fields)
        return Response({**_settings_output(settings), "config_version": self.tenant.config_version})


class TwoWayCheckApi(TenantApiMixin, APIView):
    """`POST /api/v1/status-inheritance/two-way-check` (addition): check Kustomer's
    two-way prerequisites again (R-S9); the outcome shows in GET status-inheritance."""

    @extend_schema(request=None, responses={202: dict}, operation_id="status_inheritance_two_way_check")
    def post(self, request):
        services.two_way_prerequisites_check_request(tenant=self.tenant)
        return Response({"state": "queued"}, status=status.HTTP_202_ACCEPTED)


class SupportStatusInheritanceAvailabilityApi(APIView):
    """`POST /api/v1/support/tenants/{slug}/status-inheritance-availability` (R-S1 step 1)."""

    permission_classes = [IsSupportStaff]

    class Input(serializers.Serializer):
        available = serializers.BooleanField()

    @extend_schema(request=Input, responses=dict, operation_id="support_status_inheritance_availability")
    def post(self, request, slug: str):
        tenant = get_object_or_404(Tenant, slug=slug)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        settings = services.status_inheritance_availability_set(
            tenant=tenant, available=data.validated_data["available"], changed_by=request.user.get_username()
        )
        return Response({"tenant": tenant.slug, "available": settings.available, "enabled": settings.enabled})


class KustomerStatusListApi(TenantApiMixin, APIView):
    """`GET /api/v1/kustomer-statuses` (R-S2), gone ones included and marked."""

    @extend_schema(responses=dict, operation_id="kustomer_statuses_list")
    def get(self, request):
        settings = selectors.inheritance_settings_get(tenant=self.tenant)
        return Response({
            "refreshed_at": settings.statuses_refreshed_at,
            "refresh_error": settings.statuses_refresh_error,
            "results": [_kustomer_status(k) for k in selectors.kustomer_status_list(tenant=self.tenant)],
        })


class KustomerStatusRefreshApi(TenantApiMixin, APIView):
    """`POST /api/v1/kustomer-statuses/refresh`: queued; read from Kustomer by a task."""

    @extend_schema(request=None, responses={202: dict}, operation_id="kustomer_statuses_refresh")
    def post(self, request):
        services.kustomer_statuses_refresh_request(tenant=self.tenant)
        return Response({"state": "queued"}, status=status.HTTP_202_ACCEPTED)


class StatusMappingApi(TenantApiMixin, APIView):
    """`GET|PUT /api/v1/status-mapping`: the whole Kustomer → CC map at once (R-S3);
    `push` (two-way, R-S9): the Kustomer status chosen per CC status."""

    class Input(serializers.Serializer):
        mapping = serializers.DictField(child=serializers.CharField(allow_null=True, allow_blank=True, max_length=60))
        push = serializers.DictField(
            child=serializers.CharField(allow_null=True, allow_blank=True, max_length=64), required=False
        )
        # Optimistic concurrency: the version read with GET; an older one answers 409.
        config_version = serializers.IntegerField(required=False, min_value=0)

    @extend_schema(responses=dict, operation_id="status_mapping_get")
    def get(self, request):
        services.cc_status_ensure_defaults(tenant=self.tenant)
        return Response(_mapping_output(self.tenant))

    @extend_schema(request=Input, responses=dict, operation_id="status_mapping_put")
    def put(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        services.status_mapping_save(
            tenant=self.tenant, mapping=data.validated_data["mapping"], push=data.validated_data.get("push"),
            expected_version=data.validated_data.get("config_version"),
        )
        return Response(_mapping_output(self.tenant))


class _DryRunRowOutput(serializers.Serializer):
    email = serializers.CharField()
    name = serializers.CharField()
    kustomer_status = serializers.CharField()
    current = serializers.CharField(allow_null=True)
    would_be = serializers.CharField(allow_null=True)
    changes = serializers.BooleanField()
    decision = serializers.CharField()
    reason = serializers.CharField()


class StatusMappingExportApi(TenantApiMixin, APIView):
    """`GET /api/v1/status-mapping/export` (R-O4): the map and two-way choices as a
    mapping file (by status names; docs/api.md)."""

    @extend_schema(responses={(200, "application/json"): dict}, operation_id="status_mapping_export")
    def get(self, request):
        text = services.status_mapping_export(tenant=self.tenant)
        response = HttpResponse(text, content_type="application/json; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="status-mapping-{self.tenant.slug}.json"'
        return response


class StatusMappingImportApi(TenantApiMixin, APIView):
    """`POST /api/v1/status-mapping/import[?config_version=N][&dry_run=1]` (R-O4): the
    body is a mapping file; all or nothing, errors per entry with their line."""

    @extend_schema(
        request={"application/json": dict},
        parameters=[OpenApiParameter("config_version", int, required=False),
                    OpenApiParameter("dry_run", bool, required=False)],
        responses={200: inline_serializer("StatusMappingImportOutput", {
            "saved": serializers.BooleanField(), "added_cc_statuses": serializers.ListField(child=serializers.CharField()),
            "unmapped": serializers.ListField(child=serializers.CharField()),
            "agents": _DryRunRowOutput(many=True),
        })},
        operation_id="status_mapping_import",
    )
    def post(self, request):
        raw = request.query_params.get("config_version")
        try:
            version = int(raw) if raw not in (None, "") else None
        except ValueError:
            raise ApplicationError(gettext("config_version must be a number."), field="config_version") from None
        dry_run = request.query_params.get("dry_run", "") in ("1", "true", "yes")
        if dry_run:
            plan = services.status_mapping_import_plan(tenant=self.tenant, text=request.body)
        else:
            plan = services.status_mapping_import(tenant=self.tenant, text=request.body, expected_version=version)
        agents = services.status_mapping_dry_run(tenant=self.tenant, mapping=plan.mapping,
                                                 new_cc_statuses=plan.new_cc_statuses)
        return Response({
            "saved": not dry_run, "added_cc_statuses": [s.name for s in plan.new_cc_statuses],
            "unmapped": list(plan.unmentioned), "agents": [dataclasses.asdict(r) for r in agents],
        })


class StatusMappingDryRunApi(TenantApiMixin, APIView):
    """`POST /api/v1/status-mapping/dry-run {"mapping"}` (R-O4): each agent's current
    and would-be CC status under a proposed map (the PUT's shape); nothing is saved."""

    class Input(serializers.Serializer):
        mapping = serializers.DictField(child=serializers.CharField(allow_null=True, allow_blank=True, max_length=60))

    @extend_schema(request=Input, responses={200: inline_serializer("StatusMappingDryRunOutput", {
        "agents": _DryRunRowOutput(many=True)})}, operation_id="status_mapping_dry_run")
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        rows = services.status_mapping_dry_run(tenant=self.tenant, mapping=data.validated_data["mapping"])
        return Response({"agents": [dataclasses.asdict(r) for r in rows]})


class CCStatusListApi(TenantApiMixin, APIView):
    """`GET|POST /api/v1/cc-statuses` (addition): the tenant's CC statuses; admins add
    their own."""

    class Input(serializers.Serializer):
        name = serializers.CharField(max_length=60)
        routable = serializers.BooleanField(required=False, default=False)
        activity = serializers.ChoiceField(choices=Activity.values, required=False, default=Activity.NONE)

    @extend_schema(responses=dict, operation_id="cc_statuses_list")
    def get(self, request):
        services.cc_status_ensure_defaults(tenant=self.tenant)
        return Response({"results": [_cc_status(c) for c in selectors.cc_status_list(tenant=self.tenant)]})

    @extend_schema(request=Input, responses={201: dict}, operation_id="cc_statuses_create")
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        created = services.cc_status_create(tenant=self.tenant, **data.validated_data)
        return Response(_cc_status(created), status=status.HTTP_201_CREATED)


# ---------------------------------------------------------------------------- agents
class AgentListApi(TenantApiMixin, APIView):
    """`GET|POST /api/v1/agents`."""

    class Input(serializers.Serializer):
        email = serializers.EmailField(max_length=254)
        name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    @extend_schema(responses=inline_serializer("AgentListOutput", {"results": AgentOutput(many=True)}),
                   operation_id="agents_list")
    def get(self, request):
        agents = selectors.agent_list(tenant=self.tenant)
        context = {"kustomer_names": selectors.kustomer_status_names(tenant=self.tenant)}
        return Response({"results": AgentOutput(agents, many=True, context=context).data})

    @extend_schema(request=Input, responses={201: AgentOutput}, operation_id="agents_create")
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        agent = services.agent_create(tenant=self.tenant, **data.validated_data)
        return Response(AgentOutput(agent).data, status=status.HTTP_201_CREATED)


class AgentDetailApi(TenantApiMixin, APIView):
    """`GET|DELETE /api/v1/agents/{email}`; another tenant's agent answers 404 (R-A1).
    Removing an agent ends their adapter sign-ins; their status history stays."""

    @extend_schema(responses=AgentOutput, operation_id="agents_get")
    def get(self, request, email: str):
        agent = selectors.agent_get(tenant=self.tenant, email=email)
        context = {"kustomer_names": selectors.kustomer_status_names(tenant=self.tenant)}
        return Response(AgentOutput(agent, context=context).data)

    @extend_schema(responses={204: None}, operation_id="agents_delete")
    def delete(self, request, email: str):
        agent = selectors.agent_get(tenant=self.tenant, email=email)
        services.agent_delete(agent=agent)
        audit_record(tenant=self.tenant, actor=None, action="agent removed", target=agent.email,
                     detail=f"through the API ({request.user})")
        return Response(status=status.HTTP_204_NO_CONTENT)


class AgentStatusHistoryApi(TenantApiMixin, APIView):
    """`GET /api/v1/agents/{email}/status-history` (R-S11), newest first (`?limit=`,
    at most 500)."""

    @extend_schema(responses=inline_serializer("AgentStatusHistoryOutput", {
        "agent_email": serializers.EmailField(), "results": StatusChangeOutput(many=True)}),
        operation_id="agents_status_history")
    def get(self, request, email: str):
        agent = selectors.agent_get(tenant=self.tenant, email=email)
        try:
            limit = max(1, min(500, int(request.query_params.get("limit", 100))))
        except ValueError:
            limit = 100
        changes = selectors.agent_status_history(agent=agent, limit=limit)
        return Response({"agent_email": agent.email, "results": StatusChangeOutput(changes, many=True).data})
