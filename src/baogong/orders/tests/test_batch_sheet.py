"""The batch purchase sheet: the template, row-by-row checks that write nothing, and replay on re-upload."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from baogong.accounts.models import Role
from baogong.accounts.tests.factories import user
from baogong.core.errors import ImportRejected, NotFound, PermissionDenied, RowError
from baogong.core.models import AuditLog
from baogong.core.scoping import scope_of
from baogong.orders.batch_sheet import purchase_sheet_import, purchase_sheet_template_build
from baogong.orders.models import HouseholdQuota, IdempotencyKey, OfferLine, Order, OrderEvent
from baogong.orders.services import LineRequest, order_place
from baogong.orders.tests.factories import DAY, NOW, build_ordering_world, new_key
from baogong.regions.models import Household
from baogong.regions.tests.factories import household

pytestmark = pytest.mark.django_db

FIXED = [
    "楼栋 Building",
    "单元 Unit",
    "房号 Room",
    "户主 Head (masked)",
    "渠道 Channel",
    "已回读确认 Read back",
    "付款 Payment",
    "备注 Note",
]


@pytest.fixture(autouse=True)
def english():
    # Services run outside a request, so the messages are in the default language unless told otherwise.
    with translation.override("en"):
        yield


@pytest.fixture
def ow(monkeypatch):
    monkeypatch.setattr("django.utils.timezone.now", lambda: NOW)
    world = build_ordering_world()
    Household.objects.filter(pk=world.household("A1b")).update(can_order_online=False)
    unit = world.world.regions["A1-unit"]
    household(unit, room="103", head_name="周老伯", phone="13900000055", can_order_online=False)
    household(unit, room="104", head_name="吴阿姨", phone="13900000066", can_order_online=False)
    return world


def template_of(ow) -> bytes:
    return purchase_sheet_template_build(scope=scope_of(ow.community), compound_id=ow.world.regions["A1"].pk).content


def filled(ow, rows: dict[int, dict[str, object]]) -> bytes:
    """The template with cells filled in: {excel row: {column title or offer key: value}}."""
    workbook = load_workbook(io.BytesIO(template_of(ow)))
    sheet = workbook.worksheets[0]
    header = [cell.value for cell in sheet[1]]
    for number, values in rows.items():
        for name, value in values.items():
            title = next(
                t for t in header if t == name or (name in ow.offers and t.endswith(f"[#{ow.offers[name].pk}]"))
            )
            sheet.cell(row=number, column=header.index(title) + 1, value=value)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def state():
    return (
        Order.objects.count(),
        OrderEvent.objects.count(),
        IdempotencyKey.objects.count(),
        sorted(HouseholdQuota.objects.values_list("key", "taken")),
        sorted(OfferLine.objects.values_list("pk", "reserved")),
        AuditLog.objects.filter(action__startswith="order.").count(),
    )


def run_import(ow, data: bytes, *, actor=None):
    account = actor or ow.community
    return purchase_sheet_import(
        actor=account, scope=scope_of(account), compound_id=ow.world.regions["A1"].pk, data=data
    )


def test_template_lists_offline_households_masked_and_the_offer_as_columns(ow):
    sheet = load_workbook(io.BytesIO(template_of(ow))).worksheets[0]
    # Empty rows below carry the text format of the address cells only.
    rows = [values for values in ([cell.value for cell in row] for row in sheet.iter_rows()) if any(values)]

    offers = [ow.offers[name] for name in ("rice", "veg", "veg2", "relief")]
    assert rows[0] == FIXED + [f"{line.goods_name} ¥{line.price} [#{line.pk}]" for line in offers]
    assert [row[:4] for row in rows[1:]] == [
        ["A1 1号楼", "A1 1单元", "102", "钱**"],
        ["A1 1号楼", "A1 1单元", "103", "周**"],
        ["A1 1号楼", "A1 1单元", "104", "吴**"],
    ]
    assert rows[0][8] == f"Rice ¥55.50 [#{ow.offers['rice'].pk}]"
    with translation.override("zh-hans"):
        chinese = load_workbook(io.BytesIO(template_of(ow))).worksheets[0]
    assert chinese.cell(row=1, column=9).value == f"大米 ¥55.50 [#{ow.offers['rice'].pk}]"


def test_valid_sheet_creates_one_proxy_order_per_filled_row_and_the_same_file_again_creates_none(ow):
    data = filled(
        ow,
        {
            2: {"veg": 1, "rice": 2, "已回读确认 Read back": "是", "渠道 Channel": "电话"},
            3: {"veg2": 1, "已回读确认 Read back": "是", "付款 Payment": "免费"},
            # Row 4 (room 104) orders nothing this time.
            5: {
                "楼栋 Building": "A1 1号楼",
                "单元 Unit": "A1 1单元",
                "房号 Room": 101,
                "relief": 1,
                "已回读确认 Read back": "yes",
            },
        },
    )

    first = run_import(ow, data)
    after_first = state()
    second = run_import(ow, data)

    assert (first.created, first.replayed, first.skipped, first.rows, first.delivery_date) == (3, 0, 1, 4, DAY)
    assert (second.created, second.replayed, second.skipped) == (0, 3, 1)
    assert second.order_ids == first.order_ids
    orders = {o.household.room: o for o in Order.objects.select_related("household")}
    assert sorted(orders) == ["101", "102", "103"]
    assert (orders["102"].channel, orders["102"].payment_method, orders["102"].total) == (
        "phone",
        "cash",
        Decimal("149.00"),
    )
    assert (orders["103"].channel, orders["103"].payment_method, orders["103"].amount_due) == (
        "wechat",
        "free",
        Decimal("0.00"),
    )
    assert {o.placed_by_id for o in orders.values()} == {ow.community.pk}
    assert all(o.read_back_confirmed for o in orders.values())
    # Re-uploading wrote only its own audit row.
    assert state()[:5] == after_first[:5]
    assert list(AuditLog.objects.filter(action="order.sheet_import").values_list("payload__created", flat=True)) == [
        3,
        0,
    ]


def test_planted_errors_are_all_reported_by_row_and_column_and_nothing_is_written(ow):
    rice = f"Rice ¥55.50 [#{ow.offers['rice'].pk}]"
    veg = f"Package VEG-A ¥38.00 [#{ow.offers['veg'].pk}]"
    data = filled(
        ow,
        {
            2: {"veg": 1, "已回读确认 Read back": "是"},  # valid
            3: {"rice": -1, "已回读确认 Read back": "是"},
            4: {"veg": "two", "rice": 1.5, "渠道 Channel": "邮件"},
            5: {
                "楼栋 Building": "A1 1号楼",
                "单元 Unit": "A1 1单元",
                "房号 Room": "999",
                "veg": 1,
                "已回读确认 Read back": "是",
            },
            6: {
                "楼栋 Building": "A1 1号楼",
                "单元 Unit": "A1 1单元",
                "房号 Room": "102",
                "veg": 1,
                "已回读确认 Read back": "是",
            },
            7: {
                "单元 Unit": "A1 1单元",
                "房号 Room": "101",
                "veg": 1,
                "已回读确认 Read back": "是",
                "付款 Payment": "网银",
            },
        },
    )
    before = state()

    with pytest.raises(ImportRejected) as caught:
        run_import(ow, data)

    assert caught.value.rows == [
        RowError(3, rice, "Enter a whole number from 0 to 100."),
        RowError(4, rice, "Enter a whole number from 0 to 100."),
        RowError(4, veg, "Enter a whole number from 0 to 100."),
        RowError(4, "渠道 Channel", "Write 电话 (phone), 微信 (WeChat), 上门 (door to door) or 热线 (hotline)."),
        RowError(4, "已回读确认 Read back", "Read the order back to the household, then write 是 (yes)."),
        RowError(5, "房号 Room", "No household at A1 1号楼 A1 1单元 999 in A1 小区."),
        RowError(6, "房号 Room", "This household is already on row 2."),
        RowError(7, "楼栋 Building", "Required."),
        RowError(7, "付款 Payment", "Write 现金 (cash), 扫码 (scan) or 免费 (free)."),
    ]
    assert state() == before


def test_missing_read_back_and_unknown_channel_are_row_errors(ow):
    data = filled(ow, {2: {"veg": 1, "渠道 Channel": "邮件"}})
    before = state()

    with pytest.raises(ImportRejected) as caught:
        run_import(ow, data)

    assert caught.value.rows == [
        RowError(2, "渠道 Channel", "Write 电话 (phone), 微信 (WeChat), 上门 (door to door) or 热线 (hotline)."),
        RowError(2, "已回读确认 Read back", "Read the order back to the household, then write 是 (yes)."),
    ]
    assert state() == before


def test_a_row_the_order_service_refuses_rolls_back_the_whole_sheet(ow):
    # Household 102 already has its vegetable package for the day, ordered on the phone page.
    order_place(
        actor=ow.community,
        household_id=ow.household("A1b"),
        delivery_date=DAY,
        lines=[LineRequest(offer_line_id=ow.offers["veg2"].pk, quantity=1)],
        idempotency_key=new_key(),
        channel="phone",
        payment_method="cash",
        read_back_confirmed=True,
    )
    data = filled(
        ow,
        {
            2: {"veg": 1, "已回读确认 Read back": "是"},
            3: {"veg": 1, "已回读确认 Read back": "是"},
        },
    )
    before = state()

    with pytest.raises(ImportRejected) as caught:
        run_import(ow, data)

    assert caught.value.rows == [
        RowError(
            2,
            f"Package VEG-A ¥38.00 [#{ow.offers['veg'].pk}]",
            "Your household may order at most 1 of this per delivery day.",
        )
    ]
    assert state() == before


def test_a_sheet_for_another_supermarket_or_day_is_refused_whole(ow):
    data = filled(ow, {2: {"veg": 1, "已回读确认 Read back": "是"}})
    b_worker = user(Role.COMMUNITY, region=ow.world.regions["B"])
    before = state()

    with pytest.raises(ImportRejected) as other_supermarket:
        purchase_sheet_import(
            actor=b_worker, scope=scope_of(b_worker), compound_id=ow.world.regions["B1"].pk, data=data
        )
    OfferLine.objects.filter(pk=ow.offers["veg"].pk).update(delivery_date=DAY.replace(day=13))
    with pytest.raises(ImportRejected) as other_day:
        run_import(ow, data)

    message = (
        "The goods columns do not match what this compound's supermarket offers for one delivery day. "
        "Download a fresh template for this compound."
    )
    assert (str(other_supermarket.value.message), other_supermarket.value.rows) == (message, [])
    assert (str(other_day.value.message), other_day.value.rows) == (message, [])
    assert state()[:4] == before[:4]


def test_scope_and_roles(ow):
    other = user(Role.COMMUNITY, region=ow.world.regions["B"])
    with pytest.raises(NotFound):
        purchase_sheet_template_build(scope=scope_of(other), compound_id=ow.world.regions["A1"].pk)
    with pytest.raises(NotFound):
        run_import(ow, b"irrelevant", actor=other)
    volunteer = ow.world.users[Role.VOLUNTEER]
    with pytest.raises(PermissionDenied):
        run_import(ow, b"irrelevant", actor=volunteer)


def test_pages_download_and_upload(ow):
    client = Client()
    client.force_login(ow.community)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    download = client.get(reverse("orders:sheet_template"), {"compound": ow.world.regions["A1"].pk})
    bad = client.post(
        reverse("orders:sheet_import"),
        {
            "compound": ow.world.regions["A1"].pk,
            "file": SimpleUploadedFile("s.xlsx", filled(ow, {2: {"veg": 1}})),
        },
    )
    good_file = filled(ow, {2: {"veg": 1, "已回读确认 Read back": "是"}})
    good = client.post(
        reverse("orders:sheet_import"),
        {"compound": ow.world.regions["A1"].pk, "file": SimpleUploadedFile("s.xlsx", good_file)},
    )
    again = client.post(
        reverse("orders:sheet_import"),
        {"compound": ow.world.regions["A1"].pk, "file": SimpleUploadedFile("s.xlsx", good_file)},
    )

    assert download.status_code == 200
    assert download["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert bad.status_code == 422
    assert "<tr><td>2</td><td>已回读确认 Read back</td><td>Read the order back" in bad.content.decode()
    assert '<dd id="count-created">1</dd>' in good.content.decode()
    assert '<dd id="count-created">0</dd>' in again.content.decode()
    assert '<dd id="count-replayed">1</dd>' in again.content.decode()
    assert Order.objects.count() == 1
    assert Client().get(reverse("orders:sheet_import")).status_code == 302
