"""Portal page: Settings › Developer settings › Custom fields for Account and Record."""
from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.utils.translation import gettext

from customfields import rules, selectors, services
from customfields.forms import SdkFieldForm
from customfields.models import CustomField
from integrations.selectors import kustomer_connection_exists
from core.errors import ApplicationError, NotFoundError
from tenants.pages import form_errors_from, tenant_page


def _page(request, form: SdkFieldForm, *, status: int = 200):
    tenant = request.tenant
    catalogue = selectors.custom_field_catalogue(tenant=tenant)
    sdk_fields = list(selectors.custom_field_list(tenant=tenant).filter(kind=CustomField.Kind.SDK))
    live = [row.field for row in catalogue if row.field] + sdk_fields
    context = {
        "account_rows": [row for row in catalogue if row.definition.klass is rules.Klass.CUSTOMER],
        "record_rows": [row for row in catalogue if row.definition.klass is rules.Klass.MESSAGE],
        "sdk_fields": sdk_fields,
        "form": form,
        "any_pending": any(f.state == CustomField.State.PENDING for f in live),
        "connected": kustomer_connection_exists(tenant=tenant),
    }
    return render(request, "customfields/list.html", context, status=status)


@tenant_page
def custom_field_list(request):
    """The catalogue and SDK fields with their state; POST adds an SDK field."""
    form = SdkFieldForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            field = services.custom_field_create_for_sdk(
                tenant=request.tenant,
                sdk_key=form.cleaned_data["sdk_key"],
                display_name=form.cleaned_data["display_name"],
                value_type=form.cleaned_data["type"],
                klass=form.cleaned_data["klass"],
            )
        except ApplicationError as exc:
            form_errors_from(exc, form)
        else:
            messages.success(
                request, gettext("Creating '%(display_name)s' as %(attribute_name)s in "
                                 "Kustomer. Its state shows below.")
                                 % {"display_name": field.display_name, "attribute_name": field.attribute_name}
            )
            return redirect("customfields:list")
    return _page(request, form, status=400 if form.errors else 200)


@tenant_page
@require_POST
def custom_field_create(request, key: str):
    try:
        field = services.custom_field_create_from_catalogue(tenant=request.tenant, key=key)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, gettext("Creating '%(display_name)s' as %(attribute_name)s in "
                                          "Kustomer. Its state shows below.")
                                          % {"display_name": field.display_name, "attribute_name": field.attribute_name})
    return redirect("customfields:list")


@tenant_page
@require_POST
def custom_field_retry(request, field_id: int):
    try:
        field = services.custom_field_retry(tenant=request.tenant, field_id=field_id)
    except NotFoundError:
        raise Http404("No such custom field.") from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, gettext("Trying again to create '%(display_name)s' in Kustomer.")
                                  % {"display_name": field.display_name})
    return redirect("customfields:list")


@tenant_page
@require_POST
def custom_field_delete(request, field_id: int):
    try:
        field = services.custom_field_delete(tenant=request.tenant, field_id=field_id)
    except NotFoundError:
        raise Http404("No such custom field.") from None
    messages.success(
        request,
        gettext("Deleted '%(display_name)s': no more values are sent to it. Kustomer keeps the "
                "attribute %(attribute_name)s and the data already in it.")
                % {"display_name": field.display_name, "attribute_name": field.attribute_name},
    )
    return redirect("customfields:list")


@tenant_page
def backfill(request):
    """R-O3: Custom fields › Backfill: fill a field for past sessions; each job's progress
    (done / total, rate, time left), Cancel, and its result counts."""
    from customfields.forms import BackfillForm

    tenant = request.tenant
    form = BackfillForm(request.POST or None, fields=selectors.backfill_fields(tenant=tenant))
    if request.method == "POST" and form.is_valid():
        try:
            job = services.backfill_start(tenant=tenant, field_id=form.cleaned_data["field"],
                                          days=form.cleaned_data["days"])
        except NotFoundError:
            form.add_error("field", _("No such custom field."))
        except ApplicationError as exc:
            form_errors_from(exc, form)
        else:
            messages.success(request, _("Backfill of %(name)s started.") % {"name": job.field.display_name})
            return redirect("customfields:backfill")
    from datetime import timedelta

    from core.text import duration_text

    jobs = []
    for job in selectors.backfill_jobs_recent(tenant=tenant):
        progress = selectors.backfill_progress(job)
        left = duration_text(timedelta(seconds=progress.seconds_left)) if progress.seconds_left is not None else ""
        jobs.append({"job": job, "progress": progress, "left": left})
    return render(request, "customfields/backfill.html", {
        "form": form, "jobs": jobs, "any_active": any(row["job"].is_active for row in jobs),
        "connected": kustomer_connection_exists(tenant=tenant),
    }, status=400 if form.errors else 200)


@tenant_page
@require_POST
def backfill_cancel(request, job_id: int):
    try:
        services.backfill_cancel(tenant=request.tenant, job_id=job_id)
    except NotFoundError:
        raise Http404("No such backfill.") from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Backfill cancelled: what it wrote stays in Kustomer."))
    return redirect("customfields:backfill")
