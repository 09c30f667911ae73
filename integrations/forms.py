from django import forms
from django.utils.translation import gettext_lazy as _


class KustomerConnectionForm(forms.Form):
    base_url = forms.CharField(
        label=_("Kustomer API base URL"),
        max_length=300,
        help_text=_("Your org's API host, e.g. https://yourorg.api.kustomerapp.com (or the regional https://api.kustomerapp.com / https://api.prod2.kustomerapp.com)."),
    )
    api_key = forms.CharField(
        label=_("API key"),
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_("Stored encrypted and never shown again. Leave empty to keep the current key; a new URL needs the key again."),
    )
    rate_limit_per_minute = forms.IntegerField(
        label=_("Requests per minute (your Kustomer plan)"), min_value=1, max_value=100_000, initial=1000
    )
