from django import forms
from django.utils.translation import gettext_lazy as _


class CredentialsForm(forms.Form):
    username = forms.CharField(max_length=150, help_text=_("What CCAI Platform's settings page calls the username."))


class AgentEmailsForm(forms.Form):
    agent_emails = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 5, "placeholder": "15 = ann@example.com"}),
        label=_("Agents (CCAI Platform agent id = email)"),
        help_text=_("The product knows agents by email; CCAI Platform names them by id. One agent a line."))
