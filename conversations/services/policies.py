"""A tenant's call logging policies (SPEC §6): validated and saved here; the rules read
them as ``rules.Policies`` (selectors.call_logging_policies_read)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext

from conversations import rules
from conversations.models import CallLoggingPolicies
from conversations.selectors import call_logging_policies_read
from core.errors import ApplicationError
from integrations.kustomer.errors import KustomerError
from integrations.selectors import kustomer_connection_get
from integrations.services import kustomer_client_for
from tenants.models import Tenant

TEAM_FIELD = "default_owner_team_id"


def kustomer_teams_read(*, tenant: Tenant) -> list[tuple[str, str]]:
    """R-P6: (id, name) of the teams in the tenant's Kustomer org (``GET /v1/teams``).
    Raises ApplicationError naming the team field when they cannot be read."""
    connection = kustomer_connection_get(tenant=tenant)
    if connection is None:
        raise ApplicationError(gettext("Connect Kustomer first: the team is looked up in your org."),
                               errors={TEAM_FIELD: [gettext("Connect Kustomer first: the team is looked up in your org.")]})
    try:
        with kustomer_client_for(connection=connection, timeout=10) as client:
            teams = client.list_teams()
    except KustomerError as exc:
        message = f"Kustomer's team list could not be read ({type(exc).__name__}); try again."
        raise ApplicationError(message, errors={TEAM_FIELD: [message]}) from None
    return [(team.id, team.display_name or team.name or team.id) for team in teams]


def kustomer_team_choices(*, tenant: Tenant) -> list[tuple[str, str]]:
    """The org's teams for the page's suggestions; none when they cannot be read now."""
    try:
        return kustomer_teams_read(tenant=tenant)
    except ApplicationError:
        return []


def _team_resolved(tenant: Tenant, row: CallLoggingPolicies, given: str) -> tuple[str, str] | str:
    """(id, name) of the team a PUT names by id or by name; or what is wrong."""
    given = given.strip()
    if not given:
        return "", ""
    if given in (row.default_owner_team_id, row.default_owner_team_name) and row.default_owner_team_id:
        return row.default_owner_team_id, row.default_owner_team_name  # unchanged: no look-up
    try:
        teams = kustomer_teams_read(tenant=tenant)
    except ApplicationError as exc:
        return exc.errors[TEAM_FIELD][0]
    for team_id, name in teams:
        if given == team_id:
            return team_id, name
    named = [(team_id, name) for team_id, name in teams if name.casefold() == given.casefold()]
    if len(named) == 1:
        return named[0]
    if named:
        return f"{len(named)} teams are named {given!r} in your Kustomer org: give the team's id."
    listed = ", ".join(name for _id, name in teams[:10]) or "none"
    return f"No team {given!r} in your Kustomer org (its teams: {listed})."


def call_logging_policies_update(
    *, tenant: Tenant, logging: Mapping[str, str] | None = None, create_unknown_customers: bool | None = None,
    connected_numbers: Iterable[str] | None = None, default_owner_email: str | None = None,
    name_templates: Mapping[str, str] | None = None, preview_templates: Mapping[str, str] | None = None,
    number_format: str | None = None, short_abandon_seconds: int | None = None, reopen_days: int | None = None,
    delay_call_until_connected: bool | None = None, delay_chat_until_messages: int | None = None,
    default_owner_team_id: str | None = None,
) -> rules.Policies:
    """Change the given policies (the rest stay); a bad value raises ApplicationError
    naming its field (``logging.<kind>``, ``name_templates.<kind>``, ``connected_numbers``, ...)."""
    errors: dict[str, list[str]] = {}
    row, _ = CallLoggingPolicies.objects.get_or_create(tenant=tenant)
    changes: dict[str, Any] = {}
    if logging is not None:
        if not isinstance(logging, Mapping):
            errors["logging"] = [gettext("An object of session kind → open | done | skip.")]
        else:
            merged = dict(row.logging or {})
            for kind, how in logging.items():
                if kind not in rules.SESSION_KINDS:
                    errors.setdefault(f"logging.{kind}", []).append(
                        gettext("Unknown session kind; one of %(items)s.") % {"items": ', '.join(rules.SESSION_KINDS)})
                elif how not in rules.LOG_CHOICES:
                    errors.setdefault(f"logging.{kind}", []).append(
                        gettext("%(how)s is not one of %(items)s.")
                        % {"how": repr(how), "items": ', '.join(rules.LOG_CHOICES)})
                else:
                    merged[kind] = how
            changes["logging"] = merged
    if create_unknown_customers is not None:
        changes["create_unknown_customers"] = bool(create_unknown_customers)
    if connected_numbers is not None:
        numbers: list[str] = []
        for text in connected_numbers:
            text = str(text).strip()
            if not text:
                continue
            e164 = rules.phone_search_key(text, tenant.default_region)
            if e164 is None:
                errors.setdefault("connected_numbers", []).append(
                    gettext("%(text)s is not a valid phone number (read with default region "
                            "%(value)s).") % {"text": repr(text), "value": tenant.default_region or 'US'})
                continue
            if e164 not in numbers:
                numbers.append(e164)
        changes["connected_numbers"] = numbers
    if default_owner_email is not None:
        email = default_owner_email.strip()
        if email:
            try:
                validate_email(email)
            except ValidationError:
                errors.setdefault("default_owner_email", []).append(gettext("%(email)s is not "
                                                                            "an email address.") % {"email": repr(email)})
        changes["default_owner_email"] = email
    if default_owner_team_id is not None:
        team = _team_resolved(tenant, row, str(default_owner_team_id))
        if isinstance(team, str):
            errors.setdefault(TEAM_FIELD, []).append(team)
        else:
            changes["default_owner_team_id"], changes["default_owner_team_name"] = team[0], team[1][:200]
    for name, given in (("name_templates", name_templates), ("preview_templates", preview_templates)):
        if given is None:
            continue
        merged = dict(getattr(row, name) or {})
        for kind, template in dict(given).items():
            template = str(template or "").strip()
            problems = ([gettext("Unknown session kind; one of %(items)s.") % {"items": ', '.join(rules.SESSION_KINDS)}]
                        if kind not in rules.SESSION_KINDS else rules.template_errors(template))
            if problems:
                errors.setdefault(f"{name}.{kind}", []).extend(problems)
            else:
                merged[kind] = template
        changes[name] = {k: v for k, v in merged.items() if v}
    if number_format is not None:
        if number_format not in rules.NUMBER_FORMATS:
            errors.setdefault("number_format", []).append(gettext("One of %(items)s.")
                                                          % {"items": ', '.join(rules.NUMBER_FORMATS)})
        changes["number_format"] = number_format
    if short_abandon_seconds is not None:
        if not 0 <= int(short_abandon_seconds) <= 600:
            errors.setdefault("short_abandon_seconds", []).append(gettext("From 0 (off) to 600 "
                                                                          "seconds."))
        changes["short_abandon_seconds"] = int(short_abandon_seconds)
    if delay_call_until_connected is not None:
        changes["delay_call_until_connected"] = bool(delay_call_until_connected)
    if delay_chat_until_messages is not None:
        if not 0 <= int(delay_chat_until_messages) <= 100:
            errors.setdefault("delay_chat_until_messages", []).append(gettext("From 0 (off) to "
                                                                              "100 messages."))
        changes["delay_chat_until_messages"] = int(delay_chat_until_messages)
    if reopen_days is not None:
        if not 0 <= int(reopen_days) <= 365:
            errors.setdefault("reopen_days", []).append(gettext("From 0 (off) to 365 days."))
        changes["reopen_days"] = int(reopen_days)
    if errors:
        first = next(iter(errors))
        raise ApplicationError(f"{first}: {errors[first][0]}", errors=errors)
    if changes:
        CallLoggingPolicies.objects.filter(pk=row.pk).update(**changes, updated_at=timezone.now())
    return call_logging_policies_read(tenant=tenant)
