"""The API's error body and serializer helpers every app's API uses.

Every error answers `{"detail": "...", "errors": {field: [...]}}` (docs/api.md).
Tenant resolution and scopes live in `tenants.api`.
"""
from __future__ import annotations

from django.utils.translation import gettext as _, ngettext
import threading
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
from django.utils.functional import cached_property
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.utils.serializer_helpers import BindingDict
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import ApplicationError

_reused_fields = threading.local()


class ReusedFieldsSerializer(serializers.Serializer):
    """An input serializer whose fields are built once per thread instead of on every
    request.

    DRF deep-copies every declared field each time a serializer is made (so that a
    request can never alter another's fields); on the status event endpoint that copy
    was a sixth of the request's Python time. Bound fields of plain types keep no state
    of a request (values and errors live on the serializer), so each thread keeps one
    bound set per class and points it at the serializer in hand. Only for flat
    serializers (no nested serializer fields) validated one at a time per thread."""

    @cached_property
    def fields(self):
        per_class = _reused_fields.__dict__
        bound = per_class.get(type(self))
        if bound is None:
            bound = BindingDict(self)
            for name, field in self.get_fields().items():
                if isinstance(field, serializers.BaseSerializer):
                    raise TypeError(f"{type(self).__name__}.{name}: nested serializers cannot be reused")
                bound[name] = field
            per_class[type(self)] = bound
        else:
            bound.serializer = self
            for field in bound.values():
                field.parent = self
        return bound


def _flatten(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF nests errors like its serializers; the contract names fields with dots
    (`session.channel`, `data.files.0.url`)."""
    flat: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key in ("non_field_errors",) and prefix:
                name = prefix
            for k, v in _flatten(value, name).items():
                flat.setdefault(k, []).extend(v)
    elif isinstance(errors, list):
        if all(not isinstance(item, (dict, list)) for item in errors):
            flat[prefix or "non_field_errors"] = [str(item) for item in errors]
        else:
            for index, item in enumerate(errors):
                if item:
                    for k, v in _flatten(item, f"{prefix}.{index}" if prefix else str(index)).items():
                        flat.setdefault(k, []).extend(v)
    else:
        flat[prefix or "non_field_errors"] = [str(errors)]
    return flat


def _summary(errors: dict[str, list[str]]) -> str:
    if not errors:
        return _("Invalid input.")
    field, messages = next(iter(errors.items()))
    first = f"{field}: {messages[0]}" if field != "non_field_errors" else messages[0]
    more = len(errors) - 1
    summary = _("Invalid input. %(first)s") % {"first": first}
    if more:
        summary += " " + ngettext("(and %(n)d more field)", "(and %(n)d more fields)", more) % {"n": more}
    return summary


def error_response(detail: str, *, errors: dict | None = None, status_code: int = 400, headers: dict | None = None) -> Response:
    return Response({"detail": detail, "errors": errors or {}}, status=status_code, headers=headers)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, ApplicationError):
        return error_response(exc.message, errors=exc.errors, status_code=exc.status_code)
    if isinstance(exc, RequestDataTooBig):
        return error_response(_("Request body too large."), status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or _("Not found."))
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        response.data = {"detail": _summary(errors), "errors": errors}
    else:
        detail = response.data.get("detail") if isinstance(response.data, dict) else None
        response.data = {"detail": str(detail or exc), "errors": {}}
    return response
