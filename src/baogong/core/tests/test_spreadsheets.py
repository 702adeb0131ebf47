import io
import zipfile

import openpyxl
import pytest
from django.utils import translation

from baogong.core.errors import ImportRejected
from baogong.core.spreadsheets import (
    ArchiveLimits,
    SheetRow,
    upload_read_limited,
    xlsx_table_read,
    xlsx_validate_archive,
)
from baogong.core.tests.xlsx_files import (
    BILLION_LAUGHS,
    EXTERNAL_ENTITY,
    xlsx_bytes,
    xlsx_with,
    xlsx_with_dimension,
    xlsx_with_shared_strings,
    zip_build,
    zip_entries,
)

SMALL = xlsx_bytes([["name", "size"], ["a", 1], [None, None], ["b", 2]])


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def refusal(data: bytes, **kwargs) -> str:
    with pytest.raises(ImportRejected) as caught:
        xlsx_table_read(data, max_rows=kwargs.pop("max_rows", 100), **kwargs)
    assert caught.value.rows == []
    return str(caught.value.message)


def test_reads_header_and_non_empty_rows_with_excel_row_numbers():
    table = xlsx_table_read(SMALL, max_rows=10)

    assert table.sheet_name == "Sheet"
    assert table.header == ("name", "size")
    assert table.rows == [SheetRow(number=2, values=("a", 1)), SheetRow(number=4, values=("b", 2))]


def test_reads_shared_strings_written_by_excel():
    shared = (
        b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        b'count="1" uniqueCount="1"><si><t>hello</t></si></sst>'
    )
    sheet = zip_entries(SMALL)["xl/worksheets/sheet1.xml"].replace(
        b'<c r="A2" t="inlineStr"><is><t>a</t></is></c>', b'<c r="A2" t="s"><v>0</v></c>'
    )
    data = xlsx_with(xlsx_with_shared_strings(SMALL, shared), replace={"xl/worksheets/sheet1.xml": sheet})

    assert xlsx_table_read(data, max_rows=10).rows[0] == SheetRow(number=2, values=("hello", 1))


@pytest.mark.parametrize("dimension", ["A1:A1", None], ids=["wrong", "missing"])
def test_rows_beyond_a_wrong_or_missing_dimension_are_all_read(dimension):
    data = xlsx_with_dimension(
        xlsx_bytes([["n", "double", "label"]] + [[i, i * 2, f"r{i}"] for i in range(50)]), dimension
    )
    if dimension:
        # Without reset_dimensions openpyxl would stop at the declared A1:A1.
        sheet = openpyxl.load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
        assert len(list(sheet.iter_rows(values_only=True))) == 1

    table = xlsx_table_read(data, max_rows=100)

    assert table.header == ("n", "double", "label")
    assert len(table.rows) == 50
    assert table.rows[0] == SheetRow(number=2, values=(0, 0, "r0"))
    assert table.rows[-1] == SheetRow(number=51, values=(49, 98, "r49"))


def test_more_rows_than_the_cap_is_refused_not_cut():
    data = xlsx_bytes([["n"], [1], [2], [3], [4]])

    assert len(xlsx_table_read(data, max_rows=4).rows) == 4
    assert refusal(data, max_rows=3) == (
        "The sheet has more than 3 rows; split it into several files of at most 3 rows."
    )


def test_empty_sheet_is_refused():
    assert refusal(xlsx_bytes([])) == "The sheet is empty: row 1 must hold the column titles."


NOT_ZIP = "This is not an Excel workbook (.xlsx). Please upload the filled-in template."
DAMAGED = "The file is damaged or incomplete (was the upload cut off?). Save it again and retry."
OLD_XLS = (
    "This is an old-style .xls file or a password-protected workbook. Open it in Excel or WPS, "
    "save it as an Excel workbook (.xlsx) without a password and upload it again."
)
UNSAFE_NAME = "The workbook contains a part with an unsafe name (an absolute path or “..”); it is refused."
MACROS = "The workbook contains macros. Save it as a plain Excel workbook (.xlsx) without macros."
ENTITIES = "The workbook contains XML entity or DTD declarations, which are refused for safety."


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(b"building,unit,room\n1,1,101\n", NOT_ZIP, id="csv"),
        pytest.param(b"", NOT_ZIP, id="empty"),
        pytest.param(SMALL[: len(SMALL) // 2], DAMAGED, id="truncated"),
        pytest.param(SMALL[:-30], DAMAGED, id="central-directory-cut"),
        pytest.param(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), OLD_XLS, id="xls-or-encrypted"),
        pytest.param(xlsx_with(SMALL, add={"../evil.xml": b"<x/>"}), UNSAFE_NAME, id="dot-dot"),
        pytest.param(xlsx_with(SMALL, add={"xl/../../evil.xml": b"<x/>"}), UNSAFE_NAME, id="inner-dot-dot"),
        pytest.param(xlsx_with(SMALL, add={"/etc/cron.d/evil": b"x"}), UNSAFE_NAME, id="absolute"),
        pytest.param(xlsx_with(SMALL, add={"C:/evil.xml": b"x"}), UNSAFE_NAME, id="drive"),
        pytest.param(xlsx_with(SMALL, add={"xl/vbaProject.bin": b"\0" * 64}), MACROS, id="macros"),
        pytest.param(
            xlsx_with(SMALL, add={f"xl/media/image{i}.png": b"" for i in range(300)}),
            "The workbook has too many parts (309, at most 100); it is refused.",
            id="too-many-entries",
        ),
        pytest.param(
            xlsx_with(SMALL, add={"xl/media/bomb.bin": bytes(20 * 1024 * 1024)}),
            "A part of the workbook is compressed 1028:1 (at most 100:1 is accepted); it is refused as a possible "
            "zip bomb.",
            id="zip-bomb",
        ),
        pytest.param(xlsx_with_shared_strings(SMALL, BILLION_LAUGHS), ENTITIES, id="billion-laughs"),
        pytest.param(xlsx_with_shared_strings(SMALL, EXTERNAL_ENTITY), ENTITIES, id="xxe"),
        pytest.param(
            xlsx_with(
                SMALL,
                replace={
                    "xl/worksheets/sheet1.xml": b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY e "x">]>'
                    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                    b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&e;</t></is></c></row></sheetData>'
                    b"</worksheet>"
                },
            ),
            ENTITIES,
            id="entity-in-sheet",
        ),
        pytest.param(
            xlsx_with(SMALL, replace={"xl/worksheets/sheet1.xml": b"<worksheet><sheetData><row"}),
            "The workbook is damaged: part of it is not readable.",
            id="broken-xml",
        ),
        pytest.param(
            zip_build({"hello.txt": b"hi"}), "The file could not be read as an Excel workbook.", id="zip-not-xlsx"
        ),
    ],
)
def test_hostile_or_broken_files_are_refused_with_a_readable_message(data, message):
    assert refusal(data) == message


def test_declared_total_size_is_limited_before_decompressing():
    data = xlsx_with(SMALL, add={"xl/media/a.bin": bytes(600_000), "xl/media/b.bin": bytes(600_000)})
    limits = ArchiveLimits(max_uncompressed_bytes=1024 * 1024)

    assert refusal(data, limits=limits) == "The workbook would unpack to more than 1 MB; it is refused."


def test_a_part_that_lies_about_its_size_unpacks_no_more_than_declared():
    # zipfile cuts a part's output at the size the central directory declares,
    # so the declared sizes checked above bound what can ever be unpacked.
    name = b"xl/worksheets/sheet1.xml"
    central = SMALL.index(name, SMALL.index(b"PK\x01\x02"))
    header_at = SMALL.rindex(b"PK\x01\x02", 0, central)
    true_size = zipfile.ZipFile(io.BytesIO(SMALL)).getinfo(name.decode()).file_size
    assert int.from_bytes(SMALL[header_at + 24 : header_at + 28], "little") == true_size
    patched = SMALL[: header_at + 24] + (100).to_bytes(4, "little") + SMALL[header_at + 28 :]

    with (
        zipfile.ZipFile(io.BytesIO(patched)) as archive,
        archive.open(name.decode()) as part,
        pytest.raises(zipfile.BadZipFile, match="CRC"),
    ):
        part.read()
    assert refusal(patched) == "The workbook is damaged: part of it is not readable."


def test_encrypted_entries_are_refused():
    # zipfile cannot write encrypted parts: set the "encrypted" flag in the sheet's central directory header.
    name = b"xl/worksheets/sheet1.xml"
    header_at = SMALL.rindex(b"PK\x01\x02", 0, SMALL.index(name, SMALL.index(b"PK\x01\x02")))
    flags = int.from_bytes(SMALL[header_at + 8 : header_at + 10], "little") | 0x1
    data = SMALL[: header_at + 8] + flags.to_bytes(2, "little") + SMALL[header_at + 10 :]

    with pytest.raises(ImportRejected) as caught:
        xlsx_validate_archive(data)

    assert str(caught.value.message) == "The workbook is encrypted. Save it without a password and upload it again."


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_duplicate_part_names_are_refused():
    entries = list(zip_entries(SMALL).items())
    data = zip_build([*entries, ("xl/worksheets/sheet1.xml", b"<worksheet/>")])

    assert refusal(data) == "The workbook contains the same part twice; it is refused."


def test_imports_are_refused_when_openpyxl_does_not_use_defusedxml(monkeypatch):
    monkeypatch.setattr(openpyxl, "DEFUSEDXML", False)

    assert refusal(SMALL) == (
        "Spreadsheet imports are switched off: the server lacks its XML protections. Tell the administrator."
    )


def test_openpyxl_uses_defusedxml_here():
    from defusedxml import ElementTree as DefusedElementTree
    from openpyxl.xml import functions

    assert openpyxl.DEFUSEDXML is True
    assert functions.iterparse is DefusedElementTree.iterparse


def test_uploads_larger_than_the_limit_are_refused_while_reading():
    limits = ArchiveLimits(max_file_bytes=1024 * 1024)

    assert upload_read_limited(io.BytesIO(b"x" * 1024 * 1024), limits=limits) == b"x" * 1024 * 1024
    with pytest.raises(ImportRejected) as caught:
        upload_read_limited(io.BytesIO(b"x" * (1024 * 1024 + 1)), limits=limits)
    assert str(caught.value.message) == "The file is larger than 1 MB; split it into smaller files."
