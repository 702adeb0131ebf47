"""Ordering services: placing, caps, windows, idempotency, status machine, payments, consolidation."""

from __future__ import annotations

from datetime import time, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command

from baogong.accounts.models import Role
from baogong.core.errors import (
    BadRequest,
    Conflict,
    IdempotencyKeyReused,
    InsufficientStock,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from baogong.core.models import AuditLog
from baogong.core.scoping import scope_of
from baogong.orders.models import (
    HouseholdQuota,
    IdempotencyKey,
    OfferLine,
    Order,
    OrderEvent,
    Payment,
    PurchaseOrder,
)
from baogong.orders.selectors import (
    household_offers_get,
    order_delivery_date_current,
    order_get,
    order_list,
    order_window_get,
    purchase_order_building_totals,
    purchase_order_get,
    purchase_order_list,
    purchase_order_pack_list,
)
from baogong.orders.services import (
    LineRequest,
    Shortage,
    order_arrive_at_gate,
    order_cancel,
    order_deliver,
    order_fail,
    order_load,
    order_pick,
    order_place,
    order_verify,
    order_window_set,
    purchase_order_confirm,
    purchase_orders_consolidate,
)
from baogong.orders.tasks import orders_consolidate_task
from baogong.orders.tests.factories import (
    AFTER_CUTOFF,
    BEFORE_OPENING,
    DAY,
    NOW,
    SHANGHAI,
    build_ordering_world,
    new_key,
)
from baogong.regions.services import zone_status_set

pytestmark = pytest.mark.django_db


@pytest.fixture
def ow():
    return build_ordering_world()


def place(ow, *, actor=None, household="A1a", lines=(("veg", 1),), key=None, now=NOW, **extra):
    return order_place(
        actor=actor or ow.resident,
        household_id=ow.household(household),
        delivery_date=DAY,
        lines=[LineRequest(offer_line_id=ow.offers[name].pk, quantity=quantity) for name, quantity in lines],
        idempotency_key=key or new_key(),
        now=now,
        **extra,
    )


def reserved(ow):
    return {name: OfferLine.objects.get(pk=line.pk).reserved for name, line in ow.offers.items()}


def snapshot():
    return (
        Order.objects.count(),
        OrderEvent.objects.count(),
        Payment.objects.count(),
        IdempotencyKey.objects.count(),
        sorted(HouseholdQuota.objects.values_list("key", "taken")),
        sorted(OfferLine.objects.values_list("pk", "reserved")),
    )


# --- placing ----------------------------------------------------------------------------------------


def test_resident_places_an_order_for_their_household(ow):
    placed = place(ow, lines=(("veg", 1), ("rice", 2)))

    order = Order.objects.get(pk=placed.order_id)
    assert (placed.status_code, placed.replayed) == (201, False)
    assert (order.household_id, order.supermarket_id, order.delivery_date) == (
        ow.household("A1a"),
        ow.supermarket.pk,
        DAY,
    )
    assert (order.status, order.channel, order.placed_by_id, order.is_proxy) == (
        "placed",
        "online",
        ow.resident.pk,
        False,
    )
    assert (order.total, order.amount_due, order.payment_status) == (Decimal("149.00"), Decimal("149.00"), "paid")
    assert (order.delivery_mode, order.pickup_slot) == ("door", "")
    assert order.building_id == ow.world.regions["A1-building"].pk
    assert [(line["offer_line_id"], line["quantity"], line["amount"]) for line in placed.body["lines"]] == [
        (ow.offers["veg"].pk, 1, "38.00"),
        (ow.offers["rice"].pk, 2, "111.00"),
    ]
    assert reserved(ow) == {"veg": 1, "veg2": 0, "relief": 0, "rice": 2, "other_veg": 0}
    assert sorted(HouseholdQuota.objects.values_list("key", "taken", "cap")) == [
        ("kit:vegetable_package", 1, 1),
        (f"offer:{ow.offers['rice'].pk}", 2, 2),
    ]
    assert list(order.events.values_list("from_status", "to_status")) == [("", "placed")]
    assert list(Payment.objects.values_list("kind", "method", "amount", "gateway")) == [
        ("charge", "online", Decimal("149.00"), "simulated")
    ]
    audit = AuditLog.objects.get(action="order.place")
    assert audit.target_id == str(order.pk)
    assert audit.payload["household"] == ow.household("A1a")
    assert "13900000011" not in str(audit.payload)
    assert "赵一鸣" not in str(audit.payload)


def test_sealed_compound_gets_door_delivery_and_controlled_compound_gets_pickup_by_unit(ow):
    zone_status_set(
        actor=None,
        region=ow.world.regions["A1"],
        status="controlled",
        reason="case nearby",
        starts_at=NOW - timedelta(hours=1),
    )
    controlled = Order.objects.get(pk=place(ow).order_id)
    zone_status_set(
        actor=None,
        region=ow.world.regions["A1"],
        status="sealed",
        reason="case in building",
        starts_at=NOW - timedelta(minutes=1),
    )
    sealed = Order.objects.get(
        pk=place(ow, actor=ow.community, household="A1b", channel="phone", read_back_confirmed=True).order_id
    )

    assert (controlled.delivery_mode, controlled.pickup_slot) == ("pickup", "A1 1号楼 A1 1单元")
    assert (sealed.delivery_mode, sealed.pickup_slot) == ("door", "")


def test_proxy_order_records_who_placed_it_for_whom_and_the_read_back(ow):
    placed = place(
        ow,
        actor=ow.community,
        household="A2",
        channel="phone",
        payment_method="cash",
        read_back_confirmed=True,
        read_back_note="read back 06:10, confirmed",
    )

    order = Order.objects.get(pk=placed.order_id)
    assert (order.household_id, order.placed_by_id, order.channel, order.is_proxy) == (
        ow.household("A2"),
        ow.community.pk,
        "phone",
        True,
    )
    assert (order.read_back_confirmed, order.read_back_note) == (True, "read back 06:10, confirmed")
    assert (order.payment_status, order.amount_due) == ("due", Decimal("38.00"))
    assert Payment.objects.count() == 0
    assert placed.body["is_proxy"] is True
    assert "read back" not in str(AuditLog.objects.get(action="order.place").payload)


def test_free_relief_order_owes_nothing(ow):
    placed = place(
        ow,
        actor=ow.community,
        household="A2",
        channel="door_to_door",
        payment_method="free",
        read_back_confirmed=True,
        lines=(("relief", 1),),
    )

    order = Order.objects.get(pk=placed.order_id)
    assert (order.total, order.amount_due, order.payment_status) == (Decimal("60.00"), Decimal("0.00"), "waived")


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"channel": "phone"}, "channel"),
        ({"payment_method": "free"}, "payment_method"),
        ({"channel": "carrier_pigeon"}, "channel"),
        ({"payment_method": "iou"}, "payment_method"),
    ],
)
def test_residents_order_online_and_pay_themselves(ow, extra, field):
    before = snapshot()

    with pytest.raises(ValidationFailed) as error:
        place(ow, **extra)

    assert error.value.field == field
    assert snapshot() == before


def test_proxy_order_needs_a_proxy_channel_and_a_read_back(ow):
    with pytest.raises(ValidationFailed) as no_channel:
        place(ow, actor=ow.community, household="A2", read_back_confirmed=True)
    with pytest.raises(ValidationFailed) as no_read_back:
        place(ow, actor=ow.community, household="A2", channel="hotline")

    assert (no_channel.value.field, no_read_back.value.field) == ("channel", "read_back_confirmed")
    assert Order.objects.count() == 0


def test_community_worker_cannot_order_for_another_communitys_household(ow):
    before = snapshot()

    with pytest.raises(NotFound) as error:
        place(ow, actor=ow.community, household="B1", channel="phone", read_back_confirmed=True)

    assert error.value.field == "household_id"
    assert snapshot() == before


def test_resident_cannot_order_for_a_neighbour(ow):
    with pytest.raises(NotFound):
        place(ow, household="A1b")
    assert Order.objects.count() == 0


@pytest.mark.parametrize("role", [Role.SUPPLIER, Role.VOLUNTEER, Role.CHECKPOINT, Role.DEPARTMENT])
def test_other_roles_do_not_place_orders(ow, role):
    with pytest.raises(PermissionDenied):
        place(ow, actor=ow.world.users[role], channel="phone", read_back_confirmed=True)
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        ((), "lines"),
        ((("veg", 0),), "lines[0].quantity"),
        ((("veg", 1), ("rice", -1)), "lines[1].quantity"),
        ((("veg", 1), ("rice", 10**12)), "lines[1].quantity"),
        ((("veg", 1), ("veg", 1)), "lines[1].offer_line_id"),
    ],
)
def test_bad_lines_are_refused_naming_the_line(ow, lines, field):
    before = snapshot()

    with pytest.raises(ValidationFailed) as error:
        place(ow, lines=lines)

    assert error.value.field == field
    assert snapshot() == before


def test_unknown_or_other_supermarkets_offer_is_refused(ow):
    before = snapshot()
    with pytest.raises(ValidationFailed) as other:
        place(ow, lines=(("veg", 1), ("other_veg", 1)))
    with pytest.raises(ValidationFailed) as unknown:
        order_place(
            actor=ow.resident,
            household_id=ow.household("A1a"),
            delivery_date=DAY,
            lines=[LineRequest(offer_line_id=999999, quantity=1)],
            idempotency_key=new_key(),
            now=NOW,
        )

    assert (other.value.field, unknown.value.field) == ("lines[1].offer_line_id", "lines[0].offer_line_id")
    assert snapshot() == before


@pytest.mark.parametrize("moment", [BEFORE_OPENING, AFTER_CUTOFF])
def test_orders_outside_the_window_are_refused(ow, moment):
    before = snapshot()

    with pytest.raises(Conflict) as error:
        place(ow, now=moment)

    assert error.value.field == "delivery_date"
    assert error.value.data == {"opens_at": "2030-04-11T06:00:00+08:00", "closes_at": "2030-04-11T16:00:00+08:00"}
    assert snapshot() == before


def test_one_package_of_each_kind_per_household_per_day(ow):
    place(ow, lines=(("veg", 1),))
    before = snapshot()

    with pytest.raises(Conflict) as same_kind:
        place(ow, lines=(("relief", 1), ("veg2", 1)))

    assert (same_kind.value.field, same_kind.value.data) == ("lines[1].quantity", {"cap": 1})
    assert snapshot() == before
    # Another kind is still allowed.
    assert place(ow, lines=(("relief", 1),)).status_code == 201


def test_item_caps_count_across_orders(ow):
    place(ow, lines=(("rice", 1),))

    with pytest.raises(Conflict) as error:
        place(ow, lines=(("rice", 2),))

    assert error.value.field == "lines[0].quantity"
    assert reserved(ow)["rice"] == 1


def test_sold_out_is_refused_and_changes_nothing(ow):
    OfferLine.objects.filter(pk=ow.offers["relief"].pk).update(reserved=10)
    before = snapshot()

    with pytest.raises(InsufficientStock) as error:
        place(ow, lines=(("veg", 1), ("relief", 1)))

    assert (error.value.field, error.value.data) == ("lines[1].quantity", {"available": 0})
    assert snapshot() == before


def test_compound_without_pairing_cannot_order(ow):
    from baogong.enterprises.models import CompoundPairing

    CompoundPairing.objects.filter(compound=ow.world.regions["A1"]).delete()

    with pytest.raises(Conflict):
        place(ow)
    assert Order.objects.count() == 0


# --- idempotency ------------------------------------------------------------------------------------


def test_retry_with_the_same_key_returns_the_first_answer(ow):
    key = new_key()
    first = place(ow, key=key)
    retry = place(ow, key=key)

    assert retry.replayed is True
    assert (retry.order_id, retry.status_code, retry.body) == (first.order_id, 201, first.body)
    assert Order.objects.count() == 1
    assert reserved(ow)["veg"] == 1


def test_same_key_with_a_different_body_is_refused(ow):
    key = new_key()
    place(ow, key=key)
    before = snapshot()

    with pytest.raises(IdempotencyKeyReused) as error:
        place(ow, key=key, lines=(("rice", 1),))

    assert (error.value.status, error.value.field) == (422, "Idempotency-Key")
    assert snapshot() == before


def test_keys_are_per_account(ow):
    key = new_key()
    place(ow, key=key)

    placed = place(ow, actor=ow.community, household="A2", key=key, channel="phone", read_back_confirmed=True)

    assert placed.replayed is False
    assert Order.objects.count() == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "bad\nkey"])
def test_missing_or_malformed_key_is_refused(ow, key):
    with pytest.raises(BadRequest) as error:
        order_place(
            actor=ow.resident,
            household_id=ow.household("A1a"),
            delivery_date=DAY,
            lines=[LineRequest(offer_line_id=ow.offers["veg"].pk, quantity=1)],
            idempotency_key=key,
            now=NOW,
        )
    assert (error.value.status, error.value.field) == (400, "Idempotency-Key")
    assert Order.objects.count() == 0


def test_a_failed_request_stores_no_key_so_it_can_be_retried(ow):
    key = new_key()
    with pytest.raises(Conflict):
        place(ow, key=key, now=BEFORE_OPENING)

    assert place(ow, key=key).status_code == 201


# --- windows ----------------------------------------------------------------------------------------


def test_default_window_opens_0600_the_day_before_and_closes_1600(ow):
    window = order_window_get(compound=ow.world.regions["A1"], delivery_date=DAY)

    assert (window.opens_at.astimezone(SHANGHAI).isoformat(), window.closes_at.astimezone(SHANGHAI).isoformat()) == (
        "2030-04-11T06:00:00+08:00",
        "2030-04-11T16:00:00+08:00",
    )
    assert order_delivery_date_current(compound=ow.world.regions["A1"], at=NOW) == DAY
    assert order_delivery_date_current(compound=ow.world.regions["A1"], at=AFTER_CUTOFF) == DAY + timedelta(days=1)


def test_the_most_specific_area_window_wins(ow):
    command, subdistrict = ow.world.users[Role.COMMAND], ow.world.users[Role.SUBDISTRICT]
    order_window_set(
        actor=command,
        region=ow.world.regions["C"],
        opens_days_before=2,
        opens_at=time(20, 0),
        closes_days_before=1,
        closes_at=time(12, 0),
    )
    order_window_set(
        actor=subdistrict,
        region=ow.world.regions["A"],
        opens_days_before=1,
        opens_at=time(7, 0),
        closes_days_before=1,
        closes_at=time(18, 0),
    )

    a1 = order_window_get(compound=ow.world.regions["A1"], delivery_date=DAY)
    b1 = order_window_get(compound=ow.world.regions["B1"], delivery_date=DAY)

    assert (a1.opens_at.astimezone(SHANGHAI).hour, a1.closes_at.astimezone(SHANGHAI).hour) == (7, 18)
    assert (b1.opens_at.astimezone(SHANGHAI).isoformat(), b1.closes_at.astimezone(SHANGHAI).hour) == (
        "2030-04-10T20:00:00+08:00",
        12,
    )
    assert list(
        AuditLog.objects.filter(action="order_window.set").order_by("id").values_list("target_id", flat=True)
    ) == [
        str(ow.world.regions["C"].pk),
        str(ow.world.regions["A"].pk),
    ]


def test_window_must_open_before_it_closes_and_only_area_offices_set_it(ow):
    with pytest.raises(ValidationFailed) as error:
        order_window_set(
            actor=ow.world.users[Role.COMMAND],
            region=ow.world.regions["A"],
            opens_days_before=1,
            opens_at=time(16, 0),
            closes_days_before=1,
            closes_at=time(6, 0),
        )
    with pytest.raises(PermissionDenied):
        order_window_set(
            actor=ow.community,
            region=ow.world.regions["A"],
            opens_days_before=1,
            opens_at=time(6, 0),
            closes_days_before=1,
            closes_at=time(16, 0),
        )
    with pytest.raises(NotFound):
        order_window_set(
            actor=ow.world.users[Role.SUBDISTRICT],
            region=ow.world.regions["B"],
            opens_days_before=1,
            opens_at=time(6, 0),
            closes_days_before=1,
            closes_at=time(16, 0),
        )

    assert error.value.field == "closes_at"


def test_household_offers_show_the_paired_supermarket_and_the_window(ow):
    offers = household_offers_get(scope=scope_of(ow.resident), household_id=ow.household("A1a"), at=NOW)

    assert (offers.supermarket_id, offers.window.delivery_date, offers.is_open) == (ow.supermarket.pk, DAY, True)
    assert [line.pk for line in offers.lines] == [ow.offers[k].pk for k in ("rice", "veg", "veg2", "relief")]


# --- cancellation and the status machine ------------------------------------------------------------


def test_cancel_before_cutoff_releases_goods_and_caps_and_refunds(ow):
    placed = place(ow, lines=(("veg", 1), ("rice", 2)))

    order = order_cancel(actor=ow.resident, order_id=placed.order_id, reason="ordered elsewhere", now=NOW)

    assert (order.status, order.payment_status, order.amount_due) == ("cancelled", "refunded", Decimal("0.00"))
    assert reserved(ow) == {"veg": 0, "veg2": 0, "relief": 0, "rice": 0, "other_veg": 0}
    assert sorted(HouseholdQuota.objects.values_list("taken", flat=True)) == [0, 0]
    assert list(Payment.objects.values_list("kind", "amount")) == [
        ("charge", Decimal("149.00")),
        ("refund", Decimal("149.00")),
    ]
    assert list(OrderEvent.objects.values_list("to_status", flat=True)) == ["placed", "cancelled"]
    assert AuditLog.objects.get(action="order.cancel").payload == {
        "from": "placed",
        "to": "cancelled",
        "with_reason": True,
    }
    # The released package can be ordered again.
    assert place(ow).status_code == 201


def test_cancel_after_cutoff_is_refused(ow):
    placed = place(ow)

    with pytest.raises(Conflict):
        order_cancel(actor=ow.resident, order_id=placed.order_id, reason="changed my mind", now=AFTER_CUTOFF)

    assert Order.objects.get(pk=placed.order_id).status == "placed"
    assert reserved(ow)["veg"] == 1


def test_cancel_twice_is_a_conflict(ow):
    placed = place(ow)
    order_cancel(actor=ow.resident, order_id=placed.order_id, reason="x", now=NOW)

    with pytest.raises(Conflict):
        order_cancel(actor=ow.resident, order_id=placed.order_id, reason="x", now=NOW)
    assert reserved(ow)["veg"] == 0


def test_order_runs_through_to_delivery_with_payment_at_the_gate(ow):
    placed = place(
        ow, actor=ow.community, household="A2", channel="phone", payment_method="cash", read_back_confirmed=True
    )
    purchase_orders_consolidate(delivery_date=DAY, now=AFTER_CUTOFF)
    purchase_order_confirm(actor=ow.supplier, purchase_order_id=PurchaseOrder.objects.get().pk)
    volunteer = ow.world.users[Role.VOLUNTEER]  # volunteer of A1: not A2's compound

    order_pick(actor=ow.supplier, order_id=placed.order_id)
    order_load(actor=ow.supplier, order_id=placed.order_id)
    order_arrive_at_gate(actor=ow.community, order_id=placed.order_id)
    order_verify(actor=ow.community, order_id=placed.order_id)
    with pytest.raises(NotFound):
        order_deliver(actor=volunteer, order_id=placed.order_id, paid_by="scan")
    with pytest.raises(ValidationFailed):
        order_deliver(actor=ow.community, order_id=placed.order_id, paid_by="iou")
    order = order_deliver(actor=ow.community, order_id=placed.order_id, paid_by="scan")

    assert (order.status, order.payment_status, order.payment_method) == ("delivered", "paid", "scan")
    assert list(Payment.objects.values_list("kind", "method", "amount")) == [("charge", "scan", Decimal("38.00"))]
    assert list(OrderEvent.objects.filter(order_id=placed.order_id).values_list("to_status", flat=True)) == [
        "placed",
        "confirmed",
        "picked",
        "loaded",
        "at_gate",
        "verified",
        "delivered",
    ]
    assert list(AuditLog.objects.filter(target_type="order").order_by("id").values_list("action", flat=True)) == [
        "order.place",
        "order.confirm",
        "order.pick",
        "order.load",
        "order.at_gate",
        "order.verify",
        "order.deliver",
    ]


def test_illegal_transitions_are_conflicts_and_change_nothing(ow):
    placed = place(ow)

    with pytest.raises(Conflict) as error:
        order_load(actor=ow.supplier, order_id=placed.order_id)
    with pytest.raises(Conflict):
        order_deliver(actor=ow.community, order_id=placed.order_id)
    with pytest.raises(Conflict):
        order_fail(actor=ow.community, order_id=placed.order_id, reason="not yet confirmed")

    assert error.value.data == {"status": "placed"}
    assert list(OrderEvent.objects.values_list("to_status", flat=True)) == ["placed"]


def test_roles_drive_only_their_own_steps(ow):
    placed = place(ow)
    purchase_orders_consolidate(delivery_date=DAY, now=AFTER_CUTOFF)
    purchase_order_confirm(actor=ow.supplier, purchase_order_id=PurchaseOrder.objects.get().pk)

    with pytest.raises(PermissionDenied):
        order_pick(actor=ow.community, order_id=placed.order_id)
    with pytest.raises(NotFound):
        order_pick(actor=ow.other_supplier, order_id=placed.order_id)
    with pytest.raises(PermissionDenied):
        order_cancel(actor=ow.supplier, order_id=placed.order_id, reason="x", now=NOW)


def test_failed_delivery_refunds_online_payment(ow):
    placed = place(ow)
    purchase_orders_consolidate(delivery_date=DAY, now=AFTER_CUTOFF)
    purchase_order_confirm(actor=ow.supplier, purchase_order_id=PurchaseOrder.objects.get().pk)

    order = order_fail(actor=ow.supplier, order_id=placed.order_id, reason="damaged in transit")

    assert (order.status, order.payment_status, order.reason) == ("failed", "refunded", "damaged in transit")
    assert list(Payment.objects.values_list("kind", "amount")) == [
        ("charge", Decimal("38.00")),
        ("refund", Decimal("38.00")),
    ]


# --- consolidation and confirmation -----------------------------------------------------------------


def test_consolidation_waits_for_cutoff_then_makes_one_purchase_order_per_compound(ow):
    place(ow, lines=(("veg", 1), ("rice", 2)))
    place(
        ow,
        actor=ow.community,
        household="A1b",
        channel="wechat",
        read_back_confirmed=True,
        lines=(("veg2", 1), ("rice", 1)),
    )
    place(ow, actor=ow.community, household="A2", channel="phone", read_back_confirmed=True)

    assert purchase_orders_consolidate(delivery_date=DAY, now=NOW) == []
    made = purchase_orders_consolidate(delivery_date=DAY, now=AFTER_CUTOFF)
    again = purchase_orders_consolidate(delivery_date=DAY, now=AFTER_CUTOFF)

    assert again == []
    by_compound = {po.compound_id: po for po in made}
    a1 = by_compound[ow.world.regions["A1"].pk]
    assert sorted(by_compound) == sorted(ow.world.region_ids("A1", "A2"))
    assert (a1.order_count, a1.total, a1.supermarket_id) == (2, Decimal("249.50"), ow.supermarket.pk)
    assert sorted(a1.lines.values_list("offer_line_id", "quantity")) == sorted(
        [(ow.offers["veg"].pk, 1), (ow.offers["veg2"].pk, 1), (ow.offers["rice"].pk, 3)]
    )
    assert [
        (row.building_name, row.offer_line_id, row.quantity)
        for row in purchase_order_building_totals(purchase_order=a1)
    ] == [
        ("A1 1号楼", ow.offers["veg"].pk, 1),
        ("A1 1号楼", ow.offers["veg2"].pk, 1),
        ("A1 1号楼", ow.offers["rice"].pk, 3),
    ]
    assert AuditLog.objects.filter(action="purchase_order.consolidate").count() == 2


def test_short_confirmation_serves_vulnerable_households_first_and_refunds_the_difference(ow):
    # A1b orders first, A1a (elderly living alone) second; only 2 of 3 rice bags come.
    first = place(
        ow,
        actor=ow.community,
        household="A1b",
        channel="phone",
        read_back_confirmed=True,
        lines=(("rice", 1), ("veg", 1)),
    )
    second = place(ow, lines=(("rice", 2),))
    purchase_order = purchase_orders_consolidate(delivery_date=DAY, now=AFTER_CUTOFF)[0]

    confirmed = purchase_order_confirm(
        actor=ow.supplier,
        purchase_order_id=purchase_order.pk,
        shortages=[Shortage(offer_line_id=ow.offers["rice"].pk, confirmed_quantity=2, reason="truck delayed")],
    )

    resident_order = Order.objects.get(pk=second.order_id)
    proxy_order = Order.objects.get(pk=first.order_id)
    assert confirmed.status == "short_confirmed"
    assert (resident_order.status, resident_order.is_partial, resident_order.amount_due) == (
        "confirmed",
        False,
        Decimal("111.00"),
    )
    assert (proxy_order.status, proxy_order.is_partial, proxy_order.reason, proxy_order.amount_due) == (
        "confirmed",
        True,
        "truck delayed",
        Decimal("38.00"),
    )
    assert list(proxy_order.lines.values_list("quantity", "confirmed_quantity", "short_reason")) == [
        (1, 0, "truck delayed"),
        (1, 1, ""),
    ]
    # Both paid online: A1a gets everything; A1b is refunded the rice that will not come.
    assert list(Payment.objects.filter(order=proxy_order).values_list("kind", "amount")) == [
        ("charge", Decimal("93.50")),
        ("refund", Decimal("55.50")),
    ]
    packs = purchase_order_pack_list(purchase_order=confirmed)
    assert [(p.order_id, p.room, [(line.goods_name, line.quantity) for line in p.lines]) for p in packs] == [
        (second.order_id, "101", [("大米", 2)]),
        (first.order_id, "102", [("套餐VEG-A", 1)]),
    ]


def test_an_order_with_nothing_left_becomes_short_and_is_refunded(ow):
    placed = place(ow, lines=(("relief", 1),))
    purchase_order = purchase_orders_consolidate(delivery_date=DAY, now=AFTER_CUTOFF)[0]

    purchase_order_confirm(
        actor=ow.supplier,
        purchase_order_id=purchase_order.pk,
        shortages=[Shortage(offer_line_id=ow.offers["relief"].pk, confirmed_quantity=0, reason="kits not delivered")],
    )

    order = Order.objects.get(pk=placed.order_id)
    assert (order.status, order.payment_status, order.amount_due, order.reason) == (
        "short",
        "refunded",
        Decimal("0.00"),
        "kits not delivered",
    )
    assert AuditLog.objects.filter(action="order.short").count() == 1


@pytest.mark.parametrize(
    ("shortage", "field"),
    [
        (Shortage(offer_line_id=999999, confirmed_quantity=0, reason="x"), "shortages[0].offer_line_id"),
        (Shortage(offer_line_id=0, confirmed_quantity=0, reason="x"), "shortages[0].offer_line_id"),
        ("veg-full", "shortages[0].confirmed_quantity"),
        ("veg-noreason", "shortages[0].reason"),
    ],
)
def test_bad_shortages_are_refused_and_change_nothing(ow, shortage, field):
    place(ow)
    purchase_order = purchase_orders_consolidate(delivery_date=DAY, now=AFTER_CUTOFF)[0]
    if shortage == "veg-full":
        shortage = Shortage(offer_line_id=ow.offers["veg"].pk, confirmed_quantity=1, reason="x")
    elif shortage == "veg-noreason":
        shortage = Shortage(offer_line_id=ow.offers["veg"].pk, confirmed_quantity=0, reason=" ")

    with pytest.raises(ValidationFailed) as error:
        purchase_order_confirm(actor=ow.supplier, purchase_order_id=purchase_order.pk, shortages=[shortage])

    assert error.value.field == field
    assert PurchaseOrder.objects.get().status == "open"
    assert Order.objects.get().status == "placed"


def test_purchase_order_is_confirmed_once_and_only_by_its_supermarket(ow):
    place(ow)
    purchase_order = purchase_orders_consolidate(delivery_date=DAY, now=AFTER_CUTOFF)[0]

    with pytest.raises(NotFound):
        purchase_order_confirm(actor=ow.other_supplier, purchase_order_id=purchase_order.pk)
    with pytest.raises(PermissionDenied):
        purchase_order_confirm(actor=ow.community, purchase_order_id=purchase_order.pk)
    purchase_order_confirm(actor=ow.supplier, purchase_order_id=purchase_order.pk)
    with pytest.raises(Conflict):
        purchase_order_confirm(actor=ow.supplier, purchase_order_id=purchase_order.pk)


def test_consolidation_task_and_command(ow, monkeypatch):
    place(ow)
    place(ow, actor=ow.community, household="A2", channel="phone", read_back_confirmed=True)
    monkeypatch.setattr("django.utils.timezone.now", lambda: AFTER_CUTOFF)

    result = orders_consolidate_task.enqueue(DAY.isoformat())
    call_command("orders_consolidate", "--date", DAY.isoformat())

    assert sorted(result.return_value) == sorted(PurchaseOrder.objects.values_list("pk", flat=True))
    assert PurchaseOrder.objects.count() == 2


# --- scoping ----------------------------------------------------------------------------------------


def test_scopes_of_orders_and_purchase_orders(ow):
    mine = place(ow).order_id
    neighbour = place(ow, actor=ow.community, household="A1b", channel="phone", read_back_confirmed=True).order_id
    purchase_orders_consolidate(delivery_date=DAY, now=AFTER_CUTOFF)

    def visible(account):
        return sorted(order_list(scope=scope_of(account)).values_list("pk", flat=True))

    assert visible(ow.resident) == [mine]
    assert visible(ow.community) == sorted([mine, neighbour])
    assert visible(ow.supplier) == sorted([mine, neighbour])
    assert visible(ow.other_supplier) == []
    assert visible(ow.world.users[Role.CHECKPOINT]) == []
    with pytest.raises(NotFound):
        order_get(scope=scope_of(ow.resident), order_id=neighbour)
    assert purchase_order_list(scope=scope_of(ow.other_supplier)).count() == 0
    assert purchase_order_list(scope=scope_of(ow.resident)).count() == 0
    with pytest.raises(NotFound):
        purchase_order_get(scope=scope_of(ow.other_supplier), purchase_order_id=PurchaseOrder.objects.get().pk)


# --- publishing offers ------------------------------------------------------------------------------


def test_supermarket_publishes_and_updates_its_offer(ow):
    from baogong.orders.services import offer_line_publish

    line = offer_line_publish(
        actor=ow.supplier,
        supermarket=ow.supermarket,
        delivery_date=DAY + timedelta(days=1),
        kit=ow.kits["veg2"],
        price=Decimal("45"),
        quantity=50,
    )
    place(ow, lines=(("veg", 1),))

    with pytest.raises(Conflict) as below_ordered:
        offer_line_publish(
            actor=ow.supplier,
            supermarket=ow.supermarket,
            delivery_date=DAY,
            kit=ow.kits["veg"],
            price=Decimal("38"),
            quantity=0,
        )
    with pytest.raises(PermissionDenied):
        offer_line_publish(
            actor=ow.other_supplier,
            supermarket=ow.supermarket,
            delivery_date=DAY,
            commodity=ow.rice,
            price=Decimal("1"),
            quantity=1,
        )
    with pytest.raises(ValidationFailed) as bad_price:
        offer_line_publish(
            actor=ow.supplier,
            supermarket=ow.supermarket,
            delivery_date=DAY,
            commodity=ow.rice,
            price=Decimal("-1"),
            quantity=1,
        )
    updated = offer_line_publish(
        actor=ow.supplier,
        supermarket=ow.supermarket,
        delivery_date=DAY,
        kit=ow.kits["veg"],
        price=Decimal("36"),
        quantity=40,
    )

    assert (line.kind, line.weight_kg, line.quantity, line.reserved) == ("package", Decimal("3.000"), 50, 0)
    assert (below_ordered.value.field, bad_price.value.field) == ("quantity", "price")
    assert (updated.pk, updated.price, updated.quantity, updated.reserved) == (
        ow.offers["veg"].pk,
        Decimal("36.00"),
        40,
        1,
    )
    assert list(AuditLog.objects.filter(target_type="offer_line").order_by("id").values_list("action", flat=True)) == [
        "offer.publish",
        "offer.update",
    ]
