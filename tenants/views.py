"""Portal pages: support staff's tenant list, a tenant's users and API keys, the
invitation and forgotten-password links."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_POST

from core.errors import ApplicationError
from core.public_url import public_url, public_url_parts
from tenants.pages import form_errors_from, support_page, tenant_page
from tenants import selectors, services
from tenants.forms import AnyAccountPasswordResetForm, ApiKeyCreateForm, TenantCreateForm, UserInviteForm
from tenants.models import ApiKeyScope, Tenant, User
from tenants.selectors import SESSION_ACTING_TENANT
from django.utils.translation import gettext as _
from django.utils.translation import gettext


def _portal_url(request) -> str:
    return public_url("/")  # never the request's Host header (core/public_url.py)


@support_page
def support_tenants(request):
    form = TenantCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            tenant, admin = services.tenant_create_with_admin(**form.cleaned_data, actor=request.user,
                                                              portal_url=_portal_url(request))
        except ApplicationError as exc:
            form_errors_from(exc, form)
        else:
            messages.success(request, gettext("Tenant %(name)s created; an invitation went to "
                                              "%(email)s.") % {"name": tenant.name, "email": admin.email})
            return redirect("tenants:support_tenants")
    tenants = (Tenant.objects.select_related("kustomer_connection").order_by("name")
               .annotate(user_count=Count("users", filter=Q(users__is_active=True))))
    return render(request, "tenants/support_tenants.html", {"tenants": tenants, "form": form})


@tenant_page
def users(request):
    """Settings › Users: the tenant's people, their roles, invitations and the audit log."""
    form = UserInviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_invite(tenant=request.tenant, actor=request.user, portal_url=_portal_url(request),
                                        **form.cleaned_data)
        except ApplicationError as exc:
            form_errors_from(exc, form)
        else:
            messages.success(request, gettext("Invitation sent to %(email)s; the link in it "
                                              "sets their password.") % {"email": user.email})
            return redirect("tenants:users")
    return render(request, "tenants/users.html", {
        "people": selectors.user_list(tenant=request.tenant), "form": form,
        "audit": selectors.audit_list(tenant=request.tenant), "roles": UserInviteForm.base_fields["role"].choices,
    })


@tenant_page
@require_POST
def user_change(request, user_id: int):
    """One change of one person (`action`: role | deactivate | reactivate | resend)."""
    person = selectors.user_get(tenant=request.tenant, user_id=user_id)
    action = request.POST.get("action", "")
    try:
        if action == "role":
            services.user_role_set(user=person, role=request.POST.get("role", ""), actor=request.user)
            messages.success(request, gettext("%(username)s is now %(role)s.")
                                      % {"username": person.get_username(), "role": person.role_label})
        elif action in ("deactivate", "reactivate"):
            services.user_active_set(user=person, active=action == "reactivate", actor=request.user)
            messages.success(request, (gettext("%(username)s can log in again.") if person.is_active
                              else gettext("%(username)s can no longer log in.")) % {"username": person.get_username()})
        elif action == "resend":
            services.invitation_resend(user=person, actor=request.user, portal_url=_portal_url(request))
            messages.success(request, gettext("Invitation sent to %(email)s again.") % {"email": person.email})
        else:
            messages.error(request, _("Unknown action."))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("tenants:users")


class InvitationAcceptView(auth_views.PasswordResetConfirmView):
    """The one-time link of an invitation or a “Forgot password?” e-mail: the person
    sets a password (Django's password validators) and logs in with it."""

    template_name = "tenants/set_password.html"
    success_url = reverse_lazy("login")
    reset_url_token = "set-password"

    def form_valid(self, form):
        response = super().form_valid(form)
        user = form.user
        services.audit_record(tenant=user.tenant, actor=user, action="password set", target=user.get_username())
        messages.success(self.request, gettext("Password set. Log in with it now."))
        return response


class PasswordForgotView(auth_views.PasswordResetView):
    form_class = AnyAccountPasswordResetForm
    template_name = "tenants/password_forgot.html"
    email_template_name = "tenants/password_reset_email.txt"
    subject_template_name = "tenants/password_reset_subject.txt"
    success_url = reverse_lazy("tenants:password_forgot_sent")

    def form_valid(self, form):
        # Django builds the link from the request's Host; ours comes from
        # PORTAL_PUBLIC_URL (core/public_url.py), so a forged Host cannot redirect it.
        protocol, domain = public_url_parts()
        self.extra_email_context = {"protocol": protocol, "domain": domain}
        return super().form_valid(form)


@support_page
@require_POST
def support_tenant_open(request, slug: str):
    tenant = get_object_or_404(Tenant, slug=slug)
    request.session[SESSION_ACTING_TENANT] = tenant.pk
    messages.success(request, gettext("You are now working on %(name)s.") % {"name": tenant.name})
    return redirect("home")


# Session key of an API key's plain text just created: shown once, on the next GET.
NEW_KEY_SESSION = "new_api_key"


@tenant_page
def api_keys(request):
    """Create answers with a redirect (a reload creates nothing); the new secret is
    shown once, on the page the redirect leads to."""
    form = ApiKeyCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            key, plain = services.api_key_create(
                tenant=request.tenant, created_by=request.user, **form.cleaned_data
            )
        except ApplicationError as exc:
            form_errors_from(exc, form)
        else:
            services.audit_record(tenant=request.tenant, actor=request.user, action="API key created",
                                  target=key.name, detail=f"ccp_{key.prefix}_…, scopes {', '.join(key.scopes)}")
            request.session[NEW_KEY_SESSION] = {"name": key.name, "plain": plain}
            messages.success(request, gettext("API key '%(name)s' created. Copy it now: it will "
                                              "not be shown again.") % {"name": key.name})
            return redirect("tenants:api_keys")
    keys = selectors.api_key_list(tenant=request.tenant)
    return render(request, "tenants/api_keys.html", {
        "keys": keys, "form": form, "new_key": request.session.pop(NEW_KEY_SESSION, None),
        "scope_labels": dict(ApiKeyScope.choices)})


@tenant_page
def api_key_revoke(request, key_id: int):
    """GET asks for confirmation and says what stops working; POST revokes."""
    key = selectors.api_key_get(tenant=request.tenant, key_id=key_id)
    if request.method == "POST":
        services.api_key_revoke(key=key)
        services.audit_record(tenant=request.tenant, actor=request.user, action="API key revoked", target=key.name,
                              detail=f"ccp_{key.prefix}_…")
        messages.success(request, gettext("API key '%(name)s' revoked: requests with it are now "
                                          "refused.") % {"name": key.name})
        return redirect("tenants:api_keys")
    return render(request, "tenants/api_key_revoke.html", {
        "key": key, "stops": [label for value, label in ApiKeyScope.choices if value in key.scopes]})
