"""Portal pages of status inheritance: Developer settings › Agent status, Status mapping
› Set and manage, Agents (live) and an agent's history; Support › Status inheritance."""
from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from integrations.selectors import kustomer_connection_exists
from core.errors import ApplicationError, NotFoundError
from tenants.pages import form_errors_from, support_page, tenant_page
from statusmapping import selectors, services
from statusmapping.forms import AgentForm, CCStatusForm, CCStatusRenameForm, StatusInheritanceForm
from statusmapping.models import Direction, StatusInheritanceSettings
from tenants.models import Tenant
from tenants.services import audit_record
from django.utils.translation import gettext as _
from django.utils.translation import gettext


def _posted_version(request) -> int | None:
    """The configuration version a whole-set form was built from (optimistic
    concurrency: tenants.services.tenant_config_check)."""
    try:
        return int(request.POST["config_version"])
    except (KeyError, ValueError):
        return None


def _stale(exc: ApplicationError) -> bool:
    return "config_version" in exc.errors


# ------------------------------------------------------------------------------ settings
def _settings_initial(current) -> dict:
    return {
        "enabled": current.enabled, "priority": current.priority, "direction": current.direction,
        "inherit_on_login": current.inherit_on_login, "watch_interval_seconds": current.watch_interval_seconds,
        "sign_out_status": current.sign_out_cc_status.name if current.sign_out_cc_status_id else "",
        "flap_max_changes": current.flap_max_changes, "flap_hold_seconds": current.flap_hold_seconds,
        "email_new_unmapped_statuses": current.email_new_unmapped_statuses,
    }


def _settings_form(request, current, data=None) -> StatusInheritanceForm:
    names = [s.name for s in selectors.cc_status_list(tenant=request.tenant) if s.activity == "none"]
    return StatusInheritanceForm(data, initial=_settings_initial(current), available=current.available,
                                 cc_statuses=names)


@tenant_page
def settings_page(request):
    current = selectors.inheritance_settings_get(tenant=request.tenant)
    form = _settings_form(request, current, request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        if not current.available:
            data.pop("enabled")  # disabled field: keep what is stored
        try:
            services.status_inheritance_update(tenant=request.tenant, expected_version=_posted_version(request), **data)
        except ApplicationError as exc:
            if _stale(exc):
                # A stale tab: nothing saved; the current values replace what it sent.
                messages.error(request, exc.message)
                request.tenant.refresh_from_db(fields=["config_version"])
                current = selectors.inheritance_settings_get(tenant=request.tenant)
                form = _settings_form(request, current)
                status = 409
            else:
                form_errors_from(exc, form)
        else:
            messages.success(request, _("Agent status settings saved."))
            if data["direction"] == Direction.TWO_WAY and data.get("enabled", current.enabled):
                messages.info(request, _("Two-way sync: Kustomer's prerequisites are being checked; see below."))
            return redirect("statusmapping:settings")
    checking = current.enabled and current.direction == Direction.TWO_WAY and current.two_way_checked_at is None
    return render(request, "statusmapping/settings.html", {
        "form": form, "current": current, "checking": checking, "config_version": request.tenant.config_version,
        "connected": kustomer_connection_exists(tenant=request.tenant),
    }, status=status)


@tenant_page
@require_POST
def two_way_check(request):
    try:
        services.two_way_prerequisites_check_request(tenant=request.tenant)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        StatusInheritanceSettings.objects.filter(tenant=request.tenant).update(two_way_checked_at=None)
        messages.success(request, _("Checking Kustomer's two-way prerequisites again; this page shows the result."))
    return redirect("statusmapping:settings")


# ------------------------------------------------------------------------------ mapping
@tenant_page
def mapping_page(request):
    tenant = request.tenant
    services.cc_status_ensure_defaults(tenant=tenant)
    def stored():
        kustomer = list(selectors.kustomer_status_list(tenant=tenant))
        cc = list(selectors.cc_status_list(tenant=tenant))
        return (kustomer, cc, {k.kustomer_id: (k.cc_status.name if k.cc_status_id else "") for k in kustomer},
                {c.name: c.push_kustomer_status_id for c in cc})

    kustomer, cc, chosen, push = stored()
    errors: dict[str, list[str]] = {}
    status = 200
    dry_run = None
    if request.method == "POST" and "dry_run" in request.POST:
        # R-O4: what each agent's status would become under the map in the form; not saved.
        chosen = {k.kustomer_id: request.POST.get(f"map:{k.kustomer_id}", "") for k in kustomer}
        try:
            dry_run = services.status_mapping_dry_run(tenant=tenant, mapping={k: (v or None) for k, v in chosen.items()})
        except ApplicationError as exc:
            errors = exc.errors
    elif request.method == "POST":
        chosen = {k.kustomer_id: request.POST.get(f"map:{k.kustomer_id}", "") for k in kustomer}
        push_posted = "push-shown" in request.POST
        if push_posted:
            push = {c.name: request.POST.get(f"push:{c.name}", "") for c in cc}
        try:
            services.status_mapping_save(
                tenant=tenant, mapping={kid: (v or None) for kid, v in chosen.items()},
                push={name: (v or None) for name, v in push.items()} if push_posted else None,
                expected_version=_posted_version(request),
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
            if _stale(exc):
                # A stale tab: nothing saved; the current map replaces what it sent.
                tenant.refresh_from_db(fields=["config_version"])
                kustomer, cc, chosen, push = stored()
                status = 409
            else:
                errors = exc.errors
        else:
            messages.success(request, _("Status mapping saved."))
            return redirect("statusmapping:mapping")
    settings = selectors.inheritance_settings_get(tenant=tenant)
    rows = [{"status": k, "chosen": chosen.get(k.kustomer_id, ""), "errors": errors.get(f"mapping.{k.kustomer_id}", [])}
            for k in kustomer]
    push_rows = [{"status": c, "chosen": push.get(c.name, ""), "errors": errors.get(f"push.{c.name}", [])} for c in cc]
    return render(request, "statusmapping/mapping.html", {
        "rows": rows, "push_rows": push_rows, "cc_statuses": cc,
        "present_kustomer": [k for k in kustomer if k.removed_at is None],
        "warnings": selectors.status_mapping_warnings(tenant=tenant), "settings": settings,
        "two_way": settings.direction == Direction.TWO_WAY,
        "connected": kustomer_connection_exists(tenant=tenant),
        "cc_form": CCStatusForm(), "config_version": tenant.config_version, "dry_run": dry_run,
    }, status=status)


@tenant_page
def mapping_export(request):
    """R-O4: the map and two-way choices as a file (by status names)."""
    response = HttpResponse(services.status_mapping_export(tenant=request.tenant),
                            content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="status-mapping-{request.tenant.slug}.json"'
    return response


@tenant_page
def mapping_import(request):
    """R-O4: a mapping file imported into this tenant; "Dry run" shows each agent's
    would-be status without saving; errors per entry with their line; all or nothing."""
    tenant = request.tenant
    context = {"config_version": tenant.config_version}
    status = 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, _("Choose a mapping file."))
        elif upload.size > 1_000_000:
            messages.error(request, _("A mapping file is at most 1 MB."))
        else:
            text = upload.read()
            try:
                if "dry_run" in request.POST:
                    plan = services.status_mapping_import_plan(tenant=tenant, text=text)
                else:
                    plan = services.status_mapping_import(tenant=tenant, text=text,
                                                          expected_version=_posted_version(request))
                context["dry_run"] = services.status_mapping_dry_run(
                    tenant=tenant, mapping=plan.mapping, new_cc_statuses=plan.new_cc_statuses)
            except ApplicationError as exc:
                messages.error(request, exc.message)
                context["errors"] = [(entry, msgs) for entry, msgs in exc.errors.items()]
                status = 409 if _stale(exc) else 400
                tenant.refresh_from_db(fields=["config_version"])
                context["config_version"] = tenant.config_version
            else:
                context["plan"] = plan
                if "dry_run" in request.POST:
                    context["tried"] = True
                else:
                    audit_record(tenant=tenant, actor=request.user, action="Status mapping imported",
                                 target=upload.name or "",
                                 detail=", ".join(f"added {s.name}" for s in plan.new_cc_statuses))
                    messages.success(request, _("Status mapping imported."))
                    tenant.refresh_from_db(fields=["config_version"])
                    context["config_version"] = tenant.config_version
    return render(request, "statusmapping/mapping_import.html", context, status=status)


@tenant_page
@require_POST
def kustomer_statuses_refresh(request):
    try:
        services.kustomer_statuses_refresh_request(tenant=request.tenant)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Reading the statuses from Kustomer now; reload in a moment to see them."))
    return redirect("statusmapping:mapping")


@tenant_page
@require_POST
def cc_status_create(request):
    form = CCStatusForm(request.POST)
    if form.is_valid():
        try:
            status = services.cc_status_create(tenant=request.tenant, **form.cleaned_data)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, gettext("CC status %(name)s added.") % {"name": status.name})
    else:
        messages.error(request, "; ".join(f"{f}: {' '.join(e)}" for f, e in form.errors.items()))
    return redirect("statusmapping:mapping")


@tenant_page
def cc_status_edit(request, status_id: int):
    """Rename or remove a CC status, with what it affects listed first."""
    try:
        status = selectors.cc_status_get(tenant=request.tenant, status_id=status_id)
    except NotFoundError:
        raise Http404("No such CC status.") from None
    form = CCStatusRenameForm(request.POST or None, initial={"name": status.name})
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "remove":
                name = status.name
                services.cc_status_remove(status=status)
                audit_record(tenant=request.tenant, actor=request.user, action="CC status removed", target=name)
                messages.success(request, gettext("CC status %(name)s removed.") % {"name": name})
                return redirect("statusmapping:mapping")
            if form.is_valid():
                before = status.name
                services.cc_status_rename(status=status, name=form.cleaned_data["name"])
                audit_record(tenant=request.tenant, actor=request.user, action="CC status renamed", target=status.name,
                             detail=f"was {before}")
                messages.success(request, gettext("CC status %(before)s is now called %(name)s.")
                                          % {"before": before, "name": status.name})
                return redirect("statusmapping:mapping")
        except ApplicationError as exc:
            form_errors_from(exc, form)
    return render(request, "statusmapping/cc_status_edit.html", {
        "status": status, "form": form, "usage": selectors.cc_status_usage(status=status)})


# ------------------------------------------------------------------------------ agents
@tenant_page
def agents_page(request):
    form = AgentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            agent = services.agent_create(tenant=request.tenant, **form.cleaned_data)
        except ApplicationError as exc:
            form_errors_from(exc, form)
        else:
            messages.success(request, gettext("Agent %(email)s added; their Kustomer user is "
                                              "being looked up by email.") % {"email": agent.email})
            return redirect("statusmapping:agents")
    context = {"agents": selectors.agent_list_with_statuses(tenant=request.tenant), "form": form}
    if request.GET.get("fragment") == "rows":
        # The page polls this to stay live without reloading (and losing a typed form).
        return render(request, "statusmapping/_agent_rows.html", context)
    return render(request, "statusmapping/agents.html", context)


def _agent_or_404(request, agent_id: int):
    agent = selectors.agent_get_by_id(tenant=request.tenant, agent_id=agent_id)
    if agent is None:
        raise Http404("No such agent.")
    return agent


@tenant_page
def agent_edit(request, agent_id: int):
    agent = _agent_or_404(request, agent_id)
    form = AgentForm(request.POST or None, initial={"email": agent.email, "name": agent.name})
    if request.method == "POST" and form.is_valid():
        before = agent.email
        try:
            services.agent_update(agent=agent, **form.cleaned_data)
        except ApplicationError as exc:
            form_errors_from(exc, form)
        else:
            relinked = agent.email != before
            audit_record(tenant=request.tenant, actor=request.user, action="agent changed", target=agent.email,
                         detail=f"email was {before}" if relinked else "")
            messages.success(request, (gettext("Agent %(email)s saved. Their Kustomer user is being looked up by the new email.")
                                      if relinked else gettext("Agent %(email)s saved.")) % {"email": agent.email})
            return redirect("statusmapping:agents")
    return render(request, "statusmapping/agent_edit.html", {"agent": agent, "form": form})


@tenant_page
def agent_remove(request, agent_id: int):
    """GET asks for confirmation; POST removes (history kept, adapter sign-ins ended)."""
    agent = _agent_or_404(request, agent_id)
    if request.method == "POST":
        email = agent.email
        services.agent_delete(agent=agent)
        audit_record(tenant=request.tenant, actor=request.user, action="agent removed", target=email)
        messages.success(request, gettext("Agent %(email)s removed. Their status history stays.") % {"email": email})
        return redirect("statusmapping:agents")
    return render(request, "statusmapping/agent_remove.html", {"agent": agent})


@tenant_page
def agent_history_page(request, agent_id: int):
    agent = _agent_or_404(request, agent_id)
    agent.kustomer_status_name = selectors.kustomer_status_names(tenant=request.tenant).get(agent.kustomer_status_id, "")
    agent.agreement = selectors.agent_status_agreement(agent=agent, config=selectors.status_config_read(tenant=request.tenant))
    return render(request, "statusmapping/agent_history.html", {
        "agent": agent, "changes": selectors.agent_status_history(agent=agent, limit=200),
    })


# ------------------------------------------------------------------------------ support
@support_page
def support_tenants(request):
    tenants = Tenant.objects.select_related("status_inheritance").order_by("name")
    return render(request, "statusmapping/support_tenants.html", {"tenants": tenants})


@support_page
@require_POST
def support_availability(request, slug: str):
    tenant = get_object_or_404(Tenant, slug=slug)
    available = request.POST.get("available") == "1"
    services.status_inheritance_availability_set(tenant=tenant, available=available,
                                                 changed_by=request.user.get_username())
    messages.success(
        request,
        f"CRM status inheritance is now {'available' if available else 'not available'} to {tenant.name}."
        + (" Its admin can turn it on in Developer settings › Agent status." if available else ""),
    )
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return redirect(target)
    return redirect("statusmapping:support_tenants")
