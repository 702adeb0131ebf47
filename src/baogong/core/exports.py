"""CSV and XLSX exports that a spreadsheet cannot turn into formulas.

A cell whose text begins with `=`, `+`, `-` or `@` (or TAB, CR or NUL, which
spreadsheets skip before looking for one, or their full-width forms ＝＋－＠,
which some Chinese spreadsheet programs accept) is run as a formula when the
file is opened: `=HYPERLINK(...)` leaks data, `=cmd|...` runs programs (CWE-1236,
OWASP ASVS 5.0 1.2.10). Every text cell that begins with one of them gets a
leading apostrophe, which spreadsheets show as text. A text cell that already
begins with an apostrophe gets one more, so `cell_restore` can always undo
the escape exactly.

Only text is escaped: numbers, dates and booleans produced by the application
are written as such (a negative quantity stays a number). In XLSX every text
cell is written as a string cell, never a formula, whatever it holds.
"""

from __future__ import annotations

import csv
import datetime
import decimal
import io
from collections.abc import Iterable, Sequence

from django.http import HttpResponse
from django.utils.http import content_disposition_header

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\0", "＝", "＋", "－", "＠")
ESCAPE = "'"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"

ExportValue = str | int | float | decimal.Decimal | bool | datetime.date | datetime.datetime | None
_PLAIN_TYPES = (bool, int, float, decimal.Decimal, datetime.date, datetime.datetime)


def text_neutralise(text: str) -> str:
    """The text as a spreadsheet must receive it: escaped when it could start a formula."""
    if text.startswith((*FORMULA_TRIGGERS, ESCAPE)):
        return ESCAPE + text
    return text


def cell_restore(text: str) -> str:
    """The original text of an exported text cell (reverses `text_neutralise`)."""
    return text[1:] if text.startswith(ESCAPE) else text


def csv_safe_cell(value: ExportValue) -> str:
    if value is None:
        return ""
    if isinstance(value, _PLAIN_TYPES):
        return value.isoformat() if isinstance(value, datetime.date) else str(value)
    return text_neutralise(str(value))


def xlsx_safe_cell(value: ExportValue) -> ExportValue:
    if value is None or isinstance(value, _PLAIN_TYPES):
        return value
    # XML parsers turn a stored CR into LF when the file is read back, so
    # line ends are made LF here and what is written is what is read.
    text = str(value).replace("\r\n", "\n")
    neutralised = text_neutralise(text).replace("\r", "\n")
    # XLSX cannot hold most control characters at all (openpyxl refuses them).
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", neutralised)


def csv_export(*, header: Sequence[str], rows: Iterable[Sequence[ExportValue]]) -> bytes:
    """UTF-8 CSV (with a byte-order mark so Excel reads Chinese), RFC 4180: CRLF, every field quoted."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow([csv_safe_cell(title) for title in header])
    for row in rows:
        writer.writerow([csv_safe_cell(value) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def xlsx_export(*, header: Sequence[str], rows: Iterable[Sequence[ExportValue]], sheet_title: str) -> bytes:
    """One-sheet workbook written in openpyxl's streaming (write-only) mode; text cells are string cells."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import Cell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title[:31])

    def cells(values: Sequence[ExportValue]) -> list[Cell]:
        written = []
        for value in values:
            cell = WriteOnlyCell(sheet, value=xlsx_safe_cell(value))  # type: ignore[arg-type]
            if isinstance(cell.value, str):
                # openpyxl would store any text beginning with "=" as a formula.
                cell.data_type = "s"
            written.append(cell)
        return written

    sheet.append(cells(header))
    for row in rows:
        sheet.append(cells(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export_response(*, data: bytes, filename: str, kind: str) -> HttpResponse:
    """An attachment download; `kind` is "csv" or "xlsx"."""
    content_type = {"csv": CSV_CONTENT_TYPE, "xlsx": XLSX_CONTENT_TYPE}[kind]
    return HttpResponse(
        data,
        content_type=content_type,
        headers={"Content-Disposition": content_disposition_header(True, filename)},
    )
