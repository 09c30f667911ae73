from django import forms
from django.contrib.auth.forms import PasswordResetForm

from tenants.models import ApiKeyScope, User
from django.utils.translation import gettext_lazy as _


class TenantCreateForm(forms.Form):
    """Field limits here give form errors; tenants.services.tenant_create checks the
    same again for every other caller."""

    name = forms.CharField(max_length=200)
    slug = forms.SlugField(max_length=60, required=False, help_text=_("Leave empty to derive it from the name."))
    default_region = forms.CharField(max_length=2, initial="US", help_text=_("Two-letter country code for local phone numbers."))
    admin_email = forms.EmailField(label=_("First admin's e-mail"),
                                   help_text=_("They get an invitation link that sets their password."))
    admin_name = forms.CharField(label=_("First admin's name"), max_length=150, required=False)


ROLE_CHOICES = [(User.Role.TENANT_ADMIN, _("Admin")), (User.Role.VIEWER, _("Viewer (read-only, e.g. supervisors)"))]


class UserInviteForm(forms.Form):
    email = forms.EmailField(label=_("E-mail"))
    name = forms.CharField(label=_("Name"), max_length=150, required=False)
    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES, initial=User.Role.TENANT_ADMIN)


class AnyAccountPasswordResetForm(PasswordResetForm):
    """“Forgot password?” also reaches an invited person who never set a password (the
    link works the same way); deactivated accounts get nothing."""

    def get_users(self, email):
        return User.objects.filter(email__iexact=email, is_active=True)

    def send_mail(self, subject_template_name, email_template_name, context, from_email, to_email,
                  html_email_template_name=None):
        """In the person's chosen language; without one, the language of the page that
        asked (the person asking is usually the owner of the address)."""
        from django.conf import settings
        from django.utils import translation

        from tenants.selectors import user_language

        language = user_language(user=context["user"]) or translation.get_language() or settings.LANGUAGE_CODE
        with translation.override(language):
            super().send_mail(subject_template_name, email_template_name, context, from_email, to_email,
                              html_email_template_name)


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text=_("Who uses this key, e.g. 'Telephony events'."))
    scopes = forms.MultipleChoiceField(choices=ApiKeyScope.choices, widget=forms.CheckboxSelectMultiple)
