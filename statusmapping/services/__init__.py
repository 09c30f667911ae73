"""Writes of agent status inheritance (SPEC §3), one module per seam:

- config: settings, contact-center statuses, Kustomer statuses, the status map
- mapping_tools: the status map's export, import and dry run (R-O4)
- agents: agents, their Kustomer users and adapter heartbeats
- engine: the request-time decision of one status change (compare-and-set)
- kustomer_sync: two-way pushes to Kustomer and the routing prerequisites
- watcher: following Kustomer's work sessions
- sign_in: inheriting Kustomer's status when an agent signs in

Request side (fast, local, no Kustomer call): config, agents, engine. Task side (Celery,
calls Kustomer): kustomer_sync, watcher, sign_in and the Kustomer status refresh.
The names below are the app's public writes.
"""
from statusmapping.services.agents import (
    adapter_heartbeat_record,
    adapter_instances_forget,
    agent_create,
    agent_delete,
    agent_kustomer_user_resolve,
    agent_update,
    kustomer_user_id_for_email,
)
from statusmapping.services.config import (
    DEFAULT_CC_STATUSES,
    NoKustomerConnection,
    cc_status_create,
    cc_status_ensure_defaults,
    cc_status_remove,
    cc_status_rename,
    inheritance_settings_ensure,
    kustomer_status_alerts_email,
    kustomer_statuses_refresh,
    kustomer_statuses_refresh_request,
    status_inheritance_availability_set,
    status_inheritance_update,
    status_mapping_save,
    two_way_prerequisites_check_request,
)
from statusmapping.services.mapping_tools import (
    status_mapping_dry_run,
    status_mapping_export,
    status_mapping_import,
    status_mapping_import_plan,
)
from statusmapping.services.engine import (
    agent_status_change_record,
    agents_damped_release,
)
from statusmapping.services.kustomer_sync import (
    agent_pushes_sweep,
    agent_status_push,
    two_way_prerequisites_check,
)
from statusmapping.services.sign_in import (
    agent_sign_in_inherit,
)
from statusmapping.services.watcher import (
    status_watch_due_tenants,
    status_watch_tenant,
)

__all__ = [
    "adapter_heartbeat_record",
    "adapter_instances_forget",
    "agent_create",
    "agent_delete",
    "agent_kustomer_user_resolve",
    "agent_update",
    "cc_status_remove",
    "cc_status_rename",
    "DEFAULT_CC_STATUSES",
    "NoKustomerConnection",
    "cc_status_create",
    "cc_status_ensure_defaults",
    "inheritance_settings_ensure",
    "kustomer_status_alerts_email",
    "kustomer_statuses_refresh",
    "kustomer_statuses_refresh_request",
    "status_inheritance_availability_set",
    "status_inheritance_update",
    "status_mapping_save",
    "status_mapping_dry_run",
    "status_mapping_export",
    "status_mapping_import",
    "status_mapping_import_plan",
    "two_way_prerequisites_check_request",
    "agent_status_change_record",
    "agents_damped_release",
    "kustomer_user_id_for_email",
    "agent_pushes_sweep",
    "agent_status_push",
    "two_way_prerequisites_check",
    "agent_sign_in_inherit",
    "status_watch_due_tenants",
    "status_watch_tenant",
]
