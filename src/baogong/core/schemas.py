"""API schemas shared by every router: the error body and pagination parameters.

No `from __future__ import annotations` here or in other schema modules:
pydantic and ninja read these annotations at run time.
"""

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from ninja import Field, Schema

# Paths and ids are 64-bit keys; a larger number is refused as invalid input
# instead of reaching the database and overflowing there.
MAX_ID = 2**63 - 1
MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50
# Nobody pages past a billion rows; the bound keeps OFFSET inside a bigint.
MAX_OFFSET = 1_000_000_000


class ErrorOut(Schema):
    """Every error the API answers: a stable `code` to branch on, a translated `message` to show."""

    code: str = Field(..., examples=["not_found"])
    message: str
    field: str | None = Field(None, description="The input field the error is about, if any.")
    data: dict[str, Any] | None = None


class PageParams(Schema):
    limit: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="Rows per page.")
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="Rows to skip.")


def paginated(queryset: QuerySet[Any], page: PageParams, present: Callable[[Any], Any] | None = None) -> dict[str, Any]:
    """One page of `queryset` as the `...Page` schemas expect it: a count query and a page query.

    Items stay model rows (or whatever `present` makes of them); the endpoint's
    response schema serialises them, so resolvers run exactly once.
    """
    rows = list(queryset[page.offset : page.offset + page.limit])
    return {
        "count": queryset.count(),
        "limit": page.limit,
        "offset": page.offset,
        "items": [present(row) for row in rows] if present is not None else rows,
    }


# Error statuses a list with query input can answer...
LIST_ERRORS: dict[int, type[Schema]] = {401: ErrorOut, 422: ErrorOut}
# ...and a read that looks up one object by id (or filters by one).
READ_ERRORS: dict[int, type[Schema]] = {401: ErrorOut, 404: ErrorOut, 422: ErrorOut}
# ...and a read with no input besides the session.
AUTH_ERRORS: dict[int, type[Schema]] = {401: ErrorOut}
