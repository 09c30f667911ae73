from django import forms

from tenants.models import ApiKeyScope


class TenantCreateForm(forms.Form):
    name = forms.CharField(max_length=200)
    slug = forms.SlugField(max_length=60, required=False, help_text="Leave empty to derive it from the name.")
    default_region = forms.CharField(max_length=2, initial="US", help_text="Two-letter country code for local phone numbers.")


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Who uses this key, e.g. 'Telephony events'.")
    scopes = forms.MultipleChoiceField(choices=ApiKeyScope.choices, widget=forms.CheckboxSelectMultiple)
