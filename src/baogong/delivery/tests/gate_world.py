"""A compound's delivery day ready for the gate: three orders consolidated, confirmed and on their way.

In compound A1, on DAY: A1b (proxy, placed first) ordered rice ×2 and a
vegetable package, a new household A1c (proxy, second) rice ×2, and A1a (an
elderly resident living alone, last) rice ×1. Everything was paid online.
Supermarket E confirmed in full, so the gate expects rice 5 and package 1.
Compound A2 has one order (A2: package ×1) for the command view.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from baogong.accounts.models import Role, User
from baogong.accounts.tests.factories import user
from baogong.delivery.models import Vehicle
from baogong.delivery.tests import factories
from baogong.orders.models import Order, PurchaseOrder, PurchaseOrderLine
from baogong.orders.services import (
    LineRequest,
    order_load,
    order_pick,
    order_place,
    purchase_order_confirm,
    purchase_orders_consolidate,
)
from baogong.orders.tests.factories import (
    AFTER_CUTOFF,
    DAY,
    NOW,
    SHANGHAI,
    OrderingWorld,
    build_ordering_world,
    new_key,
)
from baogong.planning.models import DayPlan, DayPlanPart, DayPlanStatus, PlanRoute, PlanStop
from baogong.regions.models import Household, Region
from baogong.regions.tests.factories import household


@dataclass
class GateWorld:
    ow: OrderingWorld
    volunteer: User
    other_volunteer: User
    a1c: Household
    orders: dict[str, Order]
    purchase_orders: dict[str, PurchaseOrder]
    vehicle: Vehicle

    @property
    def compound(self) -> Region:
        return self.ow.world.regions["A1"]

    def po_line(self, offer: str, compound: str = "A1") -> PurchaseOrderLine:
        return PurchaseOrderLine.objects.get(
            purchase_order=self.purchase_orders[compound], offer_line=self.ow.offers[offer]
        )


def at(hour: int, minute: int = 0, *, days: int = 0) -> datetime:
    """A moment of the delivery day in Beijing time."""
    return datetime.combine(DAY, time(hour, minute), tzinfo=SHANGHAI) + timedelta(days=days)


def _place(ow: OrderingWorld, *, household_id: int, lines: list[tuple[str, int]], minutes: int) -> Order:
    placed = order_place(
        actor=ow.community,
        household_id=household_id,
        delivery_date=DAY,
        lines=[LineRequest(offer_line_id=ow.offers[name].pk, quantity=quantity) for name, quantity in lines],
        idempotency_key=new_key(),
        channel="phone",
        read_back_confirmed=True,
        now=NOW + timedelta(minutes=minutes),
    )
    return Order.objects.get(pk=placed.order_id)


def build_gate_world(*, load: bool = True) -> GateWorld:
    ow = build_ordering_world()
    world = ow.world
    a1c = household(world.regions["A1-unit"], room="103")
    orders = {
        "A1b": _place(ow, household_id=ow.household("A1b"), lines=[("rice", 2), ("veg", 1)], minutes=0),
        "A1c": _place(ow, household_id=a1c.pk, lines=[("rice", 2)], minutes=1),
        "A1a": _place(ow, household_id=ow.household("A1a"), lines=[("rice", 1)], minutes=2),
        "A2": _place(ow, household_id=ow.household("A2"), lines=[("veg", 1)], minutes=3),
    }
    # Placing happens at NOW; created_at is the wall clock, so make the order of placing explicit.
    for offset, key in enumerate(("A1b", "A1c", "A1a", "A2")):
        Order.objects.filter(pk=orders[key].pk).update(created_at=NOW + timedelta(minutes=offset))
    purchase_orders = {
        po.compound.name[:2]: po for po in purchase_orders_consolidate(delivery_date=DAY, now=AFTER_CUTOFF)
    }
    for po in purchase_orders.values():
        purchase_order_confirm(actor=ow.supplier, purchase_order_id=po.pk)
    if load:
        # A1b and A1c are picked and loaded; A1a's order is left confirmed (the supermarket skipped the steps).
        for key in ("A1b", "A1c"):
            order_pick(actor=ow.supplier, order_id=orders[key].pk)
            order_load(actor=ow.supplier, order_id=orders[key].pk)
    for key, order in orders.items():
        orders[key] = Order.objects.get(pk=order.pk)
    owner = factories.organisation(world.regions["C"])
    return GateWorld(
        ow=ow,
        volunteer=world.users[Role.VOLUNTEER],
        other_volunteer=user(Role.VOLUNTEER, region=world.regions["A2"]),
        a1c=a1c,
        orders=orders,
        purchase_orders=purchase_orders,
        vehicle=factories.vehicle(owner, plate="浙A·G1001"),
    )


def plan_stop(gw: GateWorld, *, compound: str, vehicle: Vehicle, eta: time) -> PlanStop:
    """A finished plan of DAY sending `vehicle` to `compound` with this ETA."""
    world = gw.ow.world
    plan = DayPlan.objects.filter(delivery_date=DAY, status=DayPlanStatus.DONE).first() or DayPlan.objects.create(
        area=world.regions["S1"], delivery_date=DAY, status=DayPlanStatus.DONE, time_limit_s=1
    )
    part = DayPlanPart.objects.get_or_create(plan=plan, subdistrict=world.regions["S1"])[0]
    route = PlanRoute.objects.create(
        plan=plan,
        part=part,
        vehicle=vehicle,
        depot=world.points["S"],
        trips=1,
        starts=time(7, 0),
        ends=time(12, 0),
        distance_km=10,
        duration_min=60,
        load_kg=100,
        payload_kg=1500,
    )
    return PlanStop.objects.create(
        plan=plan,
        part=part,
        compound=world.regions[compound],
        route=route,
        trip=1,
        sequence=1,
        demand_kg=50,
        volume_m3=1,
        households=3,
        window_open=time(8, 0),
        window_close=time(11, 0),
        arrival=eta,
    )
