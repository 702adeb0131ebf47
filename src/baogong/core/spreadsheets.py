"""Opening uploaded .xlsx workbooks without trusting them.

An .xlsx file is a zip of XML parts, so an upload can be a zip bomb, carry
path-traversal names or macros, or hold XML entity tricks (billion laughs,
XXE). Everything about the archive is checked from the zip's central
directory before a single byte is decompressed; only then does openpyxl read
the first sheet, in read-only (streaming) mode, with defusedxml's parsers.

Python's zipfile never produces more than an entry's declared size (it cuts
the output at `file_size` and then fails the CRC), so checking the declared
sizes is enough: an archive that lies about them cannot unpack to more.

Any import (households, purchase sheets, ...) calls `xlsx_table_read` and
gets plain Python values row by row with Excel row numbers, or an
`ImportRejected` whose message says what is wrong with the file.
"""

from __future__ import annotations

import contextvars
import io
import logging
import warnings
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import IO, TYPE_CHECKING, cast
from xml.etree.ElementTree import ParseError

from django.utils.translation import gettext as _

from .errors import ImportRejected

if TYPE_CHECKING:
    from collections.abc import Iterator

logger = logging.getLogger(__name__)

CellValue = str | int | float | bool | datetime | date | time | timedelta | None

# The first bytes of an OLE compound document: old .xls files and every
# password-protected (encrypted) .xlsx look like this.
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")
# Excel's own limit; a sheet claiming rows past it is not a real sheet.
EXCEL_MAX_ROWS = 1_048_576
MEGABYTE = 1024 * 1024


@dataclass(frozen=True)
class ArchiveLimits:
    """Limits on the zip container, checked before anything is decompressed.

    The defaults leave room for a roster of a large compound (a 20,000-row
    sheet unpacks to about 5 MB and compresses about 10:1), while a zip bomb
    needs ratios in the hundreds or thousands. Small parts are not
    ratio-checked: a 2 KB part of repeated tags compresses 50:1 and is harmless.
    """

    max_file_bytes: int = 10 * MEGABYTE
    # A workbook from Excel or WPS has 10-20 parts; 100 leaves room for images.
    max_entries: int = 100
    max_uncompressed_bytes: int = 50 * MEGABYTE
    max_compression_ratio: int = 100
    ratio_checked_from_bytes: int = 1 * MEGABYTE


DEFAULT_LIMITS = ArchiveLimits()


@dataclass(frozen=True)
class SheetRow:
    """One non-empty row below the header; `number` is the row number Excel shows."""

    number: int
    values: tuple[CellValue, ...]


@dataclass(frozen=True)
class SheetTable:
    sheet_name: str
    header_row: int
    header: tuple[CellValue, ...]
    rows: list[SheetRow] = field(default_factory=list)


def upload_read_limited(source: IO[bytes], *, limits: ArchiveLimits = DEFAULT_LIMITS) -> bytes:
    """Read an uploaded file into memory, refusing it as soon as it is larger than the limit."""
    data = source.read(limits.max_file_bytes + 1)
    if len(data) > limits.max_file_bytes:
        raise ImportRejected(
            _("The file is larger than %(limit)s MB; split it into smaller files.")
            % {"limit": limits.max_file_bytes // MEGABYTE}
        )
    return data


def xlsx_validate_archive(data: bytes, *, limits: ArchiveLimits = DEFAULT_LIMITS) -> None:
    """Refuse anything that is not a plain, modestly sized .xlsx zip. Decompresses nothing."""
    if len(data) > limits.max_file_bytes:
        raise ImportRejected(
            _("The file is larger than %(limit)s MB; split it into smaller files.")
            % {"limit": limits.max_file_bytes // MEGABYTE}
        )
    if data.startswith(OLE_SIGNATURE):
        raise ImportRejected(
            _(
                "This is an old-style .xls file or a password-protected workbook. Open it in Excel or WPS, "
                "save it as an Excel workbook (.xlsx) without a password and upload it again."
            )
        )
    if not data.startswith(ZIP_SIGNATURES):
        raise ImportRejected(_("This is not an Excel workbook (.xlsx). Please upload the filled-in template."))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
        raise ImportRejected(
            _("The file is damaged or incomplete (was the upload cut off?). Save it again and retry.")
        ) from exc

    if len(entries) > limits.max_entries:
        raise ImportRejected(
            _("The workbook has too many parts (%(count)s, at most %(limit)s); it is refused.")
            % {"count": len(entries), "limit": limits.max_entries}
        )
    seen: set[str] = set()
    total = 0
    for entry in entries:
        name = entry.filename
        if _archive_name_unsafe(name):
            raise ImportRejected(
                _("The workbook contains a part with an unsafe name (an absolute path or “..”); it is refused.")
            )
        lowered = name.lower()
        if lowered in seen:
            raise ImportRejected(_("The workbook contains the same part twice; it is refused."))
        seen.add(lowered)
        if "vbaproject" in lowered.rsplit("/", 1)[-1]:
            raise ImportRejected(
                _("The workbook contains macros. Save it as a plain Excel workbook (.xlsx) without macros.")
            )
        if entry.flag_bits & 0x1:
            raise ImportRejected(_("The workbook is encrypted. Save it without a password and upload it again."))
        total += entry.file_size
        if total > limits.max_uncompressed_bytes:
            raise ImportRejected(
                _("The workbook would unpack to more than %(limit)s MB; it is refused.")
                % {"limit": limits.max_uncompressed_bytes // MEGABYTE}
            )
        if entry.file_size >= limits.ratio_checked_from_bytes:
            ratio = entry.file_size / max(entry.compress_size, 1)
            if ratio > limits.max_compression_ratio:
                raise ImportRejected(
                    _(
                        "A part of the workbook is compressed %(ratio)d:1 (at most %(limit)d:1 is accepted); "
                        "it is refused as a possible zip bomb."
                    )
                    % {"ratio": ratio, "limit": limits.max_compression_ratio}
                )


def _archive_name_unsafe(name: str) -> bool:
    normalised = name.replace("\\", "/")
    if normalised.startswith("/") or (len(normalised) > 1 and normalised[1] == ":"):
        return True
    return any(part == ".." for part in normalised.split("/"))


def xml_protections_active() -> bool:
    """True when openpyxl parses every part through defusedxml.

    openpyxl picks defusedxml up silently when it is importable and the
    OPENPYXL_DEFUSEDXML environment variable does not switch it off; both can
    change on a server without anyone noticing, so imports check it each time
    and refuse to run without it.
    """
    import openpyxl
    from defusedxml import ElementTree as DefusedElementTree
    from openpyxl.xml import functions

    return bool(openpyxl.DEFUSEDXML) and functions.iterparse is DefusedElementTree.iterparse


# openpyxl's read-only worksheet looks for the sheet's <dimension> when it is
# opened; when the element is missing it parses the *whole* sheet to find out,
# before the first row can be read (a 1M-row sheet without one took 10 s here,
# so no row cap could stop it). xlsx_table_read ignores the dimension anyway
# (reset_dimensions below), so while it opens a workbook that scan is skipped.
# A context variable keeps every other use of read-only mode unchanged.
_skip_dimension_scan: contextvars.ContextVar[bool] = contextvars.ContextVar("skip_dimension_scan", default=False)


def _read_only_dimensions_patch() -> None:
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    original = ReadOnlyWorksheet._get_size  # type: ignore[attr-defined]
    if getattr(original, "skips_when_asked", False):
        return

    def _get_size(self: ReadOnlyWorksheet) -> None:
        if not _skip_dimension_scan.get():
            original(self)

    _get_size.skips_when_asked = True  # type: ignore[attr-defined]
    ReadOnlyWorksheet._get_size = _get_size  # type: ignore[attr-defined]


def xlsx_table_read(
    data: bytes,
    *,
    max_rows: int,
    limits: ArchiveLimits = DEFAULT_LIMITS,
    header_row: int = 1,
) -> SheetTable:
    """The first worksheet as a header and its non-empty rows below it.

    The sheet's `<dimension>` element is ignored: writers get it wrong (or
    leave it out) and openpyxl's read-only mode would silently stop at it.
    More than `max_rows` non-empty data rows is refused rather than cut.
    """
    xlsx_validate_archive(data, limits=limits)
    if not xml_protections_active():
        logger.error("spreadsheet import refused: openpyxl is not using defusedxml")
        raise ImportRejected(
            _("Spreadsheet imports are switched off: the server lacks its XML protections. Tell the administrator.")
        )

    from defusedxml import DefusedXmlException
    from openpyxl import load_workbook

    _read_only_dimensions_patch()
    workbook = None
    skipping = _skip_dimension_scan.set(True)
    try:
        with warnings.catch_warnings():
            # openpyxl warns about unsupported extensions, data validation and
            # default styles on many real-world files; none of it matters here.
            warnings.simplefilter("ignore")
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
            if not workbook.worksheets:
                raise ImportRejected(_("The workbook has no worksheet."))
            sheet = workbook.worksheets[0]
            sheet.reset_dimensions()
            # With data_only and without rich_text openpyxl yields only plain
            # values (no formula or rich-text objects), which CellValue covers.
            rows = cast("Iterator[tuple[CellValue, ...]]", sheet.iter_rows(values_only=True))
            return _table_collect(rows, sheet.title, header_row, max_rows)
    except ImportRejected:
        raise
    except Exception as exc:
        # openpyxl reports malformed workbooks with whatever exception its
        # parser hit, often wrapped in a ValueError of its own; for an
        # untrusted upload they all mean "refused", told apart only so the
        # message can say why.
        causes = list(_exception_chain(exc))
        if any(isinstance(cause, DefusedXmlException) for cause in causes):
            raise ImportRejected(
                _("The workbook contains XML entity or DTD declarations, which are refused for safety.")
            ) from exc
        if any(isinstance(cause, (zipfile.BadZipFile, EOFError, ParseError)) for cause in causes):
            raise ImportRejected(_("The workbook is damaged: part of it is not readable.")) from exc
        logger.info("spreadsheet could not be read: %r", exc)
        raise ImportRejected(_("The file could not be read as an Excel workbook.")) from exc
    finally:
        _skip_dimension_scan.reset(skipping)
        if workbook is not None:
            workbook.close()


def _exception_chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _table_collect(
    rows: Iterator[tuple[CellValue, ...]], sheet_name: str, header_row: int, max_rows: int
) -> SheetTable:
    header: tuple[CellValue, ...] | None = None
    collected: list[SheetRow] = []
    # Empty rows are skipped, not counted as data, but reading each one still
    # costs time: a sheet of a million empty <row> elements took 6-11 s. Past
    # this many rows in all the sheet is refused however few hold data.
    scan_limit = header_row + 2 * max_rows + 1000
    for number, values in enumerate(rows, start=1):
        if number > scan_limit:
            raise ImportRejected(
                _(
                    "The sheet runs to more than %(limit)s rows, most of them empty; delete the empty rows below "
                    "the data and upload it again."
                )
                % {"limit": scan_limit}
            )
        if number > EXCEL_MAX_ROWS:
            raise ImportRejected(_("The sheet claims more rows than Excel allows; it is refused."))
        if number < header_row:
            continue
        if number == header_row:
            header = tuple(values)
            continue
        if all(_cell_blank(value) for value in values):
            continue
        if len(collected) >= max_rows:
            raise ImportRejected(
                _("The sheet has more than %(limit)s rows; split it into several files of at most %(limit)s rows.")
                % {"limit": max_rows}
            )
        collected.append(SheetRow(number=number, values=tuple(values)))
    if header is None or all(_cell_blank(value) for value in header):
        raise ImportRejected(_("The sheet is empty: row %(row)s must hold the column titles.") % {"row": header_row})
    return SheetTable(sheet_name=sheet_name, header_row=header_row, header=header, rows=collected)


def _cell_blank(value: CellValue) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
