"""The adapter's API: the contract's agent-status, heartbeat and click-to-call endpoints
(CONTRACT.md, same bodies and answers), authenticated by the adapter token and bound to
its one agent, plus a read of what the adapter shows.

Mounted at /adapter/api/ (not /api/v1/) so the tenant-wide API keeps its own
authentication: an adapter token never acts for another agent or on configuration.
"""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import APIView

from adapter import auth, selectors
from conversations.apis import ClickToCallApi
from tenants.api import TenantApiMixin
from statusmapping.apis import AdapterHeartbeatApi, AgentStatusEventApi
from statusmapping.selectors import normalize_email


class _AdapterAgentMixin:
    """Adapter token only; the body's `agent_email` must be the token's agent."""

    authentication_classes = [auth.AdapterTokenAuthentication]

    def check_own_agent(self, request) -> None:
        user = request.user
        if not isinstance(user, auth.AdapterAgent):
            raise exceptions.NotAuthenticated("Sign in to the adapter first.")
        sent = request.data.get("agent_email") if isinstance(request.data, dict) else None
        if normalize_email(sent or "") != user.agent_email:
            raise exceptions.PermissionDenied("The adapter acts only for the agent signed in to it.")


class AdapterAgentStatusEventApi(_AdapterAgentMixin, AgentStatusEventApi):
    """R-S10: the adapter's status dropdown posts a contact_center status event; R-S4,
    R-S6: the adapter inside Kustomer relays its agent's Kustomer status changes
    (source kustomer) with its instance id."""

    @extend_schema(exclude=True)
    def post(self, request):
        self.check_own_agent(request)
        if not request.data.get("instance_id"):
            raise exceptions.ValidationError({"instance_id": ["The adapter sends its instance id."]})
        return super().post(request)


class AdapterHeartbeatTokenApi(_AdapterAgentMixin, AdapterHeartbeatApi):
    """R-S6 heartbeat; the answer also carries a renewed adapter token."""

    @extend_schema(exclude=True)
    def post(self, request):
        self.check_own_agent(request)
        response = super().post(request)
        response.data["token"] = auth.api_token_make(request.user)
        return response


class AdapterClickToCallApi(_AdapterAgentMixin, ClickToCallApi):
    """R-X2: the agent presses Call."""

    @extend_schema(exclude=True)
    def post(self, request):
        self.check_own_agent(request)
        return super().post(request)


class AdapterStateApi(TenantApiMixin, APIView):
    """`GET /adapter/api/state`: the agent's statuses, live instances and current call."""

    authentication_classes = [auth.AdapterTokenAuthentication]
    read_scope = None

    @extend_schema(exclude=True)
    def get(self, request):
        if not isinstance(request.user, auth.AdapterAgent):
            raise exceptions.NotAuthenticated("Sign in to the adapter first.")
        return Response(selectors.agent_adapter_state(tenant=self.tenant, agent_email=request.user.agent_email))
