"""R-O4 mapping tools: the status map and two-way choices exported as a file (by status
names), imported into another tenant (validated first, all or nothing, against the
tenant's configuration version), and a dry run of a proposed map over the agents."""
from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from core.errors import ApplicationError
from statusmapping import mapping_file, mapping_rules, rules, selectors
from statusmapping.models import CCStatus, KustomerStatus
from statusmapping.services.config import cc_status_ensure_defaults, status_mapping_save
from tenants.models import Tenant
from tenants.services import tenant_config_changed, tenant_config_check


def status_mapping_export(*, tenant: Tenant) -> str:
    """The tenant's map and two-way choices as a mapping file's text (R-O4)."""
    cc_status_ensure_defaults(tenant=tenant)
    cc = list(selectors.cc_status_list(tenant=tenant))
    kustomer = [k for k in selectors.kustomer_status_list(tenant=tenant) if k.removed_at is None]
    names = {k.kustomer_id: k.name for k in kustomer}
    return mapping_file.mapping_file_build(
        tenant=tenant.slug, exported_at=timezone.now().isoformat(timespec="seconds"),
        cc_statuses=[mapping_file.CCStatusSpec(name=c.name, routable=c.routable, activity=c.activity) for c in cc],
        mapping=[(k.name, k.cc_status.name if k.cc_status_id else None) for k in kustomer],
        push=[(c.name, names.get(c.push_kustomer_status_id)) for c in cc],
    )


@dataclass(frozen=True)
class ImportPlan:
    """A file resolved against a tenant: ids to save, CC statuses to add."""

    mapping: dict[str, str | None]  # Kustomer id → CC status name
    push: dict[str, str | None]  # CC status name → Kustomer id
    new_cc_statuses: tuple[mapping_file.CCStatusSpec, ...]
    unmentioned: tuple[str, ...]  # the tenant's Kustomer statuses the file leaves unmapped


def _import_errors(errors: list[mapping_file.FileError]) -> ApplicationError:
    return ApplicationError(
        gettext("Nothing was imported: fix the entries below."),
        errors={f"{e.entry}" + (f" (line {e.line})" if e.line else ""): [e.message] for e in errors},
    )


def status_mapping_import_plan(*, tenant: Tenant, text: str | bytes) -> ImportPlan:
    """Read a mapping file and match its names to the tenant's statuses; every problem
    is raised at once, per entry with its line (ApplicationError)."""
    parsed, errors = mapping_file.mapping_file_parse(text)
    if parsed is None:
        raise _import_errors(errors)
    cc_status_ensure_defaults(tenant=tenant)
    cc_names = {c.name.lower(): c.name for c in CCStatus.objects.filter(tenant=tenant)}
    new_cc = tuple(s for s in parsed.cc_statuses if s.name.lower() not in cc_names)
    known_cc = cc_names | {s.name.lower(): s.name for s in new_cc}
    present = {k.name.lower(): k for k in KustomerStatus.objects.filter(tenant=tenant, removed_at__isnull=True)}
    problems: list[mapping_file.FileError] = []
    mapping: dict[str, str | None] = {}
    for i, (k_name, cc_name) in enumerate(parsed.mapping.items()):
        line = parsed.lines.get(f"mapping:{k_name.lower()}")
        k = present.get(k_name.lower())
        if k is None:
            problems.append(mapping_file.FileError(
                f"mapping[{i}]", line, gettext("This tenant's Kustomer org has no status named "
                                               "%(k_name)s (refresh the statuses from Kustomer, "
                                               "or remove the entry).") % {"k_name": k_name}))
            continue
        if cc_name is not None and cc_name.lower() not in known_cc:
            problems.append(mapping_file.FileError(
                f"mapping[{i}]", line, gettext("No CC status named %(cc_name)s (in this tenant "
                                               "or in the file's cc_statuses).") % {"cc_name": cc_name}))
            continue
        mapping[k.kustomer_id] = known_cc[cc_name.lower()] if cc_name else None
    push: dict[str, str | None] = {}
    for i, (cc_name, k_name) in enumerate(parsed.push.items()):
        line = parsed.lines.get(f"push:{cc_name.lower()}")
        if cc_name.lower() not in known_cc:
            problems.append(mapping_file.FileError(f"push[{i}]", line, gettext("No CC status "
                                                                               "named "
                                                                               "%(cc_name)s.") % {"cc_name": cc_name}))
            continue
        k = present.get(k_name.lower()) if k_name else None
        if k_name and k is None:
            problems.append(mapping_file.FileError(
                f"push[{i}]", line, gettext("This tenant's Kustomer org has no status named "
                                            "%(k_name)s.") % {"k_name": k_name}))
            continue
        push[known_cc[cc_name.lower()]] = k.kustomer_id if k else None
    if problems:
        raise _import_errors(problems)
    unmentioned = tuple(sorted(k.name for k in present.values() if k.kustomer_id not in mapping))
    return ImportPlan(mapping=mapping, push=push, new_cc_statuses=new_cc, unmentioned=unmentioned)


def status_mapping_import(*, tenant: Tenant, text: str | bytes, expected_version: int | None = None) -> ImportPlan:
    """R-O4: replace the tenant's map (and two-way choices the file names) with the
    file's, adding the CC statuses it needs; all or nothing. `expected_version`: the
    configuration version the admin looked at (a stale tab is refused, as
    `status_mapping_save`)."""
    plan = status_mapping_import_plan(tenant=tenant, text=text)
    with transaction.atomic():
        tenant_config_check(tenant=tenant, expected_version=expected_version)
        if plan.new_cc_statuses:
            tenant_config_changed(tenant=tenant)
            CCStatus.objects.bulk_create([
                CCStatus(tenant=tenant, name=s.name, routable=s.routable, activity=s.activity, position=1000 + i)
                for i, s in enumerate(plan.new_cc_statuses)
            ])
        present = set(KustomerStatus.objects.filter(tenant=tenant, removed_at__isnull=True)
                      .values_list("kustomer_id", flat=True))
        current_push = {c.name: c.push_kustomer_status_id if c.push_kustomer_status_id in present else None
                        for c in CCStatus.objects.filter(tenant=tenant)}
        status_mapping_save(tenant=tenant, mapping=plan.mapping, push=current_push | plan.push)
    return plan


@dataclass(frozen=True)
class DryRunRow:
    email: str
    name: str
    kustomer_status: str
    current: str | None
    would_be: str | None
    changes: bool
    decision: str
    reason: str


def status_mapping_dry_run(
    *, tenant: Tenant, mapping: dict[str, str | None],
    new_cc_statuses: tuple[mapping_file.CCStatusSpec, ...] = (),
) -> list[DryRunRow]:
    """R-O4: each agent's current CC status and the one the agent's current Kustomer
    status would give under `mapping` (Kustomer id → CC status name; a status left out
    is unmapped; `new_cc_statuses`: those an import would add). Nothing is saved."""
    config = selectors.status_config_read(tenant=tenant)
    infos = dict(config.status_map.cc_statuses)
    infos.update({s.name: rules.CCStatusInfo(name=s.name, routable=s.routable, activity=s.activity)
                  for s in new_cc_statuses})
    by_lower = {name.lower(): name for name in infos}
    errors = {f"mapping.{kid}": [gettext("No CC status named %(name)s.")
                                 % {"name": name}] for kid, name in mapping.items()
              if name and name.lower() not in by_lower}
    if errors:
        raise ApplicationError(gettext("The dry run needs known CC statuses."), errors=errors)
    proposed = rules.StatusMap(
        kustomer_to_cc={kid: by_lower[name.lower()] for kid, name in mapping.items() if name},
        cc_statuses=infos, push_as=config.status_map.push_as,
    )
    now = timezone.now()
    rows = []
    for agent in selectors.agent_list(tenant=tenant):
        state = selectors.agent_rule_state(agent, config.cc_by_id)
        outcome = mapping_rules.preview_status(settings=config.settings, status_map=proposed, agent=state,
                                       live_instances=agent.live_instances, now=now, translate=gettext)
        rows.append(DryRunRow(
            email=agent.email, name=agent.name, kustomer_status=config.kustomer_names.get(agent.kustomer_status_id, ""),
            current=state.cc_status, would_be=outcome.cc_status,
            changes=outcome.cc_status != state.cc_status, decision=outcome.decision.value, reason=outcome.reason,
        ))
    return rows
