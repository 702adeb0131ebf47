import hashlib
import io
from datetime import datetime

import openpyxl
import pytest
from django.utils import translation

from baogong.accounts.models import Role
from baogong.accounts.tests.factories import user
from baogong.core.errors import ImportRejected, NotFound, PermissionDenied, RowError
from baogong.core.models import AuditLog
from baogong.core.scoping import scope_of
from baogong.core.tests.xlsx_files import (
    BILLION_LAUGHS,
    xlsx_with,
    xlsx_with_dimension,
    xlsx_with_shared_strings,
)
from baogong.regions.models import Household, Region, RegionLevel, vulnerability_mask_of
from baogong.regions.roster import COLUMNS, roster_import, roster_template_build
from baogong.regions.tests.factories import household, make_tree
from baogong.regions.tests.roster_files import (
    HEADER,
    VALID_ID,
    VALID_ID_2,
    id_number_with_check,
    roster_file,
    roster_row,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def tree():
    return make_tree()


@pytest.fixture
def worker(tree):
    return user(Role.COMMUNITY, region=tree.community)


def run(worker, compound, data):
    return roster_import(actor=worker, scope=scope_of(worker), compound_id=compound.pk, data=data)


def state():
    return (Household.objects.count(), Region.objects.count(), AuditLog.objects.count())


VALID_ROWS = [
    roster_row("1号楼", "1单元", "101", "王建国", 3, "13812345678", VALID_ID, "低保、独居老人", "否", "需送药"),
    roster_row("1号楼", "2单元", "201", "李秀英", 1, "0571-87654321", "", "", "是", ""),
    roster_row("2号楼", "1单元", "101", "张伟", 5, "13900001111", VALID_ID_2.lower(), "dibao, tekun", "yes", ""),
    roster_row(2, 1, 102, "Chen Li", 2.0, 13700002222, "", "chronic patient", 1, ""),
]


def households_as_rows():
    return list(
        Household.objects.order_by("unit__parent__name", "unit__name", "room").values_list(
            "unit__parent__name",
            "unit__name",
            "room",
            "head_name",
            "size",
            "phone",
            "id_number",
            "vulnerability_mask",
            "can_order_online",
            "notes",
        )
    )


def test_a_valid_roster_imports_every_household_and_creates_buildings_and_units(tree, worker):
    data = roster_file(VALID_ROWS)
    regions_before = Region.objects.count()

    result = run(worker, tree.compound, data)

    assert (result.rows, result.created, result.updated, result.unchanged) == (4, 4, 0, 0)
    assert (result.buildings_created, result.units_created) == (2, 3)
    assert households_as_rows() == [
        (
            "1号楼",
            "1单元",
            "101",
            "王建国",
            3,
            "13812345678",
            VALID_ID,
            vulnerability_mask_of({"dibao", "elderly_alone"}),
            False,
            "需送药",
        ),
        ("1号楼", "2单元", "201", "李秀英", 1, "0571-87654321", "", 0, True, ""),
        ("2", "1", "102", "Chen Li", 2, "13700002222", "", vulnerability_mask_of({"chronic_patient"}), True, ""),
        (
            "2号楼",
            "1单元",
            "101",
            "张伟",
            5,
            "13900001111",
            VALID_ID_2,
            vulnerability_mask_of({"dibao", "tekun"}),
            True,
            "",
        ),
    ]
    assert set(Household.objects.values_list("compound_id", flat=True)) == {tree.compound.pk}
    # The existing 1号楼/1单元 is reused; 1号楼/2单元, 2号楼, 2号楼/1单元, 2 and 2/1 are new.
    assert Region.objects.count() == regions_before + 5
    buildings = Region.objects.filter(parent=tree.compound).order_by("name")
    assert [(b.name, b.level) for b in buildings] == [
        ("1号楼", RegionLevel.BUILDING),
        ("2", RegionLevel.BUILDING),
        ("2号楼", RegionLevel.BUILDING),
    ]
    assert Household.objects.get(room="101", unit__parent__name="1号楼").unit == tree.unit
    new_building = buildings.get(name="2号楼")
    digest = hashlib.sha256("2号楼".encode()).hexdigest()[:8].upper()
    assert new_building.code == f"{tree.compound.code}-B{digest}"
    assert new_building.path == f"{tree.compound.path}{new_building.pk}/"
    unit = Region.objects.get(parent=new_building)
    assert unit.path == f"{new_building.path}{unit.pk}/"
    imports = AuditLog.objects.filter(action="household.import")
    assert imports.count() == 1
    audit = imports.get()
    assert (audit.actor, audit.target_type, audit.target_id) == (worker, "region", str(tree.compound.pk))
    assert audit.payload == {
        "rows": 4,
        "created": 4,
        "updated": 0,
        "unchanged": 0,
        "buildings_created": 2,
        "units_created": 3,
        "file_sha256": hashlib.sha256(data).hexdigest(),
    }


def test_importing_the_same_file_twice_creates_no_duplicates(tree, worker):
    data = roster_file(VALID_ROWS)
    run(worker, tree.compound, data)
    households, regions, audits = state()
    stored = households_as_rows()

    result = run(worker, tree.compound, data)

    assert (result.created, result.updated, result.unchanged) == (0, 0, 4)
    assert (result.buildings_created, result.units_created) == (0, 0)
    assert (Household.objects.count(), Region.objects.count()) == (households, regions)
    assert AuditLog.objects.count() == audits + 1
    assert households_as_rows() == stored


def test_a_changed_row_updates_only_that_household(tree, worker):
    run(worker, tree.compound, roster_file(VALID_ROWS))
    target = Household.objects.get(unit__parent__name="1号楼", unit__name="2单元", room="201")
    created_at = target.created_at
    changed = [*VALID_ROWS]
    changed[1] = roster_row("1号楼", "2单元", "201", "李秀英", 2, "13612345678", "", "行动不便", "否", "")

    result = run(worker, tree.compound, roster_file(changed))

    assert (result.created, result.updated, result.unchanged) == (0, 1, 3)
    target.refresh_from_db()
    assert (target.size, target.phone, target.vulnerability_mask, target.can_order_online) == (
        2,
        "13612345678",
        vulnerability_mask_of({"reduced_mobility"}),
        False,
    )
    assert target.created_at == created_at
    assert Household.objects.count() == 4


def test_existing_households_are_matched_by_unit_and_room(tree, worker):
    existing = household(tree.unit, room="101", head_name="王建国", size=3, phone="13812345678", id_number="")

    result = run(worker, tree.compound, roster_file([roster_row(size=4)]))

    assert (result.created, result.updated, result.unchanged) == (0, 1, 0)
    existing.refresh_from_db()
    assert existing.size == 4


def test_columns_missing_from_the_file_keep_stored_values(tree, worker):
    household(tree.unit, room="101", head_name="王建国", size=3, phone="13812345678", id_number=VALID_ID)
    header = HEADER[:6]

    result = run(worker, tree.compound, roster_file([roster_row()[:6]], header=header))

    assert (result.created, result.updated, result.unchanged) == (0, 0, 1)
    assert Household.objects.get().id_number == VALID_ID


def test_a_roster_with_errors_reports_every_row_and_field_and_imports_nothing(tree, worker):
    rows = [
        roster_row(room="101"),  # row 2: valid
        roster_row(room="102", head_name=""),  # row 3: required
        roster_row(room="103", size=0),  # row 4: size
        roster_row(room="104", phone="1381234567"),  # row 5: phone
        roster_row(room="105", id_number=VALID_ID[:-1] + ("0" if VALID_ID[-1] != "0" else "1")),  # row 6
        roster_row(room="106", vulnerability="低保、外星人"),  # row 7: unknown tag
        roster_row(room="101"),  # row 8: duplicate of row 2
        roster_row(room="108", can_order_online="maybe"),  # row 9: yes/no
        roster_row(room="109", size="three", phone="12345"),  # row 10: two errors in one row
        roster_row(room="110", id_number="1101051949123100"),  # row 11: ID length
        roster_row(building=None, room="111"),  # row 12: required building
        roster_row(room=datetime(2022, 3, 1)),  # row 13: Excel made a date of "3-1"
        roster_row(room="113", id_number=110105194912310020.0),  # row 14: ID typed as a number
    ]
    before = state()

    with pytest.raises(ImportRejected) as caught:
        run(worker, tree.compound, roster_file(rows))

    assert caught.value.rows == [
        RowError(3, "户主姓名 Head of household", "required"),
        RowError(4, "人数 Size", "not a whole number of people from 1 to 30"),
        RowError(5, "电话 Phone", "not an 11-digit mobile number or a landline number (such as 0571-87654321)"),
        RowError(
            6, "身份证号 ID number (optional)", "the check digit (last character) is wrong; please check the number"
        ),
        RowError(
            7,
            "困难类别 Vulnerability",
            "unknown category “外星人”; use one of: "
            "建档立卡贫困户、低保、特困、贫困残疾人、独居老人、失独家庭、慢性病患者、行动不便、其他",
        ),
        RowError(8, "房号 Room", "the same building, unit and room as row 2"),
        RowError(9, "能否网上下单 Can order online", "not yes or no; write 是 or 否 (yes/no, 1/0)"),
        RowError(10, "人数 Size", "not a whole number of people from 1 to 30"),
        RowError(10, "电话 Phone", "not an 11-digit mobile number or a landline number (such as 0571-87654321)"),
        RowError(11, "身份证号 ID number (optional)", "not an 18-character ID number"),
        RowError(12, "楼栋 Building", "required"),
        RowError(13, "房号 Room", "Excel turned this into a date or time; format the column as Text and type it again"),
        RowError(
            14,
            "身份证号 ID number (optional)",
            "Excel stored the ID number as a number and lost digits; format the column as Text",
        ),
    ]
    assert str(caught.value.message) == "The file has 13 errors. Nothing was imported."
    assert state() == before


def test_only_the_first_errors_are_listed_when_there_are_very_many(tree, worker, monkeypatch):
    from baogong.regions.roster import rows as roster

    monkeypatch.setattr(roster, "MAX_REPORTED_ERRORS", 2)
    rows = [roster_row(room=str(room), size=0) for room in (101, 102, 103)]

    with pytest.raises(ImportRejected) as caught:
        run(worker, tree.compound, roster_file(rows))

    assert str(caught.value.message) == "The file has 3 errors; the first 2 are listed. Nothing was imported."
    assert [error.row for error in caught.value.rows] == [2, 3]


def test_a_late_error_rolls_back_buildings_already_created(tree, worker, monkeypatch):
    from baogong.regions.roster import importer as roster

    def failing_bulk_create(*args, **kwargs):
        raise ImportRejected("boom")

    monkeypatch.setattr(roster.Household.objects, "bulk_create", failing_bulk_create)
    before = state()

    with pytest.raises(ImportRejected):
        run(worker, tree.compound, roster_file(VALID_ROWS))

    assert state() == before


def test_wrong_dimension_still_imports_all_fifty_rows(tree, worker):
    rows = [roster_row(building=f"{1 + i // 10}号楼", room=str(101 + i)) for i in range(50)]
    data = xlsx_with_dimension(roster_file(rows), "A1:A1")
    sheet = openpyxl.load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    assert (sheet.max_row, sheet.max_column) == (1, 1)

    result = run(worker, tree.compound, data)

    assert (result.rows, result.created) == (50, 50)
    assert Household.objects.filter(compound=tree.compound).count() == 50
    assert Household.objects.get(room="150").unit.parent.name == "5号楼"


def test_more_rows_than_allowed_is_refused(tree, worker, settings):
    settings.ROSTER_IMPORT_MAX_ROWS = 3
    before = state()

    with pytest.raises(ImportRejected) as caught:
        run(worker, tree.compound, roster_file(VALID_ROWS))

    assert str(caught.value.message) == (
        "The sheet has more than 3 rows; split it into several files of at most 3 rows."
    )
    assert state() == before


VALID_FILE = roster_file(VALID_ROWS)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(
            xlsx_with(VALID_FILE, add={"xl/media/bomb.bin": bytes(20 * 1024 * 1024)}),
            "A part of the workbook is compressed 1028:1 (at most 100:1 is accepted); it is refused as a possible "
            "zip bomb.",
            id="zip-bomb",
        ),
        pytest.param(
            xlsx_with(VALID_FILE, add={f"xl/media/image{i}.png": b"" for i in range(300)}),
            "The workbook has too many parts (309, at most 100); it is refused.",
            id="too-many-entries",
        ),
        pytest.param(
            "楼栋,单元\n1号楼,1单元\n".encode(),
            "This is not an Excel workbook (.xlsx). Please upload the filled-in template.",
            id="not-a-zip",
        ),
        pytest.param(
            VALID_FILE[: len(VALID_FILE) - 200],
            "The file is damaged or incomplete (was the upload cut off?). Save it again and retry.",
            id="truncated",
        ),
        pytest.param(
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096),
            "This is an old-style .xls file or a password-protected workbook. Open it in Excel or WPS, save it as "
            "an Excel workbook (.xlsx) without a password and upload it again.",
            id="renamed-xls",
        ),
        pytest.param(
            xlsx_with(VALID_FILE, add={"../../roster.xml": b"<x/>"}),
            "The workbook contains a part with an unsafe name (an absolute path or “..”); it is refused.",
            id="dot-dot-name",
        ),
        pytest.param(
            xlsx_with(VALID_FILE, add={"xl/vbaProject.bin": bytes(64)}),
            "The workbook contains macros. Save it as a plain Excel workbook (.xlsx) without macros.",
            id="macros",
        ),
        pytest.param(
            xlsx_with_shared_strings(VALID_FILE, BILLION_LAUGHS),
            "The workbook contains XML entity or DTD declarations, which are refused for safety.",
            id="billion-laughs",
        ),
        pytest.param(
            roster_file([roster_row()], header=["楼栋 Building", "单元 Unit", "人数 Size", "phone"]),
            "Row 1 must hold the column titles of the template; missing: 房号 Room、户主姓名 Head of household.",
            id="missing-columns",
        ),
        pytest.param(
            roster_file([]),
            "The sheet has no households below the title row.",
            id="no-rows",
        ),
    ],
)
def test_unsafe_or_unusable_files_are_refused_and_nothing_is_written(tree, worker, data, message):
    before = state()

    with pytest.raises(ImportRejected) as caught:
        run(worker, tree.compound, data)

    assert str(caught.value.message) == message
    assert caught.value.rows == []
    assert state() == before


def test_headers_may_be_chinese_only_english_only_and_in_any_order(tree, worker):
    header = ["电话", "Room", "单元", "楼栋", "户主姓名", "Size", "困难类别（可多选）"]
    data = roster_file([["13812345678", "301", "1单元", "3号楼", "赵敏", 2, "特困"]], header=header)

    result = run(worker, tree.compound, data)

    assert result.created == 1
    stored = Household.objects.get()
    assert (stored.room, stored.head_name, stored.phone, stored.vulnerability_mask) == (
        "301",
        "赵敏",
        "13812345678",
        vulnerability_mask_of({"tekun"}),
    )


def test_a_community_worker_cannot_import_into_another_community(tree, worker):
    other = make_tree(tree.county)
    before = state()

    with pytest.raises(NotFound):
        run(worker, other.compound, VALID_FILE)

    assert state() == before


def test_a_region_that_is_not_a_compound_is_not_found(tree, worker):
    with pytest.raises(NotFound):
        run(worker, tree.building, VALID_FILE)


@pytest.mark.parametrize("role", [Role.VOLUNTEER, Role.CHECKPOINT])
def test_other_roles_may_not_import(tree, role):
    account = user(role, region=tree.community)
    before = state()

    with pytest.raises(PermissionDenied):
        run(account, tree.compound, VALID_FILE)

    assert state() == before


@pytest.mark.parametrize("role", [Role.SUBDISTRICT, Role.COMMAND])
def test_subdistrict_and_command_staff_may_import(tree, role):
    account = user(role, region=tree.subdistrict if role == Role.SUBDISTRICT else tree.county)

    assert run(account, tree.compound, VALID_FILE).created == 4


def test_id_number_checksum_accepts_x():
    from baogong.regions.roster import id_number_checksum_valid

    assert id_number_with_check("11010519491231002") == "11010519491231002X"
    assert id_number_checksum_valid("11010519491231002X") is True
    assert id_number_checksum_valid("110105194912310021") is False


def test_the_template_has_the_titles_an_instructions_sheet_and_imports_when_filled_in(tree, worker):
    template = openpyxl.load_workbook(io.BytesIO(roster_template_build()))
    sheet = template.worksheets[0]

    assert [cell.value for cell in sheet[1]] == [column.title for column in COLUMNS]
    assert template.sheetnames == ["住户 Households", "说明 Instructions"]
    assert sorted(str(rule.sqref) for rule in sheet.data_validations.dataValidation) == [
        "E2:E20001",
        "H2:H20001",
        "I2:I20001",
    ]
    for column, value in enumerate(VALID_ROWS[0], start=1):
        sheet.cell(row=2, column=column, value=value)
    buffer = io.BytesIO()
    template.save(buffer)

    result = run(worker, tree.compound, buffer.getvalue())

    assert (result.rows, result.created) == (1, 1)
    assert Household.objects.get().head_name == "王建国"


def test_full_width_digits_and_letters_are_stored_as_ascii(tree, worker):
    full_width = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
    row = roster_row(
        "１号楼", "１单元", "１０１", "王建国", 3, "13812345678".translate(full_width), VALID_ID.translate(full_width)
    )

    result = run(worker, tree.compound, roster_file([row]))

    assert result.created == 1
    stored = Household.objects.get()
    assert (stored.unit.parent.name, stored.unit.name, stored.room, stored.phone, stored.id_number) == (
        "1号楼",
        "1单元",
        "101",
        "13812345678",
        VALID_ID,
    )
