"""Builders of well-formed and hostile .xlsx files for import tests."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable

from openpyxl import Workbook

BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n'
    b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
    b"<si><t>&lol3;</t></si></sst>"
)
EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?>\n'
    b'<!DOCTYPE sst [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
    b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
    b"<si><t>&secret;</t></si></sst>"
)


def xlsx_bytes(rows: Iterable[Iterable[object]]) -> bytes:
    """A workbook whose first sheet holds `rows` from A1, saved by openpyxl (strings go to sharedStrings)."""
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def zip_entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def zip_build(entries: dict[str, bytes] | list[tuple[str, bytes]], *, level: int = 6) -> bytes:
    buffer = io.BytesIO()
    items = entries.items() if isinstance(entries, dict) else entries
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name, content in items:
            archive.writestr(zipfile.ZipInfo(name), content, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def xlsx_with(data: bytes, *, replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None) -> bytes:
    """Rebuild a workbook with some parts replaced and others added."""
    entries = zip_entries(data)
    entries.update(replace or {})
    entries.update(add or {})
    return zip_build(entries)


def xlsx_with_dimension(data: bytes, ref: str | None) -> bytes:
    """Rewrite the first sheet's <dimension ref=...> (or drop it when `ref` is None)."""
    sheet = zip_entries(data)["xl/worksheets/sheet1.xml"]
    replacement = b"" if ref is None else f'<dimension ref="{ref}"/>'.encode()
    rewritten, count = re.subn(rb'<dimension ref="[^"]*"\s*/>', replacement, sheet)
    assert count == 1
    return xlsx_with(data, replace={"xl/worksheets/sheet1.xml": rewritten})


SHARED_STRINGS_TYPE = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"


def xlsx_with_shared_strings(data: bytes, shared_strings: bytes) -> bytes:
    """Add a sharedStrings part (openpyxl writes inline strings, Excel writes this part) registered in the manifest."""
    manifest = zip_entries(data)["[Content_Types].xml"]
    override = b'<Override PartName="/xl/sharedStrings.xml" ContentType="' + SHARED_STRINGS_TYPE + b'"/>'
    manifest = manifest.replace(b"</Types>", override + b"</Types>")
    return xlsx_with(data, replace={"[Content_Types].xml": manifest}, add={"xl/sharedStrings.xml": shared_strings})
