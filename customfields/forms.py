from django import forms

from customfields import rules
from customfields.models import CustomField


class SdkFieldForm(forms.Form):
    """An admin-named field fed from SDK custom data (R-D3). The services check the
    values; the form only carries them (and keeps them on the page after an error)."""

    sdk_key = forms.CharField(
        label="Key in the SDK custom data",
        max_length=rules.MAX_SDK_KEY_LENGTH,
        help_text="As your app sends it, e.g. orderId. The Kustomer attribute name is made from it.",
    )
    display_name = forms.CharField(label="Name shown in Kustomer", max_length=200, help_text="e.g. Order ID")
    type = forms.ChoiceField(label="Type", choices=[(t.value, f"{t.label} ({t.value})") for t in rules.ValueType])
    klass = forms.ChoiceField(
        label="Where in Kustomer",
        choices=[(CustomField.Klass.MESSAGE, "Record (message, under Additional info)"), (CustomField.Klass.CUSTOMER, "Account (customer)")],
        initial=CustomField.Klass.MESSAGE,
    )
