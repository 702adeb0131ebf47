"""Allocation runs against the database: demand from orders, supply from stock, stored explanations, carry-over."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import translation

from baogong.accounts.models import Role
from baogong.accounts.tests.factories import user
from baogong.catalog.models import KitKind, KitLine
from baogong.catalog.tests.factories import commodity
from baogong.core.errors import NotFound, PermissionDenied, ValidationFailed
from baogong.core.models import AuditLog
from baogong.core.scoping import scope_of
from baogong.orders.models import Order, OrderLine, OrderStatus, PaymentMethod, PaymentStatus
from baogong.orders.tests.factories import DAY, NOW, build_ordering_world, kit, offer
from baogong.planning.allocation import AllocationRules, Tier, commodity_key, kit_key
from baogong.planning.models import (
    AllocationCarryOver,
    AllocationItem,
    AllocationLine,
    AllocationRun,
    PackageConversion,
    SupplySource,
)
from baogong.planning.selectors import (
    allocation_carry_over_for,
    allocation_conversions_of,
    allocation_explain,
    allocation_run_get,
    allocation_run_list,
    allocation_unmet_by_item,
)
from baogong.planning.services import ReliefDemand, allocation_run_create
from baogong.regions.tests.factories import household
from baogong.stock.services import stock_receive

pytestmark = pytest.mark.django_db


@pytest.fixture
def ow():
    return build_ordering_world()


def place(ow, home, lines, *, minute, status=OrderStatus.CONFIRMED, payment=PaymentMethod.ONLINE, day=DAY):
    """An order as the ordering services leave it, written directly so each test states only what matters."""
    total = sum((line_offer.price * quantity for line_offer, quantity in lines), Decimal("0.00"))
    order = Order.objects.create(
        household=home,
        compound=home.compound,
        building=home.unit.parent,
        unit=home.unit,
        supermarket=ow.supermarket,
        delivery_date=day,
        channel="online",
        placed_by=ow.resident,
        status=status,
        delivery_mode="door",
        payment_method=payment,
        payment_status=PaymentStatus.WAIVED if payment == PaymentMethod.FREE else PaymentStatus.PAID,
        total=total,
        amount_due=total,
    )
    for line_offer, quantity in lines:
        OrderLine.objects.create(
            order=order,
            offer_line=line_offer,
            kind=line_offer.kind,
            kit=line_offer.kit,
            commodity=line_offer.commodity,
            quantity=quantity,
            unit_price=line_offer.price,
            amount=line_offer.price * quantity,
        )
    Order.objects.filter(pk=order.pk).update(created_at=NOW + timedelta(minutes=minute))
    return order


def rice_stock(ow, quantity, point="S"):
    stock_receive(
        actor=None, point=ow.world.points[point], commodity=ow.rice, quantity=quantity, reason="delivery from reserve"
    )


@pytest.fixture
def shortage(ow):
    """Rice: 10 bags at the supermarket's stock point; a vulnerable household orders 2, three others 5 each."""
    unit = ow.world.regions["A1-unit"]
    homes = {
        "vulnerable": ow.world.households["A1a"],  # 3 persons, elderly living alone flag
        "one": household(unit, size=1),
        "two": household(unit, size=2),
        "four": household(unit, size=4),
    }
    rice = ow.offers["rice"]
    place(ow, homes["vulnerable"], [(rice, 2)], minute=9)
    place(ow, homes["one"], [(rice, 5)], minute=1)
    place(ow, homes["two"], [(rice, 5)], minute=2)
    place(ow, homes["four"], [(rice, 5)], minute=3)
    place(ow, ow.world.households["A2"], [(rice, 1)], minute=4, status=OrderStatus.CANCELLED)
    rice_stock(ow, 10)
    return homes


def lines_by_household(run):
    return {
        line.household_id: (line.tier, line.ordered, line.allocated, line.rule, line.explanation)
        for line in AllocationLine.objects.filter(run=run)
    }


def test_a_short_item_goes_to_the_vulnerable_first_then_by_household_size(ow, shortage):
    # Vulnerable: 2 in full. The other 8 among sizes 1, 2, 4 (level 8/7): shares 8/7, 16/7, 32/7;
    # 7 whole units and the 8th to the largest remainder (4/7).
    with translation.override("en"):
        run = allocation_run_create(actor=ow.supplier, supermarket=ow.supermarket, delivery_date=DAY)

        lines = lines_by_household(run)

    assert lines == {
        shortage["vulnerable"].pk: (Tier.VULNERABLE, 2, 2, "in_full", "priority tier vulnerable: served in full"),
        shortage["one"].pk: (Tier.GENERAL, 5, 1, "fair_share", "fair share 1.14 → 1 (largest remainder)"),
        shortage["two"].pk: (Tier.GENERAL, 5, 2, "fair_share", "fair share 2.29 → 2 (largest remainder)"),
        shortage["four"].pk: (Tier.GENERAL, 5, 5, "fair_share", "fair share 4.57 → 5 (largest remainder)"),
    }
    assert (run.supply_total, run.demand_total, run.allocated_total, run.unmet_total, run.household_count) == (
        10,
        17,
        10,
        7,
        4,
    )
    item = AllocationItem.objects.get(run=run)
    assert (item.commodity_id, item.supply_source, item.supply, item.demand, item.allocated, item.unmet) == (
        ow.rice.pk,
        SupplySource.STOCK,
        10,
        17,
        10,
        7,
    )
    assert run.rules == AllocationRules().as_dict()
    assert run.is_current
    audit = AuditLog.objects.get(action="allocation.run")
    assert (audit.actor, audit.target_id) == (ow.supplier, str(run.pk))
    assert audit.payload["allocated"] == 10
    assert audit.payload["unmet"] == 7


def test_unmet_demand_is_reported_per_item_and_carried_to_the_next_day(ow, shortage):
    run = allocation_run_create(actor=None, supermarket=ow.supermarket, delivery_date=DAY)

    assert [(i.commodity_id, i.demand, i.allocated, i.unmet) for i in allocation_unmet_by_item(run=run)] == [
        (ow.rice.pk, 17, 10, 7)
    ]
    assert sorted(AllocationCarryOver.objects.values_list("household_id", "for_date", "quantity")) == sorted(
        [(shortage["one"].pk, DAY + timedelta(days=1), 4), (shortage["two"].pk, DAY + timedelta(days=1), 3)]
    )
    carried = allocation_carry_over_for(
        scope=scope_of(ow.supplier), supermarket_id=ow.supermarket.pk, delivery_date=DAY + timedelta(days=1)
    )
    assert [(c.commodity_id, c.kit_id, c.households, c.quantity) for c in carried] == [(ow.rice.pk, None, 2, 7)]


def test_the_next_day_serves_carried_over_demand_before_new_orders(ow, shortage):
    allocation_run_create(actor=None, supermarket=ow.supermarket, delivery_date=DAY)
    next_day = DAY + timedelta(days=1)
    rice_tomorrow = offer(ow.supermarket, goods=ow.rice, quantity=20, day=next_day)
    # "one" missed 4 and orders 2 again, so 2 are still carried; "two" missed 3 and orders nothing.
    place(ow, shortage["one"], [(rice_tomorrow, 2)], minute=30, day=next_day)

    # Carried over 2 + 3 among sizes 1 and 2 with 4 bags: level 4/3, shares 4/3 and 8/3, the spare unit to 2/3.
    run = allocation_run_create(
        actor=None, supermarket=ow.supermarket, delivery_date=next_day, supply={commodity_key(ow.rice.pk): 4}
    )

    assert sorted(
        AllocationLine.objects.filter(run=run).values_list("household_id", "tier", "ordered", "allocated", "rule")
    ) == sorted(
        [
            (shortage["one"].pk, Tier.CARRIED_OVER, 2, 1, "fair_share"),
            (shortage["two"].pk, Tier.CARRIED_OVER, 3, 3, "fair_share"),
            (shortage["one"].pk, Tier.GENERAL, 2, 0, "exhausted"),
        ]
    )
    item = AllocationItem.objects.get(run=run)
    assert (item.supply_source, item.carried_in, item.demand, item.allocated) == (SupplySource.EXPLICIT, 5, 7, 4)
    # What is still missing (1 + 2 for "one", 0 for "two") moves on again, one row per household and item.
    assert list(AllocationCarryOver.objects.filter(run=run).values_list("household_id", "quantity")) == [
        (shortage["one"].pk, 3)
    ]


def test_relief_kits_come_first_and_are_packed_from_the_depot(ow):
    unit = ow.world.regions["A2-unit"]
    homes = [household(unit, size=1), household(unit, size=2), household(unit, size=3)]
    relief_kit = ow.kits["relief"]  # one bag of rice
    rice_stock(ow, 2, point="C")

    # Three kits, two can be packed: no floor (3 > 2), level 1/3 over sizes 1, 2, 3.
    with translation.override("en"):
        run = allocation_run_create(
            actor=ow.world.users[Role.COMMAND],
            supermarket=ow.supermarket,
            delivery_date=DAY,
            stock_point=ow.world.points["C"],
            relief=[ReliefDemand(household_id=h.pk, kit_id=relief_kit.pk) for h in homes],
        )
        lines = lines_by_household(run)

    assert lines == {
        homes[0].pk: (Tier.RELIEF, 1, 0, "fair_share", "priority tier relief: fair share 0.33 → 0 (largest remainder)"),
        homes[1].pk: (Tier.RELIEF, 1, 1, "fair_share", "priority tier relief: fair share 0.67 → 1 (largest remainder)"),
        homes[2].pk: (Tier.RELIEF, 1, 1, "capped", "priority tier relief: capped at ordered"),
    }
    item = AllocationItem.objects.get(run=run)
    assert (item.kit_id, item.supply_source, item.supply) == (relief_kit.pk, SupplySource.ASSEMBLED, 2)
    assert run.stock_point == ow.world.points["C"]


def test_free_orders_are_relief_and_offered_packages_count_what_was_offered(ow):
    veg = ow.offers["veg"]  # 30 offered
    free = place(ow, ow.world.households["A1b"], [(veg, 1)], minute=5, payment=PaymentMethod.FREE)

    run = allocation_run_create(actor=None, supermarket=ow.supermarket, delivery_date=DAY)

    line = AllocationLine.objects.get(run=run)
    assert (line.household_id, line.tier, line.allocated, line.rule) == (free.household_id, Tier.RELIEF, 1, "in_full")
    item = AllocationItem.objects.get(run=run)
    assert (item.kit_id, item.supply_source, item.supply, item.unmet) == (ow.kits["veg"].pk, SupplySource.OFFER, 30, 0)
    assert AllocationCarryOver.objects.count() == 0


def test_placed_orders_count_only_when_the_rules_say_so(ow):
    place(ow, ow.world.households["A1b"], [(ow.offers["rice"], 2)], minute=1, status=OrderStatus.PLACED)
    rice_stock(ow, 1)

    confirmed_only = allocation_run_create(actor=None, supermarket=ow.supermarket, delivery_date=DAY)
    with_placed = allocation_run_create(
        actor=None,
        supermarket=ow.supermarket,
        delivery_date=DAY,
        rules=AllocationRules(order_statuses=("placed", "confirmed")),
    )

    assert (confirmed_only.demand_total, confirmed_only.household_count) == (0, 0)
    assert (with_placed.demand_total, with_placed.allocated_total, with_placed.unmet_total) == (2, 1, 1)


def test_a_new_run_for_the_same_day_supersedes_the_previous_one(ow, shortage):
    first = allocation_run_create(actor=None, supermarket=ow.supermarket, delivery_date=DAY)
    second = allocation_run_create(
        actor=None, supermarket=ow.supermarket, delivery_date=DAY, supply={commodity_key(ow.rice.pk): 17}
    )

    first.refresh_from_db()
    assert (first.is_current, second.is_current) == (False, True)
    assert second.unmet_total == 0
    # Only the current run's carry-over (none) reaches the next day.
    assert (
        allocation_carry_over_for(
            scope=scope_of(ow.supplier), supermarket_id=ow.supermarket.pk, delivery_date=DAY + timedelta(days=1)
        )
        == []
    )


def test_every_household_of_a_stored_run_is_explained_in_one_query(ow, shortage, django_assert_num_queries):
    veg = ow.offers["veg"]
    place(ow, ow.world.households["A2"], [(veg, 1), (ow.offers["rice"], 1)], minute=7)
    run = allocation_run_create(actor=None, supermarket=ow.supermarket, delivery_date=DAY)
    ordered = set(
        Order.objects.filter(supermarket=ow.supermarket, delivery_date=DAY, status=OrderStatus.CONFIRMED).values_list(
            "household_id", flat=True
        )
    )

    with translation.override("en"), django_assert_num_queries(1):
        explained = allocation_explain(run=run)

    assert {row.household_id for row in explained} == ordered
    assert all(row.reason for row in explained)
    assert sum(row.allocated for row in explained) == run.allocated_total
    assert sum(row.unmet for row in explained) == run.unmet_total
    assert [(i.allocated, i.demand) for i in AllocationItem.objects.filter(run=run).order_by("id")] == [
        (10, 18),
        (1, 1),
    ]


def test_short_packing_capacity_proposes_standard_packages_with_the_reason(ow):
    cabbage = KitLine.objects.get(kit=ow.kits["veg"]).commodity
    mix = kit(KitKind.VEGETABLE_PACKAGE, "MIX", goods=cabbage, quantity=2)
    KitLine.objects.create(kit=mix, commodity=ow.rice, quantity=1)
    offer(ow.supermarket, kit=mix, quantity=30)
    cabbage_offer = offer(ow.supermarket, goods=cabbage, quantity=100, price="3.00", cap=5)
    homes = [ow.world.households["A1a"], ow.world.households["A1b"], ow.world.households["A2"]]
    for minute, home in enumerate(homes):
        place(ow, home, [(ow.offers["rice"], 1), (cabbage_offer, 2)], minute=minute)
    extra = household(ow.world.regions["A2-unit"], size=2)
    place(ow, extra, [(ow.offers["rice"], 1), (cabbage_offer, 2)], minute=9)

    with translation.override("en"):
        run = allocation_run_create(
            actor=None,
            supermarket=ow.supermarket,
            delivery_date=DAY,
            rules=AllocationRules(pick_line_capacity=6),
            supply={commodity_key(ow.rice.pk): 10, commodity_key(cabbage.pk): 10},
        )
        conversions = [
            (c.household_id, c.package_id, c.replaced, c.explanation) for c in allocation_conversions_of(run=run)
        ]

    # 8 lines for 6: the latest orders switch first; A1a is vulnerable and keeps its items.
    reason = "packing capacity 6 pick lines < 8 ordered: 2 item lines → 1 standard package (saves 1)"
    replaced = [{"commodity": ow.rice.pk, "quantity": 1}, {"commodity": cabbage.pk, "quantity": 2}]
    replaced.sort(key=lambda row: f"commodity:{row['commodity']}")
    assert conversions == [(extra.pk, mix.pk, replaced, reason), (homes[2].pk, mix.pk, replaced, reason)]
    assert (run.pick_lines_ordered, run.pick_lines_planned) == (8, 6)
    assert run.allocated_total == 12  # proposals do not change what is allocated


def test_the_depot_kit_and_commodity_keys_name_the_goods(ow):
    assert (kit_key(3), commodity_key(4)) == ("kit:3", "commodity:4")


# --- refusals change nothing ---------------------------------------------------------------------


def assert_nothing_written():
    assert AllocationRun.objects.count() == 0
    assert AllocationLine.objects.count() == 0
    assert PackageConversion.objects.count() == 0
    assert not AuditLog.objects.filter(action="allocation.run").exists()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"rules": AllocationRules(floor_units=101)}, "rules.floor_units"),
        ({"rules": AllocationRules(priority_tiers=(Tier.RELIEF, Tier.RELIEF))}, "rules.priority_tiers"),
        ({"rules": AllocationRules(priority_tiers=(Tier.GENERAL,))}, "rules.priority_tiers"),
        ({"rules": AllocationRules(order_statuses=("delivered",))}, "rules.order_statuses"),
        ({"rules": AllocationRules(pick_line_capacity=-1)}, "rules.pick_line_capacity"),
        ({"supply": {"rice": 3}}, "supply[rice]"),
        ({"supply": {"commodity:1": -1}}, "supply[commodity:1]"),
        ({"relief": [ReliefDemand(household_id=999_999, kit_id=1)]}, "relief[0].household_id"),
    ],
)
def test_bad_input_is_refused_naming_the_field(ow, shortage, kwargs, field):
    with pytest.raises(ValidationFailed) as error:
        allocation_run_create(actor=None, supermarket=ow.supermarket, delivery_date=DAY, **kwargs)

    assert error.value.field == field
    assert_nothing_written()


def test_relief_quantity_and_duplicates_are_refused(ow):
    home = ow.world.households["A1b"]
    relief = ow.kits["relief"]

    with pytest.raises(ValidationFailed) as zero:
        allocation_run_create(
            actor=None,
            supermarket=ow.supermarket,
            delivery_date=DAY,
            relief=[ReliefDemand(household_id=home.pk, kit_id=relief.pk, quantity=0)],
        )
    with pytest.raises(ValidationFailed) as twice:
        allocation_run_create(
            actor=None,
            supermarket=ow.supermarket,
            delivery_date=DAY,
            relief=[ReliefDemand(household_id=home.pk, kit_id=relief.pk)] * 2,
        )

    assert (zero.value.field, twice.value.field) == ("relief[0].quantity", "relief[1].kit_id")
    assert_nothing_written()


def test_only_planners_and_the_supermarkets_own_staff_run_allocations(ow, shortage):
    with pytest.raises(PermissionDenied):
        allocation_run_create(actor=ow.world.users[Role.VOLUNTEER], supermarket=ow.supermarket, delivery_date=DAY)
    with pytest.raises(PermissionDenied):
        allocation_run_create(actor=ow.other_supplier, supermarket=ow.supermarket, delivery_date=DAY)
    # The supermarket sits at county level, outside subdistrict S1's area.
    with pytest.raises(NotFound):
        allocation_run_create(actor=ow.world.users[Role.SUBDISTRICT], supermarket=ow.supermarket, delivery_date=DAY)
    with pytest.raises(ValidationFailed) as not_a_supermarket:
        allocation_run_create(actor=None, supermarket=ow.world.organisations["D"], delivery_date=DAY)

    assert not_a_supermarket.value.field == "supermarket"
    assert_nothing_written()


def test_runs_are_read_within_scope(ow, shortage):
    run = allocation_run_create(actor=None, supermarket=ow.supermarket, delivery_date=DAY)

    assert allocation_run_get(scope=scope_of(ow.supplier), run_id=run.pk) == run
    assert allocation_run_get(scope=scope_of(ow.world.users[Role.COMMAND]), run_id=run.pk) == run
    assert list(allocation_run_list(scope=scope_of(ow.other_supplier))) == []
    assert list(allocation_run_list(scope=scope_of(user(Role.RESIDENT, household=shortage["one"])))) == []
    with pytest.raises(NotFound):
        allocation_run_get(scope=scope_of(ow.world.users[Role.SUBDISTRICT]), run_id=run.pk)


def test_a_commodity_without_stock_points_is_held_to_the_offer(ow):
    # Supermarket F operates no stock point: its offer is the supply.
    goods = commodity(code="OIL5", category="edible_oil")
    oil = offer(ow.other_supermarket, goods=goods, quantity=3, price="70.00")
    ow.supermarket = ow.other_supermarket
    place(ow, ow.world.households["B1"], [(oil, 2)], minute=1)

    run = allocation_run_create(actor=ow.other_supplier, supermarket=ow.other_supermarket, delivery_date=DAY)

    item = AllocationItem.objects.get(run=run)
    assert (item.supply_source, item.supply, item.allocated) == (SupplySource.OFFER, 3, 2)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"rule": "floor", "floor": 1}, "floor of 1"),
        ({"rule": "capped"}, "capped at ordered"),
        ({"rule": "exhausted"}, "nothing left after higher tiers"),
        ({"rule": "no_supply"}, "no supply"),
        ({"rule": "in_full"}, "served in full"),
        ({"rule": "fair_share", "share": Decimal("2.0000"), "rounding": "exact"}, "fair share 2.00"),
        ({"rule": "fair_share", "share": Decimal("2.3500"), "allocated": 2}, "fair share 2.35 → 2 (largest remainder)"),
        (
            {"rule": "capped", "tier": "carried_over", "is_prioritised": True},
            "priority tier carried over: capped at ordered",
        ),
    ],
)
def test_each_rule_reads_as_a_reason(fields, expected):
    values = {"tier": "general", "is_prioritised": False, "floor": 0, "share": Decimal(0), "allocated": 0}
    values["rounding"] = "down"
    values.update(fields)

    with translation.override("en"):
        assert AllocationLine(**values).explanation == expected
