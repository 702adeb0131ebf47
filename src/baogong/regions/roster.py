"""Household roster (摸排表) spreadsheets: the template and the import.

The import reads one compound's roster, checks every row and reports every
bad cell with its Excel row number and column; only a fully valid file is
written, in one transaction. Rows are matched to existing households by
(building, unit, room), so importing the same file again changes nothing and
a corrected file updates just the rows that changed.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from baogong.accounts.models import Role
from baogong.core.errors import ImportRejected, NotFound, PermissionDenied, RowError
from baogong.core.services import audit_record
from baogong.core.spreadsheets import CellValue, SheetTable, xlsx_table_read

from .models import Household, Region, RegionLevel, VulnerabilityTag, vulnerability_mask_of
from .selectors import region_list
from .services import region_create

if TYPE_CHECKING:
    from baogong.accounts.models import User
    from baogong.core.scoping import Scope

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


# ---------------------------------------------------------------- template


def roster_template_build() -> bytes:
    """The blank roster workbook: a data sheet with the titles and an instructions sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "住户 Households"
    sheet.append([column.title for column in COLUMNS])
    for index, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = column.width
        cell = sheet.cell(row=1, column=index)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if column.key in {"room", "phone", "id_number", "building", "unit"}:
            # Text, so Excel keeps leading zeros and all 18 digits of an ID number.
            for row in range(2, 1002):
                sheet.cell(row=row, column=index).number_format = "@"
    sheet.freeze_panes = "A2"

    def column_range(key: str) -> str:
        letter = get_column_letter([c.key for c in COLUMNS].index(key) + 1)
        return f"{letter}2:{letter}20001"

    size_rule = DataValidation(type="whole", operator="between", formula1="1", formula2=str(MAX_SIZE))
    size_rule.error = f"1–{MAX_SIZE}"
    size_rule.add(column_range("size"))
    online_rule = DataValidation(type="list", formula1='"是,否"', allow_blank=True)
    online_rule.add(column_range("can_order_online"))
    # A suggestion list only: one cell may hold several categories, so Excel must not refuse free text.
    tags_rule = DataValidation(
        type="list",
        formula1='"' + ",".join(names[0] for names in VULNERABILITY_CHINESE.values()) + '"',
        allow_blank=True,
        showErrorMessage=False,
    )
    tags_rule.add(column_range("vulnerability"))
    for rule in (size_rule, online_rule, tags_rule):
        sheet.add_data_validation(rule)

    notes = workbook.create_sheet("说明 Instructions")
    notes.column_dimensions["A"].width = 30
    notes.column_dimensions["B"].width = 70
    notes.append(["住户摸排表填写说明", "How to fill in the household roster"])
    notes.append(["每行一户；第1行标题不要改动。", "One household per row; keep the titles in row 1."])
    notes.append(
        [
            "同一楼栋、单元、房号只能出现一次；再次导入同一文件不会重复。",
            "Each building + unit + room only once; importing the same file again creates no duplicates.",
        ]
    )
    notes.append(
        [
            "有错误时整个文件都不导入，并列出错误行。",
            "If any row has an error, nothing is imported and the rows are listed.",
        ]
    )
    notes.append([])
    notes.append(["列 Column", "要求 Rule"])
    rules = {
        "building": "必填，如 1号楼 / required, e.g. 1号楼",
        "unit": "必填，如 1单元 / required, e.g. 1单元",
        "room": "必填，如 1203 / required, e.g. 1203",
        "head_name": "必填 / required",
        "size": f"必填，1–{MAX_SIZE} 的整数 / required, whole number 1–{MAX_SIZE}",
        "phone": "必填，11位手机号或座机（可带区号和-）/ required, 11-digit mobile or landline (with area code, -)",
        "id_number": "选填，18位身份证号 / optional, 18-character resident ID number",
        "vulnerability": "选填，可填多个，用逗号或顿号分隔 / optional, several allowed, separated by , or 、",
        "can_order_online": "是/否、yes/no、1/0；空白视为“是” / yes or no; blank means yes",
        "notes": "选填 / optional",
    }
    for column in COLUMNS:
        notes.append([column.title, rules[column.key]])
    notes.append([])
    notes.append(["困难类别 Vulnerability", "可填写 / accepted values"])
    with translation.override("en"):
        for tag in VulnerabilityTag:
            notes.append([tag.value, "、".join(VULNERABILITY_CHINESE[tag]) + f" / {tag.label}"])
    notes.append([])
    notes.append(["示例 Example"])
    notes.append([column.title for column in COLUMNS])
    notes.append(["1号楼", "1单元", "1203", "王建国", 3, "13812345678", "", "低保、独居老人", "否", "需送药"])
    for row in notes.iter_rows():
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# ------------------------------------------------------------------ import


@dataclass(frozen=True)
class RosterImportResult:
    compound_id: int
    rows: int
    created: int
    updated: int
    unchanged: int
    buildings_created: int
    units_created: int
    file_sha256: str


@dataclass
class _RosterRow:
    number: int
    building: str
    unit: str
    room: str
    values: dict[str, Any]  # HOUSEHOLD_FIELDS present in the file -> value


class _CellProblem(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def roster_import(*, actor: User | None, scope: Scope, compound_id: int, data: bytes) -> RosterImportResult:
    """Load a roster file into one compound, all or nothing.

    1. the caller's role and scope: a compound outside the scope is not found;
    2. the file (core.spreadsheets) and every row, collecting every problem;
    3. in one transaction with the compound row locked (two imports of one
       compound run one after the other): missing buildings and units are
       created, households are created or updated by (unit, room), and one
       audit row records the counts and the file's hash.
    """
    if scope.role not in ROSTER_IMPORT_ROLES:
        raise PermissionDenied(_("Only community, subdistrict and command staff may import household rosters."))
    compound = region_list(scope=scope).filter(pk=compound_id, level=RegionLevel.COMPOUND).first()
    if compound is None:
        raise NotFound()
    table = xlsx_table_read(data, max_rows=settings.ROSTER_IMPORT_MAX_ROWS)
    rows = _roster_rows_validate(table)
    return _roster_write(actor=actor, compound=compound, rows=rows, file_sha256=hashlib.sha256(data).hexdigest())


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


def _roster_rows_validate(table: SheetTable) -> list[_RosterRow]:
    positions = _columns_locate(table)
    if not table.rows:
        raise ImportRejected(_("The sheet has no households below the title row."))
    tag_names = _vulnerability_names()
    errors: list[RowError] = []
    rows: list[_RosterRow] = []
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
            except _CellProblem as problem:
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
            _RosterRow(
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
            raise _CellProblem(_("longer than %(limit)s characters") % {"limit": limit})
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
            raise _CellProblem(_("longer than %(limit)s characters") % {"limit": 255})
        return text
    raise AssertionError(key)


def _cell_text(value: CellValue) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).split())


def _optional_text(value: CellValue) -> str:
    if isinstance(value, (datetime, date, time, timedelta)):
        # Excel turns "3-1" into 1 March; say so instead of storing a date as a room.
        raise _CellProblem(_("Excel turned this into a date or time; format the column as Text and type it again"))
    return _cell_text(value)


def _required_text(value: CellValue) -> str:
    text = _optional_text(value)
    if not text:
        raise _CellProblem(_("required"))
    return text


def _size_parse(value: CellValue) -> int:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise _CellProblem(_("required"))
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
        raise _CellProblem(_("not a whole number of people from 1 to %(max)s") % {"max": MAX_SIZE})
    return number


def _phone_parse(value: CellValue) -> str:
    text = re.sub(r"\s+", "", _required_text(value))
    if len(text) > 20 or not (MOBILE.match(text) or LANDLINE.match(text)):
        raise _CellProblem(_("not an 11-digit mobile number or a landline number (such as 0571-87654321)"))
    return text


def _id_number_parse(value: CellValue) -> str:
    if isinstance(value, float):
        # Excel keeps 15 significant digits: an ID typed into a Number cell has already lost its last digits.
        raise _CellProblem(_("Excel stored the ID number as a number and lost digits; format the column as Text"))
    text = re.sub(r"\s+", "", _optional_text(value)).upper()
    if not text:
        return ""
    if not ID_NUMBER.match(text):
        raise _CellProblem(_("not an 18-character ID number"))
    if not id_number_checksum_valid(text):
        raise _CellProblem(_("the check digit (last character) is wrong; please check the number"))
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
            raise _CellProblem(
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
    raise _CellProblem(_("not yes or no; write 是 or 否 (yes/no, 1/0)"))


def _child_code(compound_code: str, kind: str, *names: str) -> str:
    """A stable code for a building or unit made from the compound's code and the names.

    Hashing the names keeps codes short, ASCII and the same on every import;
    a long compound code is shortened the same deterministic way.
    """
    digest = hashlib.sha256("\x1f".join(names).encode()).hexdigest()[:8].upper()
    prefix = compound_code
    if len(prefix) > 22:
        prefix = prefix[:13] + hashlib.sha256(prefix.encode()).hexdigest()[:8].upper()
    return f"{prefix}-{kind}{digest}"


@transaction.atomic
def _roster_write(
    *, actor: User | None, compound: Region, rows: list[_RosterRow], file_sha256: str
) -> RosterImportResult:
    compound = Region.objects.select_for_update().get(pk=compound.pk)
    buildings = {b.name: b for b in Region.objects.filter(parent=compound, level=RegionLevel.BUILDING)}
    units = {(u.parent_id, u.name): u for u in Region.objects.filter(parent__parent=compound, level=RegionLevel.UNIT)}
    planned_codes = {_child_code(compound.code, "B", row.building) for row in rows if row.building not in buildings}
    taken = set(Region.objects.filter(code__in=planned_codes).values_list("code", flat=True))
    if taken:
        raise ImportRejected(
            _("A building code derived for this compound is already used elsewhere (%(code)s); tell the administrator.")
            % {"code": sorted(taken)[0]}
        )

    buildings_created = units_created = 0
    unit_of_row: dict[int, Region] = {}
    for row in rows:
        building = buildings.get(row.building)
        if building is None:
            building = region_create(
                actor=actor,
                parent=compound,
                level=RegionLevel.BUILDING,
                code=_child_code(compound.code, "B", row.building),
                name=row.building,
            )
            buildings[row.building] = building
            buildings_created += 1
        unit = units.get((building.pk, row.unit))
        if unit is None:
            code = _child_code(compound.code, "U", row.building, row.unit)
            if Region.objects.filter(code=code).exists():
                raise ImportRejected(
                    _(
                        "A unit code derived for this compound is already used elsewhere (%(code)s); "
                        "tell the administrator."
                    )
                    % {"code": code}
                )
            unit = region_create(actor=actor, parent=building, level=RegionLevel.UNIT, code=code, name=row.unit)
            units[(building.pk, row.unit)] = unit
            units_created += 1
        unit_of_row[row.number] = unit

    existing = {(h.unit_id, h.room): h for h in Household.objects.filter(compound=compound)}
    to_create: list[Household] = []
    to_update: list[Household] = []
    changed_fields: set[str] = set()
    unchanged = 0
    now = timezone.now()
    for row in rows:
        unit = unit_of_row[row.number]
        household = existing.get((unit.pk, row.room))
        if household is None:
            to_create.append(Household(unit=unit, compound=compound, room=row.room, **row.values))
            continue
        differing = [name for name, value in row.values.items() if getattr(household, name) != value]
        if not differing:
            unchanged += 1
            continue
        for name in differing:
            setattr(household, name, row.values[name])
        household.updated_at = now
        changed_fields.update(differing)
        to_update.append(household)

    # Rows were validated above and the table constraints still hold the line,
    # so one bulk insert replaces a query (and an audit row) per household.
    Household.objects.bulk_create(to_create, batch_size=1000)
    if to_update:
        Household.objects.bulk_update(to_update, [*sorted(changed_fields), "updated_at"], batch_size=500)

    result = RosterImportResult(
        compound_id=compound.pk,
        rows=len(rows),
        created=len(to_create),
        updated=len(to_update),
        unchanged=unchanged,
        buildings_created=buildings_created,
        units_created=units_created,
        file_sha256=file_sha256,
    )
    # Counts and the file's hash only: the audit log must never hold names, phones or ID numbers.
    audit_record(
        actor=actor,
        action="household.import",
        target_type="region",
        target_id=compound.pk,
        payload={
            "rows": result.rows,
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "buildings_created": result.buildings_created,
            "units_created": result.units_created,
            "file_sha256": file_sha256,
        },
    )
    return result
