from django import forms

from customfields import backfill_rules, rules
from customfields.models import CustomField
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _


class SdkFieldForm(forms.Form):
    """An admin-named field fed from SDK custom data (R-D3). The services check the
    values; the form only carries them (and keeps them on the page after an error)."""

    sdk_key = forms.CharField(
        label=_("Key in the SDK custom data"),
        max_length=rules.MAX_SDK_KEY_LENGTH,
        help_text=_("As your app sends it, e.g. orderId. The Kustomer attribute name is made from it."),
    )
    display_name = forms.CharField(label=_("Name shown in Kustomer"), max_length=200, help_text=_("e.g. Order ID"))
    type = forms.ChoiceField(label=_("Type"), choices=[(t.value, format_lazy("{} ({})", _(t.label), t.value)) for t in rules.ValueType])
    klass = forms.ChoiceField(
        label=_("Where in Kustomer"),
        choices=[(CustomField.Klass.MESSAGE, _("Record (message, under Additional info)")),
                 (CustomField.Klass.CUSTOMER, _("Account (customer)"))],
        initial=CustomField.Klass.MESSAGE,
    )


class BackfillForm(forms.Form):
    """R-O3: which field to fill, for sessions of how many past days."""

    field = forms.TypedChoiceField(label=_("Field"), coerce=int)
    days = forms.IntegerField(
        label=_("Sessions of the last N days"), min_value=backfill_rules.MIN_DAYS, max_value=backfill_rules.MAX_DAYS,
        initial=30, help_text=_("Only sessions that started before the field was created; later ones got their values already."),
    )

    def __init__(self, *args, fields=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["field"].choices = [(f.pk, f"{f.display_name} ({f.attribute_name})") for f in fields]
