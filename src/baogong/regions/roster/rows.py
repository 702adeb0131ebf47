"""The roster's columns and the checks every row goes through."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from baogong.accounts.models import Role
from baogong.core.errors import ImportRejected, RowError
from baogong.core.spreadsheets import CellValue, SheetTable

from ..models import VulnerabilityTag, vulnerability_mask_of

if TYPE_CHECKING:
    pass
# Roles that keep household rosters. Command staff may load one on a
# community's behalf; volunteers, departments and suppliers never write them.
ROSTER_IMPORT_ROLES = frozenset({Role.COMMAND, Role.SUBDISTRICT, Role.COMMUNITY})

MAX_REPORTED_ERRORS = 500
MAX_SIZE = 30


@dataclass(frozen=True)
class RosterColumn:
    key: str
    title: str  # bilingual on purpose: the same template serves Chinese and English users
    chinese: str
    english: str
    required: bool
    width: int


COLUMNS: tuple[RosterColumn, ...] = (
    RosterColumn("building", "楼栋 Building", "楼栋", "Building", True, 12),
    RosterColumn("unit", "单元 Unit", "单元", "Unit", True, 10),
    RosterColumn("room", "房号 Room", "房号", "Room", True, 10),
    RosterColumn("head_name", "户主姓名 Head of household", "户主姓名", "Head of household", True, 16),
    RosterColumn("size", "人数 Size", "人数", "Size", True, 8),
    RosterColumn("phone", "电话 Phone", "电话", "Phone", True, 16),
    RosterColumn("id_number", "身份证号 ID number (optional)", "身份证号", "ID number", False, 22),
    RosterColumn("vulnerability", "困难类别 Vulnerability", "困难类别", "Vulnerability", False, 22),
    RosterColumn("can_order_online", "能否网上下单 Can order online", "能否网上下单", "Can order online", False, 14),
    RosterColumn("notes", "备注 Notes", "备注", "Notes", False, 24),
)
COLUMN_BY_KEY = {column.key: column for column in COLUMNS}

# Names community workers actually write in the 困难类别 column, besides the codes.
VULNERABILITY_CHINESE: dict[str, tuple[str, ...]] = {
    VulnerabilityTag.POOR_REGISTERED: ("建档立卡贫困户", "建档立卡", "贫困户"),
    VulnerabilityTag.DIBAO: ("低保", "低保户"),
    VulnerabilityTag.TEKUN: ("特困", "特困人员", "特困户", "特困供养"),
    VulnerabilityTag.POOR_DISABLED: ("贫困残疾人", "困难残疾人", "残疾人"),
    VulnerabilityTag.ELDERLY_ALONE: ("独居老人", "空巢老人", "孤寡老人", "空巢独居老人"),
    VulnerabilityTag.LOST_ONLY_CHILD: ("失独家庭", "失独"),
    VulnerabilityTag.CHRONIC_PATIENT: ("慢性病患者", "慢性病", "慢病"),
    VulnerabilityTag.REDUCED_MOBILITY: ("行动不便",),
    VulnerabilityTag.OTHER: ("其他", "其他临时救助"),
}
YES_WORDS = frozenset({"是", "能", "可以", "yes", "y", "1", "true"})
NO_WORDS = frozenset({"否", "不能", "不可以", "no", "n", "0", "false"})
TAG_SEPARATORS = re.compile(r"[,，、;；\n]+")
MOBILE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE = re.compile(r"^(?:0\d{2,3}-?)?\d{7,8}$")
ID_NUMBER = re.compile(r"^\d{17}[\dX]$")
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARACTERS = "10X98765432"
# Household fields a roster row sets (beyond the address), in model terms.
HOUSEHOLD_FIELDS = ("head_name", "size", "phone", "id_number", "vulnerability_mask", "can_order_online", "notes")
FIELD_COLUMN = {
    "head_name": "head_name",
    "size": "size",
    "phone": "phone",
    "id_number": "id_number",
    "vulnerability_mask": "vulnerability",
    "can_order_online": "can_order_online",
    "notes": "notes",
}


@dataclass
class RosterRow:
    number: int
    building: str
    unit: str
    room: str
    values: dict[str, Any]  # HOUSEHOLD_FIELDS present in the file -> value


class CellProblem(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _header_key(value: CellValue) -> str:
    text = _cell_text(value) if not isinstance(value, (datetime, date, time, timedelta)) else ""
    text = re.sub(r"[（(].*?[）)]", "", text)
    return re.sub(r"\s+", "", text).casefold()


def _columns_locate(table: SheetTable) -> dict[str, int]:
    """Column key -> index in the row, from the header's titles (Chinese, English or both)."""
    positions: dict[str, int] = {}
    for index, value in enumerate(table.header):
        key = _header_key(value)
        if not key:
            continue
        for column in COLUMNS:
            names = {_header_key(column.title), _header_key(column.chinese), _header_key(column.english)}
            if key in names or key.startswith(_header_key(column.chinese)):
                if column.key in positions:
                    raise ImportRejected(
                        _("The column “%(column)s” appears twice in the title row.") % {"column": column.title}
                    )
                positions[column.key] = index
                break
    missing = [column.title for column in COLUMNS if column.required and column.key not in positions]
    if missing:
        raise ImportRejected(
            _("Row %(row)s must hold the column titles of the template; missing: %(columns)s.")
            % {"row": table.header_row, "columns": "、".join(missing)}
        )
    return positions


def roster_rows_validate(table: SheetTable) -> list[RosterRow]:
    positions = _columns_locate(table)
    if not table.rows:
        raise ImportRejected(_("The sheet has no households below the title row."))
    tag_names = _vulnerability_names()
    errors: list[RowError] = []
    rows: list[RosterRow] = []
    first_row_of: dict[tuple[str, str, str], int] = {}

    for sheet_row in table.rows:
        row_errors: list[RowError] = []
        parsed: dict[str, Any] = {}
        for column in COLUMNS:
            index = positions.get(column.key)
            if index is None:
                continue
            value = sheet_row.values[index] if index < len(sheet_row.values) else None
            try:
                parsed[column.key] = _cell_parse(column.key, value, tag_names)
            except CellProblem as problem:
                row_errors.append(RowError(row=sheet_row.number, field=column.title, message=problem.message))

        if not row_errors:
            address_key = (parsed["building"].casefold(), parsed["unit"].casefold(), parsed["room"].casefold())
            earlier = first_row_of.get(address_key)
            if earlier is not None:
                row_errors.append(
                    RowError(
                        row=sheet_row.number,
                        field=COLUMN_BY_KEY["room"].title,
                        message=_("the same building, unit and room as row %(row)s") % {"row": earlier},
                    )
                )
            else:
                first_row_of[address_key] = sheet_row.number
        if row_errors:
            errors.extend(row_errors)
            continue
        values = {name: parsed[FIELD_COLUMN[name]] for name in HOUSEHOLD_FIELDS if FIELD_COLUMN[name] in parsed}
        rows.append(
            RosterRow(
                number=sheet_row.number,
                building=parsed["building"],
                unit=parsed["unit"],
                room=parsed["room"],
                values=values,
            )
        )

    if errors:
        shown = errors[:MAX_REPORTED_ERRORS]
        if len(errors) > len(shown):
            message = _("The file has %(count)s errors; the first %(shown)s are listed. Nothing was imported.") % {
                "count": len(errors),
                "shown": len(shown),
            }
        else:
            message = ngettext(
                "The file has %(count)s error. Nothing was imported.",
                "The file has %(count)s errors. Nothing was imported.",
                len(errors),
            ) % {"count": len(errors)}
        raise ImportRejected(message, rows=shown)
    return rows


def _vulnerability_names() -> dict[str, str]:
    """Every accepted spelling (case-folded) -> tag code."""
    names: dict[str, str] = {}
    for tag in VulnerabilityTag:
        names[tag.value.casefold()] = tag.value
        names[str(tag.label).casefold()] = tag.value
        with translation.override("en"):
            names[str(tag.label).casefold()] = tag.value
        for chinese in VULNERABILITY_CHINESE[tag]:
            names[chinese] = tag.value
    return names


def _cell_parse(key: str, value: CellValue, tag_names: dict[str, str]) -> Any:
    if key in {"building", "unit", "room", "head_name"}:
        limit = {"building": 64, "unit": 64, "room": 16, "head_name": 64}[key]
        text = _required_text(value)
        if len(text) > limit:
            raise CellProblem(_("longer than %(limit)s characters") % {"limit": limit})
        return text
    if key == "size":
        return _size_parse(value)
    if key == "phone":
        return _phone_parse(value)
    if key == "id_number":
        return _id_number_parse(value)
    if key == "vulnerability":
        return _vulnerability_parse(value, tag_names)
    if key == "can_order_online":
        return _yes_no_parse(value)
    if key == "notes":
        text = _optional_text(value)
        if len(text) > 255:
            raise CellProblem(_("longer than %(limit)s characters") % {"limit": 255})
        return text
    raise AssertionError(key)


def _cell_text(value: CellValue) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    # NFKC turns full-width digits and letters (common from Chinese input methods) into ASCII, so
    # "１３８１２３４５６７８" is stored and matched as the same phone as "13812345678".
    return " ".join(unicodedata.normalize("NFKC", str(value)).split())


def _optional_text(value: CellValue) -> str:
    if isinstance(value, (datetime, date, time, timedelta)):
        # Excel turns "3-1" into 1 March; say so instead of storing a date as a room.
        raise CellProblem(_("Excel turned this into a date or time; format the column as Text and type it again"))
    return _cell_text(value)


def _required_text(value: CellValue) -> str:
    text = _optional_text(value)
    if not text:
        raise CellProblem(_("required"))
    return text


def _size_parse(value: CellValue) -> int:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise CellProblem(_("required"))
    number: int | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    if number is None or not 1 <= number <= MAX_SIZE:
        raise CellProblem(_("not a whole number of people from 1 to %(max)s") % {"max": MAX_SIZE})
    return number


def _phone_parse(value: CellValue) -> str:
    text = re.sub(r"\s+", "", _required_text(value))
    if len(text) > 20 or not (MOBILE.match(text) or LANDLINE.match(text)):
        raise CellProblem(_("not an 11-digit mobile number or a landline number (such as 0571-87654321)"))
    return text


def _id_number_parse(value: CellValue) -> str:
    if isinstance(value, float):
        # Excel keeps 15 significant digits: an ID typed into a Number cell has already lost its last digits.
        raise CellProblem(_("Excel stored the ID number as a number and lost digits; format the column as Text"))
    text = re.sub(r"\s+", "", _optional_text(value)).upper()
    if not text:
        return ""
    if not ID_NUMBER.match(text):
        raise CellProblem(_("not an 18-character ID number"))
    if not id_number_checksum_valid(text):
        raise CellProblem(_("the check digit (last character) is wrong; please check the number"))
    return text


def id_number_checksum_valid(id_number: str) -> bool:
    """GB 11643-1999: weighted sum of the first 17 digits mod 11 selects the check character."""
    total = sum(int(digit) * weight for digit, weight in zip(id_number[:17], ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARACTERS[total % 11] == id_number[17]


def _vulnerability_parse(value: CellValue, tag_names: dict[str, str]) -> int:
    text = _optional_text(value)
    tags: set[str] = set()
    for part in TAG_SEPARATORS.split(text):
        name = part.strip()
        if not name:
            continue
        tag = tag_names.get(name.casefold())
        if tag is None:
            raise CellProblem(
                _("unknown category “%(value)s”; use one of: %(names)s")
                % {"value": name[:40], "names": "、".join(names[0] for names in VULNERABILITY_CHINESE.values())}
            )
        tags.add(tag)
    return vulnerability_mask_of(tags)


def _yes_no_parse(value: CellValue) -> bool:
    if isinstance(value, bool):
        return value
    text = _optional_text(value).casefold()
    if not text:
        return True
    if text in YES_WORDS:
        return True
    if text in NO_WORDS:
        return False
    raise CellProblem(_("not yes or no; write 是 or 否 (yes/no, 1/0)"))
