"""The events list's filters: one form for the Sync › Events page and for
`GET /api/v1/events`, so both read the same parameters the same way."""
from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from conversations import rules
from conversations.models import Event
from conversations.selectors import EVENT_SORTS, EventFilters

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class EventFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label=_("Search"),
                        help_text=_("Event id, session id, phone number in any format, or a Kustomer customer or "
                                    "conversation id."))
    state = forms.ChoiceField(required=False, label=_("State"),
                              choices=[("", _("All states"))] + list(Event.State.choices))
    type = forms.ChoiceField(required=False, label=_("Type"),
                             choices=[("", _("All types"))] + [(t, t) for t in rules.EVENT_TYPES])
    since = forms.DateTimeField(required=False, label=_("Received from"))
    until = forms.DateTimeField(required=False, label=_("Received until"))
    sort = forms.ChoiceField(required=False, label=_("Sort"), choices=[(s, s) for s in EVENT_SORTS])
    page = forms.IntegerField(required=False, min_value=1)
    page_size = forms.IntegerField(required=False, min_value=1, max_value=MAX_PAGE_SIZE)

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", _("The end of the time range is before its start."))
        return data

    def filters(self, *, region: str) -> EventFilters:
        """The filters asked for (call after is_valid())."""
        data = self.cleaned_data
        return EventFilters(
            q=(data.get("q") or "").strip(), state=data.get("state") or "", type=data.get("type") or "",
            since=data.get("since"), until=data.get("until"), sort=data.get("sort") or "-received",
            region=region,
        )
