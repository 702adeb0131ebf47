"""Roster workbooks for the import tests."""

from __future__ import annotations

from baogong.core.tests.xlsx_files import xlsx_bytes
from baogong.regions.roster import COLUMNS, ID_CHECK_CHARACTERS, ID_WEIGHTS

HEADER = [column.title for column in COLUMNS]


def id_number_with_check(first17: str) -> str:
    """Complete 17 digits with their GB 11643 check character."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, ID_WEIGHTS, strict=True))
    return first17 + ID_CHECK_CHARACTERS[total % 11]


VALID_ID = id_number_with_check("11010519491231002")
VALID_ID_2 = id_number_with_check("33010619800101123")


def roster_row(
    building: object = "1号楼",
    unit: object = "1单元",
    room: object = "101",
    head_name: object = "王建国",
    size: object = 3,
    phone: object = "13812345678",
    id_number: object = "",
    vulnerability: object = "",
    can_order_online: object = "是",
    notes: object = "",
) -> list[object]:
    return [building, unit, room, head_name, size, phone, id_number, vulnerability, can_order_online, notes]


def roster_file(rows: list[list[object]], header: list[object] | None = None) -> bytes:
    return xlsx_bytes([header or HEADER, *rows])
