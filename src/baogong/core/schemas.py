"""API schemas shared by every router: the error body and pagination parameters.

No `from __future__ import annotations` here or in other schema modules:
pydantic and ninja read these annotations at run time.
"""

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


def page_slice(queryset: QuerySet[Any], page: PageParams) -> tuple[int, list[Any]]:
    """Total count and the rows of one page (two queries)."""
    total = queryset.count()
    return total, list(queryset[page.offset : page.offset + page.limit])


# Error statuses a list with query input can answer...
LIST_ERRORS: dict[int, type[Schema]] = {401: ErrorOut, 422: ErrorOut}
# ...and a read that looks up one object by id (or filters by one).
READ_ERRORS: dict[int, type[Schema]] = {401: ErrorOut, 404: ErrorOut, 422: ErrorOut}
# ...and a read with no input besides the session.
AUTH_ERRORS: dict[int, type[Schema]] = {401: ErrorOut}
