"""The events list's filters: one form for the Sync › Events page and for
`GET /api/v1/events`, so both read the same parameters the same way."""
from __future__ import annotations

from datetime import datetime
from datetime import timezone as dt_timezone

from django import forms
from django.utils.translation import gettext_lazy as _

from conversations import rules
from conversations.models import Event
from conversations.selectors import EVENT_SORTS, EventFilters

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


def _utc(value: datetime | None) -> datetime | None:
    """The time in UTC (what the database compares); an offset or year it cannot hold
    is the caller's error, not the server's."""
    if value is None:
        return None
    try:
        return value.astimezone(dt_timezone.utc)
    except (OverflowError, ValueError):
        raise forms.ValidationError(_("Not a time the portal can search by.")) from None


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

    def clean_since(self):
        return _utc(self.cleaned_data.get("since"))

    def clean_until(self):
        return _utc(self.cleaned_data.get("until"))

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


# The page's words for the session kinds and the ways to log them (rules.SESSION_KINDS, LOG_CHOICES).
KIND_LABELS = {
    "ivr_answered": _("IVR call answered"), "abandoned": _("Abandoned call"),
    "outbound_answered": _("Outbound call answered"), "outbound_not_answered": _("Outbound call not answered"),
    "voicemail": _("Voicemail"), "chat": _("Chat"), "mobile_sdk_call": _("Mobile SDK call"),
}
LOG_LABELS = {"open": _("Open conversation"), "done": _("Done conversation"), "skip": _("Do not log")}


class CallLoggingPoliciesForm(forms.Form):
    """Settings › Developer settings › Call logging policies (SPEC §6)."""

    create_unknown_customers = forms.BooleanField(
        required=False, label=_("Create a Kustomer customer for an unknown number"),
        help_text=_("Off: only sessions of customers Kustomer already knows are logged."))
    connected_numbers = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), label=_("Connected contact-center numbers"),
        help_text=_("One a line, any format (read with the tenant's default region). Empty: sessions on every "
                    "number are logged; otherwise only sessions on these numbers (the event's session.cc_number)."))
    default_owner_email = forms.EmailField(
        required=False, label=_("Default CRM user (email)"),
        help_text=_("Records no agent owns (abandoned calls, voicemails, chats before assignment) are assigned to "
                    "this Kustomer user instead of nobody."))
    default_owner_team = forms.CharField(
        required=False, max_length=200, label=_("Default Kustomer team"),
        widget=forms.TextInput(attrs={"list": "kustomer-teams", "autocomplete": "off"}),
        help_text=_("A team of your Kustomer org, by name or id: records no agent owns go to it too. Empty: no team."))
    number_format = forms.ChoiceField(required=False, label=_("Phone number format in names and previews"), choices=[
        ("international", "+1 415-555-0123"), ("national", "(415) 555-0123"), ("e164", "+14155550123")])
    delay_call_until_connected = forms.BooleanField(
        required=False, label=_("Make a call's record only once an agent is connected"),
        help_text=_("A call that ends before that is logged as an abandoned call."))
    delay_chat_until_messages = forms.IntegerField(
        required=False, min_value=0, max_value=100, label=_("Make a chat's record only once the end user has sent this many messages"),
        help_text=_("0: off. A chat that ends before that is logged as an abandoned call; the event's "
                    "session.end_user_message_count gives the count."))
    reopen_days = forms.IntegerField(
        required=False, min_value=0, max_value=365, label=_("Reopen window (days)"),
        help_text=_("A session that finds no open conversation on its menu and channel joins and reopens one "
                    "closed less than this many days ago (0: off)."))
    short_abandon_seconds = forms.IntegerField(
        required=False, min_value=0, max_value=600, label=_("Short abandon under (seconds)"),
        help_text=_("An abandoned call whose sender gave no reason, abandoned sooner than this, is a short abandon "
                    "(0: off)."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        fields = {}
        for kind in rules.SESSION_KINDS:
            fields[f"log_{kind}"] = forms.ChoiceField(label=KIND_LABELS[kind],
                                                      choices=[(how, LOG_LABELS[how]) for how in rules.LOG_CHOICES])
        for kind in rules.SESSION_KINDS:
            for what in ("name", "preview"):
                fields[f"{what}_{kind}"] = forms.CharField(
                    required=False, max_length=rules.TEMPLATE_MAX, label=KIND_LABELS[kind],
                    widget=forms.TextInput(attrs={"data-template": what, "size": 34}))
        self.fields = {**fields, **self.fields}

    @staticmethod
    def initial_from(policies: rules.Policies) -> dict:
        initial = {f"log_{kind}": policies.log_as(kind) for kind in rules.SESSION_KINDS}
        for kind in rules.SESSION_KINDS:
            initial[f"name_{kind}"] = policies.name_templates.get(kind, "")
            initial[f"preview_{kind}"] = policies.preview_templates.get(kind, "")
        initial.update(number_format=policies.number_format, short_abandon_seconds=policies.short_abandon_seconds,
                       reopen_days=policies.reopen_days,
                       delay_call_until_connected=policies.delay_call_until_connected,
                       delay_chat_until_messages=policies.delay_chat_until_messages)
        initial.update(create_unknown_customers=policies.create_unknown_customers,
                       connected_numbers="\n".join(policies.connected_numbers),
                       default_owner_email=policies.default_owner_email or "",
                       default_owner_team=policies.default_owner_team_name or policies.default_owner_team_id or "")
        return initial

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "logging": {kind: data[f"log_{kind}"] for kind in rules.SESSION_KINDS},
            "create_unknown_customers": data["create_unknown_customers"],
            "connected_numbers": [line for line in (data["connected_numbers"] or "").splitlines() if line.strip()],
            "default_owner_email": data["default_owner_email"] or "",
            "default_owner_team_id": data["default_owner_team"] or "",
            "name_templates": {kind: data[f"name_{kind}"] for kind in rules.SESSION_KINDS},
            "preview_templates": {kind: data[f"preview_{kind}"] for kind in rules.SESSION_KINDS},
            "number_format": data["number_format"] or None, "short_abandon_seconds": data["short_abandon_seconds"],
            "reopen_days": data["reopen_days"], "delay_call_until_connected": data["delay_call_until_connected"],
            "delay_chat_until_messages": data["delay_chat_until_messages"],
        }

    def add_service_errors(self, exc) -> None:
        for name, messages in exc.errors.items():
            prefix, _dot, kind = name.partition(".")
            field = {"logging": f"log_{kind}", "name_templates": f"name_{kind}",
                     "preview_templates": f"preview_{kind}"}.get(prefix, name) if kind else name
            field = "default_owner_team" if field == "default_owner_team_id" else field
            for message in messages:
                self.add_error(field if field in self.fields else None, message)


class SyncSettingsForm(forms.Form):
    """Settings › Developer settings › Sync settings: the portal's own sync settings (SPEC §7)."""

    close_out_after_hours = forms.IntegerField(
        label=_("Close out sessions without an end after (hours)"), min_value=0, max_value=720,
        help_text=_("A call or chat whose end never arrives is closed out with a note this many hours after its "
                    "last event; its later events still apply. 0: never."),
    )
    ambiguous_pick_latest = forms.BooleanField(
        label=_("When several Kustomer customers have a number, pick the most recently updated one"), required=False,
        help_text=_("Off: the events wait in Operations › Needs a customer until you choose."),
    )
