"""The one domain error type of the product.

Services raise `ApplicationError` when a request cannot be carried out for a reason
the caller can fix (a duplicate, a prerequisite missing, a bad value); APIs turn it
into the contract's error body and pages show it next to the field it names.
"""
from __future__ import annotations


class ApplicationError(Exception):
    status_code = 400

    def __init__(self, message: str, *, field: str | None = None, errors: dict | None = None, status_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.errors: dict[str, list[str]] = dict(errors or {})
        if field:
            self.errors.setdefault(field, []).append(message)
        if status_code is not None:
            self.status_code = status_code


class ConflictError(ApplicationError):
    status_code = 409


class NotFoundError(ApplicationError):
    status_code = 404
