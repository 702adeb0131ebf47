"""The hostile spreadsheet set of reliability test R18, built at test time (nothing binary is committed).

Each entry is (id, builder, English refusal message, refused before openpyxl opens it).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from baogong.core.tests.xlsx_files import (
    BILLION_LAUGHS,
    EXTERNAL_ENTITY,
    xlsx_bytes,
    xlsx_with,
    xlsx_with_shared_strings,
    zip_entries,
)

SHEET = "xl/worksheets/sheet1.xml"
SHEET_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
SHEET_TAIL = b"</sheetData></worksheet>"
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MAX_ROWS = 20_000


def _plain() -> bytes:
    return xlsx_bytes([["楼栋", "单元", "房号"], ["1号楼", "1单元", "101"]])


def _with_streamed_sheet(generate: Callable[[IO[bytes]], None]) -> bytes:
    """The plain workbook with its sheet's rows written by `generate` in chunks (never whole in memory)."""
    parts = zip_entries(_plain())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name, content in parts.items():
            if name != SHEET:
                archive.writestr(name, content)
        with archive.open(SHEET, "w", force_zip64=True) as part:
            part.write(SHEET_HEAD)
            generate(part)
            part.write(SHEET_TAIL)
    return buffer.getvalue()


def million_numbered_rows() -> bytes:
    """1,048,000 rows each with r= and a value, no <dimension>: about 49 MB of XML in a 5 MB file."""

    def generate(part: IO[bytes]) -> None:
        for start in range(1, 1_048_000, 8_000):
            part.write(
                b"".join(b'<row r="%d"><c r="A%d"><v>1</v></c></row>' % (r, r) for r in range(start, start + 8_000))
            )

    return _with_streamed_sheet(generate)


def ratio_bomb_without_dimension() -> bytes:
    """About 120 MB of identical <row> elements without r= or <dimension>, compressed well over 200:1."""
    block = b'<row><c t="inlineStr"><is><t>x</t></is></c></row>' * 20_000

    def generate(part: IO[bytes]) -> None:
        for _ in range(120):
            part.write(block)

    return _with_streamed_sheet(generate)


def many_entries() -> bytes:
    return xlsx_with(_plain(), add={f"xl/media/image{i}.png": b"\x89PNG" for i in range(150)})


def ole_container(stream_names: list[str]) -> bytes:
    """A compound-document header and a directory sector naming the given streams (enough for a signature check)."""
    header = OLE_SIGNATURE + bytes(16) + b"\x3e\x00\x03\x00\xfe\xff\x09\x00" + bytes(512 - 32)
    directory = b"".join(
        name.encode("utf-16-le").ljust(64, b"\0") + (2 * len(name) + 2).to_bytes(2, "little") + bytes(62)
        for name in ["Root Entry", *stream_names]
    )
    return header + directory.ljust(4096, b"\0")


def xlsm_with_macro() -> bytes:
    data = _plain()
    manifest = zip_entries(data)["[Content_Types].xml"].replace(
        b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    )
    return xlsx_with(
        data,
        replace={"[Content_Types].xml": manifest},
        add={"xl/vbaProject.bin": OLE_SIGNATURE + b'Attribute VB_Name = "Module1"\nSub AutoOpen()\nEnd Sub\n'},
    )


ENTITIES = "The workbook contains XML entity or DTD declarations, which are refused for safety."
OLE = (
    "This is an old-style .xls file or a password-protected workbook. Open it in Excel or WPS, "
    "save it as an Excel workbook (.xlsx) without a password and upload it again."
)


@dataclass(frozen=True)
class Hostile:
    id: str
    build: Callable[[], bytes]
    message: str
    before_openpyxl: bool


HOSTILE_SET = [
    Hostile("billion-laughs", lambda: xlsx_with_shared_strings(_plain(), BILLION_LAUGHS), ENTITIES, False),
    Hostile("xxe", lambda: xlsx_with_shared_strings(_plain(), EXTERNAL_ENTITY), ENTITIES, False),
    Hostile(
        "ratio-bomb-no-dimension",
        ratio_bomb_without_dimension,
        "The workbook would unpack to more than 50 MB; it is refused.",
        True,
    ),
    Hostile(
        "million-rows-no-dimension",
        million_numbered_rows,
        f"The sheet has more than {MAX_ROWS} rows; split it into several files of at most {MAX_ROWS} rows.",
        False,
    ),
    Hostile(
        "too-many-entries", many_entries, "The workbook has too many parts (159, at most 100); it is refused.", True
    ),
    Hostile(
        "not-a-zip",
        lambda: "楼栋,单元,房号\n1号楼,1单元,101\n".encode(),
        "This is not an Excel workbook (.xlsx). Please upload the filled-in template.",
        True,
    ),
    Hostile(
        "truncated",
        lambda: _plain()[: len(_plain()) // 2],
        "The file is damaged or incomplete (was the upload cut off?). Save it again and retry.",
        True,
    ),
    Hostile("xls-renamed", lambda: ole_container(["Workbook", "\x05SummaryInformation"]), OLE, True),
    Hostile(
        "encrypted-ole",
        lambda: ole_container(["EncryptionInfo", "EncryptedPackage", "\x06DataSpaces"]),
        OLE,
        True,
    ),
    Hostile(
        "xlsm-macro",
        xlsm_with_macro,
        "The workbook contains macros. Save it as a plain Excel workbook (.xlsx) without macros.",
        True,
    ),
    Hostile(
        "dot-dot-names",
        lambda: xlsx_with(_plain(), add={"../../etc/cron.d/evil": b"* * * * * root sh"}),
        "The workbook contains a part with an unsafe name (an absolute path or “..”); it is refused.",
        True,
    ),
]
assert len(HOSTILE_SET) == 11
