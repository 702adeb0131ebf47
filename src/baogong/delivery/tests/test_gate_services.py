"""Gate receiving: the checklist, completing it with a planted shortage, bad input, conflicts, scope."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.translation import gettext, override

from baogong.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from baogong.core.models import AuditLog
from baogong.core.scoping import scope_of
from baogong.delivery.models import FollowUp, GateDiscrepancy, GateReceipt, GateReceiptLine
from baogong.delivery.selectors import gate_checklist_get
from baogong.delivery.services import LineCount, gate_arrival_at_plate, gate_receipt_complete
from baogong.delivery.tests.gate_world import at, build_gate_world
from baogong.orders.models import Order, OrderEvent, OrderLine, Payment, PurchaseOrderLine
from baogong.orders.tests.factories import DAY

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32


@pytest.fixture
def gw(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return build_gate_world()


def counts(gw, *, rice=5, veg=1, **rice_extra):
    return [
        LineCount(purchase_order_line_id=gw.po_line("rice").pk, received_quantity=rice, **rice_extra),
        LineCount(purchase_order_line_id=gw.po_line("veg").pk, received_quantity=veg),
    ]


def complete(gw, *, actor=None, line_counts=None, placed_at="北门货架2号", **extra):
    return gate_receipt_complete(
        actor=actor or gw.volunteer,
        compound_id=gw.compound.pk,
        delivery_date=DAY,
        counts=counts(gw) if line_counts is None else line_counts,
        placed_at=placed_at,
        now=extra.pop("now", at(9, 30)),
        **extra,
    )


def snapshot():
    return (
        GateReceipt.objects.count(),
        GateReceiptLine.objects.count(),
        GateDiscrepancy.objects.count(),
        FollowUp.objects.count(),
        AuditLog.objects.count(),
        OrderEvent.objects.count(),
        Payment.objects.count(),
        sorted(Order.objects.values_list("pk", "status", "amount_due", "is_partial", "reason", "payment_status")),
        sorted(OrderLine.objects.values_list("pk", "confirmed_quantity", "short_reason")),
        sorted(PurchaseOrderLine.objects.values_list("pk", "confirmed_quantity", "short_reason")),
    )


def test_checklist_lists_expected_quantities_per_line_and_building(gw):
    checklist = gate_checklist_get(scope=scope_of(gw.volunteer), compound_id=gw.compound.pk, delivery_date=DAY)

    rows = [
        (
            line.purchase_order_line_id,
            line.goods_name,
            line.expected,
            [(b.building_name, b.quantity) for b in line.buildings],
        )
        for line in checklist.lines
    ]
    assert rows == [
        (gw.po_line("veg").pk, "套餐VEG-A", 1, [("A1 1号楼", 1)]),
        (gw.po_line("rice").pk, "大米", 5, [("A1 1号楼", 5)]),
    ]
    assert (checklist.unconfirmed, checklist.receipt) == (0, None)


def test_a_planted_shortage_flows_to_the_purchase_order_and_is_shared_by_the_allocation_rules(gw):
    # Rice: 5 expected, 3 came off the van, 1 of them burst: 2 usable, 3 missing for households.
    receipt = complete(gw, line_counts=counts(gw, rice=3, damaged_quantity=1, note="一袋破损"), received_at=at(9, 10))

    with override("zh-hans"):
        reason = gettext("Gate check: %(what)s") % {
            "what": ", ".join([gettext("%(n)s short") % {"n": 2}, gettext("%(n)s damaged") % {"n": 1}])
        }
    # The 2 usable bags are shared as in a short confirmation: A1a (elderly, living alone) keeps her one;
    # the last bag is A1b's and A1c's fair share of half a bag each, rounded to the earlier order (A1b's).
    a1a, a1b, a1c = (Order.objects.get(pk=gw.orders[key].pk) for key in ("A1a", "A1b", "A1c"))
    assert (a1c.status, a1c.amount_due, a1c.is_partial, a1c.payment_status, a1c.reason) == (
        "short",
        Decimal("0.00"),
        False,
        "refunded",
        reason,
    )
    assert (a1b.status, a1b.amount_due, a1b.is_partial, a1b.payment_status, a1b.reason) == (
        "verified",
        Decimal("93.50"),
        True,
        "paid",
        reason,
    )
    assert (a1a.status, a1a.amount_due, a1a.is_partial, a1a.reason) == ("verified", Decimal("55.50"), False, "")
    assert list(
        a1b.lines.order_by("offer_line__price").values_list("quantity", "confirmed_quantity", "short_reason")
    ) == [
        (1, 1, ""),
        (2, 1, reason),
    ]
    assert list(a1c.lines.values_list("quantity", "confirmed_quantity")) == [(2, 0)]
    assert list(Payment.objects.filter(kind="refund").order_by("order_id").values_list("order_id", "amount")) == sorted(
        [(a1b.pk, Decimal("55.50")), (a1c.pk, Decimal("111.00"))]
    )
    rice_line = gw.po_line("rice")
    assert (rice_line.quantity, rice_line.confirmed_quantity, rice_line.short_reason) == (5, 2, reason)
    assert (gw.po_line("veg").confirmed_quantity, gw.po_line("veg").short_reason) == (1, "")
    # The receipt and the zero-contact handover.
    assert (receipt.received_by_id, receipt.received_at, receipt.placed_at) == (
        gw.volunteer.pk,
        at(9, 10),
        "北门货架2号",
    )
    assert sorted(receipt.lines.values_list("expected_quantity", "received_quantity", "accepted_quantity")) == [
        (1, 1, 1),
        (5, 3, 2),
    ]
    assert sorted(GateDiscrepancy.objects.values_list("kind", "quantity", "note")) == [
        ("damaged", 1, "一袋破损"),
        ("short", 2, "一袋破损"),
    ]
    follow_ups = list(FollowUp.objects.order_by("discrepancy__kind"))
    assert [(f.status, f.households_affected, f.supermarket_id, f.raised_by_id, f.raised_at) for f in follow_ups] == [
        ("open", 2, gw.ow.supermarket.pk, gw.volunteer.pk, at(9, 30))
    ] * 2
    assert all("北门货架2号" in f.summary and "大米" in f.summary for f in follow_ups)
    # A1a's order was still only confirmed: it passes through the gate in order.
    assert list(OrderEvent.objects.filter(order=a1a).order_by("id").values_list("from_status", "to_status"))[-2:] == [
        ("confirmed", "at_gate"),
        ("at_gate", "verified"),
    ]
    assert list(OrderEvent.objects.filter(order=a1c).order_by("id").values_list("from_status", "to_status"))[-2:] == [
        ("loaded", "at_gate"),
        ("at_gate", "short"),
    ]
    assert AuditLog.objects.filter(action="gate_receipt.complete", target_id=receipt.pk).count() == 1
    # Compound A2 is untouched.
    assert Order.objects.get(pk=gw.orders["A2"].pk).status == "confirmed"


def test_a_full_delivery_verifies_every_order_and_raises_nothing(gw):
    complete(gw)

    assert sorted(Order.objects.filter(compound=gw.compound).values_list("status", "amount_due")) == [
        ("verified", Decimal("55.50")),
        ("verified", Decimal("111.00")),
        ("verified", Decimal("149.00")),
    ]
    assert (
        GateDiscrepancy.objects.count(),
        FollowUp.objects.count(),
        Payment.objects.filter(kind="refund").count(),
    ) == (
        0,
        0,
        0,
    )
    assert gw.po_line("rice").confirmed_quantity == 5


def test_a_wrong_item_counts_against_the_line_and_a_photo_is_kept(gw):
    photo = SimpleUploadedFile("IMG_0001.HEIC", JPEG, content_type="image/jpeg")
    complete(gw, line_counts=counts(gw, rice=5, wrong_item_quantity=1, photo=photo))

    discrepancy = GateDiscrepancy.objects.get()
    assert (discrepancy.kind, discrepancy.quantity, discrepancy.photo_content_type) == ("wrong_item", 1, "image/jpeg")
    assert discrepancy.photo.name.startswith("gate/")
    assert discrepancy.photo.name.endswith(".jpg")
    assert discrepancy.photo.read() == JPEG
    assert gw.po_line("rice").confirmed_quantity == 4
    assert Order.objects.get(pk=gw.orders["A1c"].pk).lines.get().confirmed_quantity == 1


def test_received_within_the_tolerance_is_accepted_up_to_the_expected_quantity(gw, settings):
    settings.GATE_OVER_TOLERANCE = 1
    receipt = complete(gw, line_counts=counts(gw, rice=6))

    assert receipt.lines.get(purchase_order_line=gw.po_line("rice")).accepted_quantity == 5
    assert FollowUp.objects.count() == 0


@pytest.mark.parametrize(
    ("line_counts", "extra", "field"),
    [
        (lambda gw: counts(gw, rice=6), {}, "lines[0].received_quantity"),
        (lambda gw: counts(gw, rice=-1), {}, "lines[0].received_quantity"),
        (lambda gw: counts(gw, rice=True), {}, "lines[0].received_quantity"),
        (lambda gw: counts(gw, rice=5, damaged_quantity=6), {}, "lines[0].damaged_quantity"),
        (lambda gw: counts(gw, rice=5, damaged_quantity=-1), {}, "lines[0].damaged_quantity"),
        (lambda gw: counts(gw, rice=5, damaged_quantity=3, wrong_item_quantity=3), {}, "lines[0].wrong_item_quantity"),
        (
            lambda gw: [*counts(gw), LineCount(purchase_order_line_id=999_999, received_quantity=1)],
            {},
            "lines[2].purchase_order_line_id",
        ),
        (lambda gw: [*counts(gw), counts(gw)[0]], {}, "lines[2].purchase_order_line_id"),
        (lambda gw: counts(gw)[:1], {}, "lines"),
        (
            lambda gw: counts(
                gw, photo=SimpleUploadedFile("x.jpg", b"GIF89a" + b"\x00" * 20, content_type="image/jpeg")
            ),
            {},
            "lines[0].photo",
        ),
        (lambda gw: counts(gw), {"placed_at": "  "}, "placed_at"),
        (lambda gw: counts(gw), {"received_at": at(9, 31)}, "received_at"),
    ],
    ids=[
        "over-expected",
        "negative",
        "not-a-number",
        "damaged-over-received",
        "damaged-negative",
        "damaged-and-wrong-over-received",
        "unknown-line",
        "line-twice",
        "line-missing",
        "not-an-image",
        "no-place",
        "handover-in-future",
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(gw, line_counts, extra, field):
    before = snapshot()

    with pytest.raises(ValidationFailed) as error:
        complete(gw, line_counts=line_counts(gw), **extra)

    assert error.value.field == field
    assert snapshot() == before


def test_a_photo_over_the_size_limit_is_refused(gw, settings):
    settings.GATE_PHOTO_MAX_BYTES = 16
    before = snapshot()

    with pytest.raises(ValidationFailed) as error:
        complete(gw, line_counts=counts(gw, photo=SimpleUploadedFile("x.png", PNG, content_type="image/png")))

    assert error.value.field == "lines[0].photo"
    assert snapshot() == before


def test_completing_twice_is_a_conflict_that_changes_nothing(gw):
    complete(gw, line_counts=counts(gw, rice=4))
    before = snapshot()

    with pytest.raises(Conflict) as error:
        complete(gw, line_counts=counts(gw, rice=3))

    assert (error.value.status, error.value.field) == (409, "status")
    assert snapshot() == before


def test_a_volunteer_of_another_compound_finds_nothing(gw):
    before = snapshot()

    with pytest.raises(NotFound):
        gate_checklist_get(scope=scope_of(gw.other_volunteer), compound_id=gw.compound.pk, delivery_date=DAY)
    with pytest.raises(NotFound):
        complete(gw, actor=gw.other_volunteer)
    with pytest.raises(PermissionDenied):
        complete(gw, actor=gw.ow.supplier)

    assert snapshot() == before


def test_a_community_worker_receives_for_a_compound_of_their_community(gw):
    receipt = complete(gw, actor=gw.ow.community)

    assert receipt.received_by_id == gw.ow.community.pk


def test_an_arrival_by_plate_puts_the_loaded_orders_at_the_gate(gw):
    arrival = gate_arrival_at_plate(actor=gw.volunteer, compound_id=gw.compound.pk, plate="浙a g1001", now=at(8, 50))

    assert (arrival.vehicle_id, arrival.arrived_at, arrival.recorded_by_id) == (
        gw.vehicle.pk,
        at(8, 50),
        gw.volunteer.pk,
    )
    assert sorted(Order.objects.filter(compound=gw.compound).values_list("status", flat=True)) == [
        "at_gate",
        "at_gate",
        "confirmed",
    ]
    with pytest.raises(ValidationFailed) as unknown:
        gate_arrival_at_plate(actor=gw.volunteer, compound_id=gw.compound.pk, plate="浙B99999")
    with pytest.raises(ValidationFailed) as wrong_pass:
        gate_arrival_at_plate(
            actor=gw.volunteer, compound_id=gw.compound.pk, plate="浙AG1001", pass_number="330100000001"
        )
    with pytest.raises(NotFound):
        gate_arrival_at_plate(actor=gw.other_volunteer, compound_id=gw.compound.pk, plate="浙AG1001")
    assert (unknown.value.field, wrong_pass.value.field) == ("plate", "pass_number")
    assert gw.vehicle.gate_arrivals.count() == 1


def test_the_receipt_after_an_arrival_verifies_the_orders_at_the_gate(gw):
    gate_arrival_at_plate(actor=gw.volunteer, compound_id=gw.compound.pk, plate="浙AG1001", now=at(8, 50))

    complete(gw, now=at(9, 30) + timedelta(minutes=1))

    assert sorted(Order.objects.filter(compound=gw.compound).values_list("status", flat=True)) == ["verified"] * 3
