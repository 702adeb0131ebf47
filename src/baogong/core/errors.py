"""The one error hierarchy.

Services raise these; the API exception handler and the page error partial
render them (translated) with the stable `code`, so clients can branch on the
code and people read the message. Every error that is about the caller's input
names the field (or spreadsheet row) it is about.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _


class ApplicationError(Exception):
    """Base of every domain error. `status` is the HTTP status the API uses."""

    status: int = 400
    code: str = "application_error"
    default_message: Any = _("The request could not be completed.")

    def __init__(self, message: Any = None, *, field: str | None = None, data: dict[str, Any] | None = None):
        self.message = message if message is not None else self.default_message
        self.field = field
        self.data = data or {}
        super().__init__(str(self.message))

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": str(self.message)}
        if self.field:
            body["field"] = self.field
        if self.data:
            body["data"] = self.data
        return body


class NotFound(ApplicationError):
    """Also used for objects outside the caller's scope: their existence is not revealed."""

    status = 404
    code = "not_found"
    default_message = _("Not found.")


class NotAuthenticated(ApplicationError):
    """The caller has not signed in (the API answers 401 in the error body every other failure uses)."""

    status = 401
    code = "not_authenticated"
    default_message = _("Sign in first.")


class PermissionDenied(ApplicationError):
    """For actions the caller's role may never take (on objects they can see)."""

    status = 403
    code = "permission_denied"
    default_message = _("You do not have permission to do this.")


class ValidationFailed(ApplicationError):
    status = 422
    code = "validation_failed"
    default_message = _("The input is not valid.")


class Conflict(ApplicationError):
    status = 409
    code = "conflict"
    default_message = _("The request conflicts with the current state.")


class InsufficientStock(Conflict):
    code = "insufficient_stock"
    default_message = _("Not enough stock.")


class BadRequest(ApplicationError):
    """A request that cannot be processed as sent, e.g. a required header is missing (400)."""

    code = "bad_request"
    default_message = _("The request is malformed.")


class IdempotencyKeyReused(ValidationFailed):
    """The same idempotency key came back with a different request body (422)."""

    code = "idempotency_key_reused"
    default_message = _("This idempotency key was already used for a different request.")


class RequestInProgress(Conflict):
    """A request with the same idempotency key is still being processed (409); retry later."""

    code = "request_in_progress"
    default_message = _("A request with this idempotency key is still in progress; retry shortly.")


@dataclass
class RowError:
    """One problem in one row of an uploaded sheet (row numbers as Excel shows them)."""

    row: int
    field: str
    message: str


class ImportRejected(ApplicationError):
    """A whole file refused: because of the file itself (no rows), or because of rows."""

    status = 422
    code = "import_rejected"
    default_message = _("The file has errors; nothing was imported.")

    def __init__(self, message: Any = None, *, rows: list[RowError] | None = None):
        self.rows = rows or []
        super().__init__(message, data={"rows": [r.__dict__ for r in self.rows]} if self.rows else None)
