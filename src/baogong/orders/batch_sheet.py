"""The batch purchase sheet (团购表) of one compound: a workbook of proxy orders for offline households.

Community workers used to tally WeChat lists by hand against the 16:00
deadline. The template lists the compound's households that cannot order
online (names masked) with a column per package and item on offer for the
next delivery day; the filled-in sheet comes back and every row with a
quantity becomes a proxy order through `order_place`, exactly like one
entered on the phone page.

The import checks every row first and reports every bad cell with its Excel
row number and column, writing nothing. The orders are then placed in one
transaction: if the service still refuses a row (sold out meanwhile, cap
already used by an online order) every refusal is reported and everything is
rolled back. Each row's idempotency key is derived from the file's hash and
the row number, so uploading the same file again replays the orders instead
of placing them twice. Keys are per account, like every idempotency key: the
same file uploaded by a second worker would place its orders again.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from baogong.accounts.models import Role
from baogong.core.errors import ApplicationError, ImportRejected, NotFound, PermissionDenied, RowError
from baogong.core.services import audit_record
from baogong.core.spreadsheets import CellValue, SheetTable, xlsx_table_read
from baogong.regions.models import Region, RegionLevel
from baogong.regions.selectors import household_list, household_present, region_list

from .models import Channel, OfferLine, PaymentMethod
from .selectors import (
    offer_line_list,
    order_delivery_date_current,
    order_window_get,
    supermarket_of_compound,
)
from .services import MAX_LINE_QUANTITY, LineRequest, order_place

if TYPE_CHECKING:
    from baogong.accounts.models import User
    from baogong.core.scoping import Scope

# The roles that place proxy orders (代购) also fill in purchase sheets.
SHEET_ROLES = frozenset({Role.COMMUNITY, Role.SUBDISTRICT})
MAX_SHEET_ROWS = 5000
MAX_REPORTED_ERRORS = 500
OFFER_COLUMN = re.compile(r"\[#(\d+)\]\s*$")


@dataclass(frozen=True)
class SheetColumn:
    key: str
    title: str  # bilingual on purpose: one template serves Chinese and English users
    chinese: str
    english: str
    width: int


COLUMNS: tuple[SheetColumn, ...] = (
    SheetColumn("building", "楼栋 Building", "楼栋", "Building", 12),
    SheetColumn("unit", "单元 Unit", "单元", "Unit", 10),
    SheetColumn("room", "房号 Room", "房号", "Room", 10),
    SheetColumn("head_name", "户主 Head (masked)", "户主", "Head", 12),
    SheetColumn("channel", "渠道 Channel", "渠道", "Channel", 12),
    SheetColumn("read_back", "已回读确认 Read back", "已回读确认", "Read back", 14),
    SheetColumn("payment", "付款 Payment", "付款", "Payment", 12),
    SheetColumn("note", "备注 Note", "备注", "Note", 20),
)
COLUMN_BY_KEY = {column.key: column for column in COLUMNS}
REQUIRED_KEYS = ("building", "unit", "room")

CHANNEL_WORDS: dict[str, tuple[str, ...]] = {
    Channel.PHONE: ("电话", "phone", "tel"),
    Channel.WECHAT: ("微信", "wechat"),
    Channel.DOOR_TO_DOOR: ("上门", "入户", "door", "door to door", "door_to_door"),
    Channel.HOTLINE: ("热线", "12345", "hotline"),
}
PAYMENT_WORDS: dict[str, tuple[str, ...]] = {
    PaymentMethod.CASH: ("现金", "货到付款", "cash"),
    PaymentMethod.SCAN: ("扫码", "scan"),
    PaymentMethod.FREE: ("免费", "救助", "free", "relief"),
}
YES_WORDS = frozenset({"是", "已确认", "确认", "yes", "y", "1", "true", "✓", "√"})


def _text(value: CellValue) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _key(value: str) -> str:
    return re.sub(r"\s+", "", value).casefold()


def _word_lookup(words: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {_key(word): value for value, options in words.items() for word in options}


CHANNEL_BY_WORD = _word_lookup(CHANNEL_WORDS)
PAYMENT_BY_WORD = _word_lookup(PAYMENT_WORDS)


def _compound_of(*, scope: Scope, compound_id: int) -> Region:
    if scope.role not in SHEET_ROLES:
        raise PermissionDenied(_("Only community and subdistrict staff fill in purchase sheets."))
    compound = region_list(scope=scope).filter(pk=compound_id, level=RegionLevel.COMPOUND).first()
    if compound is None:
        raise NotFound()
    return compound


def _offer_title(line: OfferLine) -> str:
    return f"{line.goods_name} ¥{line.price} [#{line.pk}]"


# --- the template ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PurchaseSheetTemplate:
    content: bytes
    compound: Region
    delivery_date: date


def purchase_sheet_template_build(
    *, scope: Scope, compound_id: int, at: datetime | None = None
) -> PurchaseSheetTemplate:
    """The sheet for the compound's next delivery day: its offline households and the offer as columns."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    compound = _compound_of(scope=scope, compound_id=compound_id)
    day = order_delivery_date_current(compound=compound, at=at)
    window = order_window_get(compound=compound, delivery_date=day)
    offers = list(offer_line_list(supermarket_id=supermarket_of_compound(compound_id=compound.pk), delivery_date=day))
    households = household_list(scope=scope, region=compound).filter(can_order_online=False)

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "代购 Orders"
    titles = [column.title for column in COLUMNS] + [_offer_title(line) for line in offers]
    sheet.append(titles)
    for index, title in enumerate(titles, start=1):
        cell = sheet.cell(row=1, column=index)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        width = COLUMNS[index - 1].width if index <= len(COLUMNS) else max(12, min(len(title), 24))
        sheet.column_dimensions[get_column_letter(index)].width = width
    for household in households:
        # Masked: the sheet travels through WeChat and printers; the address is what identifies the household.
        view = household_present(household=household, scope=scope, actor=None)
        sheet.append([view.building, view.unit, view.room, view.head_name, "", "", "", ""])
    last_row = max(sheet.max_row, 2) + 200
    for index in (1, 2, 3):
        for row in range(2, last_row):
            sheet.cell(row=row, column=index).number_format = "@"
    sheet.freeze_panes = "E2"

    def column_range(index: int) -> str:
        letter = get_column_letter(index)
        return f"{letter}2:{letter}{last_row}"

    channel_rule = DataValidation(type="list", formula1='"电话,微信,上门,热线"', allow_blank=True)
    channel_rule.add(column_range(5))
    read_back_rule = DataValidation(type="list", formula1='"是,否"', allow_blank=True)
    read_back_rule.add(column_range(6))
    payment_rule = DataValidation(type="list", formula1='"现金,扫码,免费"', allow_blank=True)
    payment_rule.add(column_range(7))
    quantity_rule = DataValidation(type="whole", operator="between", formula1="0", formula2=str(MAX_LINE_QUANTITY))
    for offset in range(len(offers)):
        quantity_rule.add(column_range(len(COLUMNS) + 1 + offset))
    for rule in (channel_rule, read_back_rule, payment_rule, quantity_rule):
        sheet.add_data_validation(rule)

    notes = workbook.create_sheet("说明 Instructions")
    notes.column_dimensions["A"].width = 28
    notes.column_dimensions["B"].width = 70
    local = timezone.localtime
    notes.append(["小区 Compound", compound.name])
    notes.append(["送达日期 Delivery day", day.isoformat()])
    notes.append(["截止 Cut-off", f"{local(window.closes_at):%Y-%m-%d %H:%M}"])
    notes.append([])
    notes.append(
        ["每行一户，在商品列填写数量；数量为空的行不下单。", "One household per row; quantities in the goods columns."]
    )
    notes.append(
        ["不在表中的住户可以加行，填写楼栋、单元、房号。", "Add rows for other households by building, unit, room."]
    )
    notes.append(
        ["渠道：电话、微信、上门、热线；空白视为微信。", "Channel: phone, WeChat, door, hotline; blank = WeChat."]
    )
    notes.append(["已回读确认：向住户复述订单并确认后填“是”。", "Read back: write yes once the order was read back."])
    notes.append(["付款：现金、扫码、免费；空白视为现金。", "Payment: cash, scan or free; blank = cash."])
    notes.append(["有错误时整表不导入，并列出错误行。", "If any row has an error, nothing is imported."])
    notes.append(["同一文件重复上传不会重复下单。", "Uploading the same file again places no order twice."])
    with translation.override("en"):
        notes.append([])
        notes.append(["商品 Goods", "每户限购 Limit per household"])
        for line in offers:
            notes.append([_offer_title(line), line.household_cap])
    for row in notes.iter_rows():
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")

    buffer = io.BytesIO()
    workbook.save(buffer)
    return PurchaseSheetTemplate(content=buffer.getvalue(), compound=compound, delivery_date=day)


# --- the import -----------------------------------------------------------------------------------


@dataclass
class SheetOrder:
    number: int
    household_id: int
    channel: str
    payment_method: str
    note: str
    lines: list[LineRequest] = field(default_factory=list)


@dataclass(frozen=True)
class PurchaseSheetResult:
    compound_id: int
    delivery_date: date
    rows: int
    created: int
    replayed: int
    skipped: int
    order_ids: list[int]
    file_sha256: str


def _header_locate(table: SheetTable) -> tuple[dict[str, int], dict[int, int]]:
    """Fixed columns by title (Chinese, English or both) and offer line id -> column index."""
    fixed: dict[str, int] = {}
    offers: dict[int, int] = {}
    for index, value in enumerate(table.header):
        text = _text(value)
        match = OFFER_COLUMN.search(text)
        if match:
            offer_line_id = int(match.group(1))
            if offer_line_id in offers:
                raise ImportRejected(_("The column “%(column)s” appears twice in the title row.") % {"column": text})
            offers[offer_line_id] = index
            continue
        key = _key(re.sub(r"[（(].*?[）)]", "", text))
        if not key:
            continue
        for column in COLUMNS:
            if key in {_key(column.title), _key(column.chinese), _key(column.english)} or key.startswith(
                _key(column.chinese)
            ):
                if column.key in fixed:
                    raise ImportRejected(
                        _("The column “%(column)s” appears twice in the title row.") % {"column": column.title}
                    )
                fixed[column.key] = index
                break
    missing = [COLUMN_BY_KEY[key].title for key in REQUIRED_KEYS if key not in fixed]
    if missing:
        raise ImportRejected(
            _("The title row lacks the columns %(columns)s. Download a fresh template.")
            % {"columns": "、".join(missing)}
        )
    if not offers:
        raise ImportRejected(_("The sheet has no goods columns. Download a fresh template."))
    return fixed, offers


def _sheet_delivery_date(*, compound: Region, offer_columns: dict[int, int]) -> date:
    """The delivery day of the sheet's goods columns, which must all be the compound's supermarket's."""
    supermarket_id = supermarket_of_compound(compound_id=compound.pk)
    offers = {
        line.pk: line
        for line in OfferLine.objects.filter(pk__in=offer_columns, supermarket_id=supermarket_id).select_related(
            "kit", "commodity"
        )
    }
    days = {line.delivery_date for line in offers.values()}
    if len(offers) != len(offer_columns) or len(days) != 1:
        raise ImportRejected(
            _(
                "The goods columns do not match what this compound's supermarket offers for one delivery day. "
                "Download a fresh template for this compound."
            )
        )
    return days.pop()


def _quantity(value: CellValue) -> int:
    if value is None or (isinstance(value, str) and not value.strip()):
        return 0
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, (str, Decimal)) and re.fullmatch(r"\d+", str(value).strip()):
        number = int(str(value).strip())
    else:
        raise ValueError
    if not 0 <= number <= MAX_LINE_QUANTITY:
        raise ValueError
    return number


def _rows_validate(
    *,
    table: SheetTable,
    fixed: dict[str, int],
    offer_columns: dict[int, int],
    addresses: dict[tuple[str, str, str], int],
    compound: Region,
) -> tuple[list[SheetOrder], int, list[RowError]]:
    errors: list[RowError] = []
    orders: list[SheetOrder] = []
    seen: dict[int, int] = {}
    skipped = 0
    header = table.header

    def cell(values: tuple[CellValue, ...], key: str) -> CellValue:
        index = fixed.get(key)
        return values[index] if index is not None and index < len(values) else None

    for row in table.rows:
        problems: list[RowError] = []

        def problem(key: str, message: str, *, row_number: int = row.number, found: list[RowError] = problems) -> None:
            found.append(RowError(row=row_number, field=COLUMN_BY_KEY[key].title, message=message))

        lines: list[LineRequest] = []
        for offer_line_id, index in offer_columns.items():
            value = row.values[index] if index < len(row.values) else None
            try:
                quantity = _quantity(value)
            except ValueError:
                problems.append(
                    RowError(
                        row=row.number,
                        field=_text(header[index]),
                        message=_("Enter a whole number from 0 to %(max)s.") % {"max": MAX_LINE_QUANTITY},
                    )
                )
                continue
            if quantity:
                lines.append(LineRequest(offer_line_id=offer_line_id, quantity=quantity))
        if not lines and not problems:
            # A listed household that orders nothing this time.
            skipped += 1
            continue
        address = tuple(_text(cell(row.values, key)) for key in REQUIRED_KEYS)
        for key, text in zip(REQUIRED_KEYS, address, strict=True):
            if not text:
                problem(key, _("Required."))
        household_id = addresses.get((address[0], address[1], address[2])) if all(address) else None
        if all(address) and household_id is None:
            problem(
                "room",
                _("No household at %(address)s in %(compound)s.")
                % {"address": " ".join(address), "compound": compound.name},
            )
        if household_id is not None:
            if household_id in seen:
                problem("room", _("This household is already on row %(row)s.") % {"row": seen[household_id]})
            else:
                seen[household_id] = row.number
        channel_text = _key(_text(cell(row.values, "channel")))
        channel = CHANNEL_BY_WORD.get(channel_text) if channel_text else Channel.WECHAT
        if channel is None:
            problem("channel", _("Write 电话 (phone), 微信 (WeChat), 上门 (door to door) or 热线 (hotline)."))
        if _key(_text(cell(row.values, "read_back"))) not in YES_WORDS:
            problem("read_back", _("Read the order back to the household, then write 是 (yes)."))
        payment_text = _key(_text(cell(row.values, "payment")))
        payment = PAYMENT_BY_WORD.get(payment_text) if payment_text else PaymentMethod.CASH
        if payment is None:
            problem("payment", _("Write 现金 (cash), 扫码 (scan) or 免费 (free)."))
        note = _text(cell(row.values, "note"))
        if len(note) > 255:
            problem("note", _("At most 255 characters."))
        if problems:
            errors.extend(problems)
            continue
        assert household_id is not None
        assert channel is not None
        assert payment is not None
        orders.append(
            SheetOrder(
                number=row.number,
                household_id=household_id,
                channel=channel,
                payment_method=payment,
                note=note,
                lines=lines,
            )
        )
    return orders, skipped, errors


def _column_of_service_field(service_field: str | None, order: SheetOrder, offer_titles: dict[int, str]) -> str:
    match = re.match(r"^lines\[(\d+)\]\.", service_field or "")
    if match and int(match.group(1)) < len(order.lines):
        return offer_titles[order.lines[int(match.group(1))].offer_line_id]
    mapping = {
        "channel": "channel",
        "payment_method": "payment",
        "read_back_confirmed": "read_back",
        "household_id": "room",
    }
    key = mapping.get(service_field or "")
    return COLUMN_BY_KEY[key].title if key else "—"


def purchase_sheet_import(*, actor: User, scope: Scope, compound_id: int, data: bytes) -> PurchaseSheetResult:
    """Place the proxy orders of a filled-in purchase sheet, all or nothing.

    1. role and scope: a compound outside the scope is not found;
    2. the file (core.spreadsheets) and every row, collecting every problem;
    3. one transaction: `order_place` per row with a key derived from the
       file's hash and the row number; every refusal is collected and, if
       there is any, the whole transaction is rolled back.
    """
    compound = _compound_of(scope=scope, compound_id=compound_id)
    file_sha256 = hashlib.sha256(data).hexdigest()
    table = xlsx_table_read(data, max_rows=MAX_SHEET_ROWS)
    fixed, offer_columns = _header_locate(table)
    delivery_date = _sheet_delivery_date(compound=compound, offer_columns=offer_columns)
    addresses = {
        (household.unit.parent.name if household.unit.parent else "", household.unit.name, household.room): household.pk
        for household in household_list(scope=scope, region=compound)
    }
    orders, skipped, errors = _rows_validate(
        table=table, fixed=fixed, offer_columns=offer_columns, addresses=addresses, compound=compound
    )
    if errors:
        raise ImportRejected(rows=errors[:MAX_REPORTED_ERRORS])
    if not orders:
        raise ImportRejected(_("No row has a quantity: nothing to order."))
    offer_titles = {offer_line_id: _text(table.header[index]) for offer_line_id, index in offer_columns.items()}
    order_ids: list[int] = []
    created = replayed = 0
    with transaction.atomic():
        for order in orders:
            key = hashlib.sha256(f"{file_sha256}:{order.number}".encode()).hexdigest()[:48]
            try:
                # A savepoint per row: a refused row is rolled back on its own and the next one still runs.
                with transaction.atomic():
                    placed = order_place(
                        actor=actor,
                        household_id=order.household_id,
                        delivery_date=delivery_date,
                        lines=order.lines,
                        idempotency_key=f"sheet-{key}",
                        channel=order.channel,
                        payment_method=order.payment_method,
                        read_back_confirmed=True,
                        read_back_note=order.note,
                    )
            except ApplicationError as error:
                errors.append(
                    RowError(
                        row=order.number,
                        field=_column_of_service_field(error.field, order, offer_titles),
                        message=str(error.message),
                    )
                )
                continue
            if placed.order_id is not None:
                order_ids.append(placed.order_id)
            if placed.replayed:
                replayed += 1
            else:
                created += 1
        if errors:
            # Raised inside the transaction: every order placed above is rolled back with it.
            raise ImportRejected(rows=errors[:MAX_REPORTED_ERRORS])
        result = PurchaseSheetResult(
            compound_id=compound.pk,
            delivery_date=delivery_date,
            rows=len(table.rows),
            created=created,
            replayed=replayed,
            skipped=skipped,
            order_ids=order_ids,
            file_sha256=file_sha256,
        )
        # Counts and the file's hash only; the orders carry their own audit rows.
        audit_record(
            actor=actor,
            action="order.sheet_import",
            target_type="region",
            target_id=compound.pk,
            payload={
                "delivery_date": delivery_date,
                "rows": result.rows,
                "created": created,
                "replayed": replayed,
                "skipped": skipped,
                "file_sha256": file_sha256,
            },
        )
    return result
