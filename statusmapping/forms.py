from django import forms

from statusmapping.models import Activity, Direction, Priority
from django.utils.translation import gettext_lazy as _


class StatusInheritanceForm(forms.Form):
    enabled = forms.BooleanField(label=_("Kustomer user status inheritance"), required=False)
    priority = forms.ChoiceField(
        label=_("Set agent status priority"), choices=Priority.choices, widget=forms.RadioSelect,
        help_text=_("Latest wins: changes from Kustomer and the contact center apply in the order they happened. "
                  "CRM overrides: after a call or wrap-up the agent gets the status mapped from Kustomer."),
    )
    direction = forms.ChoiceField(
        label=_("Sync direction"), choices=Direction.choices, widget=forms.RadioSelect,
        help_text=_("Two-way also sends contact-center status changes to the agent's Kustomer work session; "
                  "it needs team routing and an external queue in Kustomer (checked below)."),
    )
    inherit_on_login = forms.BooleanField(
        label=_("Inherit status on login"), required=False,
        help_text=_("When an agent signs in to the contact center, their current Kustomer status applies."),
    )
    watch_interval_seconds = forms.IntegerField(
        label=_("Check Kustomer work sessions every (seconds)"), min_value=1, max_value=3600,
        help_text=_("A safety net for missed adapter events; stretched automatically to stay within your "
                  "Kustomer rate limit."),
    )

    sign_out_status = forms.ChoiceField(
        label=_("When an agent signs out of Kustomer"), required=False,
        help_text=_("Set the agent's contact-center status to this one when their Kustomer work session ends "
                  "(never during a call: it then applies when the call ends)."),
    )
    flap_max_changes = forms.IntegerField(
        label=_("Hold a flapping status after this many changes a minute"), min_value=0, max_value=100, required=False,
        help_text=_("An agent whose status changes more often than this within a minute stays at the last one "
                  "for the hold below; the latest change then applies. 0 turns the guard off."),
    )
    flap_hold_seconds = forms.IntegerField(label=_("Hold for (seconds)"), min_value=5, max_value=600, required=False)
    email_new_unmapped_statuses = forms.BooleanField(
        label=_("E-mail the admins about new Kustomer statuses"), required=False,
        help_text=_("When a refresh finds a Kustomer status added since the last one and it is not mapped, the "
                    "tenant's admins get an e-mail (once per status). The dashboard always shows it."),
    )

    def __init__(self, *args, available: bool = True, cc_statuses=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sign_out_status"].choices = [("", _("Keep the status mapped from Kustomer's offline status"))] + [
            (name, name) for name in cc_statuses]
        if not available:
            self.fields["enabled"].disabled = True
            self.fields["enabled"].help_text = _("Not available yet: contact support to make CRM status inheritance available to your tenant.")


class CCStatusForm(forms.Form):
    name = forms.CharField(label=_("New CC status"), max_length=60)
    routable = forms.BooleanField(label=_("Routable (the contact center offers this agent work)"), required=False)
    activity = forms.ChoiceField(label=_("During calls"), choices=Activity.choices, initial=Activity.NONE,
                                 help_text=_("Call and wrap-up statuses hold Kustomer changes until the call ends."))


class AgentForm(forms.Form):
    email = forms.EmailField(label=_("Agent email"), help_text=_("The same email as the agent's Kustomer user."))
    name = forms.CharField(label=_("Name"), max_length=200, required=False)


class CCStatusRenameForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=60)
