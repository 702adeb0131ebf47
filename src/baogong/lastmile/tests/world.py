"""A planned day ready for the last mile: the day-plan world, planned, every order checked at the gate.

Sealed compound A1: 14 households on two rosters of 7 (volunteers[0] and
volunteers[1]). Controlled compound A2: its household collects at the
distribution point (its order is switched to pickup, as if placed after the
compound was put under control). B1 is in the other community.
"""

from __future__ import annotations

from dataclasses import dataclass

from baogong.accounts.models import Role, User
from baogong.orders.models import DeliveryMode, Order, OrderStatus, PurchaseOrder
from baogong.orders.services import (
    order_arrive_at_gate,
    order_load,
    order_pick,
    order_verify,
    purchase_order_confirm,
)
from baogong.orders.tests.factories import DAY
from baogong.planning.day_plan import day_plan_solve
from baogong.planning.models import DayPlan, PlanRoster
from baogong.planning.tests.day_plan_world import PlanWorld, build_plan_world

TINY = 0.3


@dataclass
class LastMileWorld:
    pw: PlanWorld
    plan: DayPlan

    @property
    def command(self) -> User:
        return self.pw.command

    @property
    def volunteers(self) -> list[User]:
        return self.pw.volunteers

    def roster_orders(self, volunteer: User) -> list[int]:
        """Door orders of the volunteer's rosters, in walking order."""
        ids: list[int] = []
        for roster in PlanRoster.objects.filter(plan=self.plan, volunteer=volunteer).order_by("number"):
            for stop in roster.stops:
                ids.extend(
                    Order.objects.filter(household_id=stop["household"], delivery_date=DAY)
                    .exclude(status__in=[OrderStatus.CANCELLED, OrderStatus.SHORT])
                    .order_by("pk")
                    .values_list("pk", flat=True)
                )
        return ids

    def household_order(self, key: str) -> Order:
        return Order.objects.get(household_id=self.pw.ow.household(key), delivery_date=DAY)


def build_last_mile_world() -> LastMileWorld:
    pw = build_plan_world()
    ow = pw.ow
    Order.objects.filter(household_id=ow.household("A2"), delivery_date=DAY).update(
        delivery_mode=DeliveryMode.PICKUP, pickup_slot="1号楼 1单元"
    )
    for purchase_order in PurchaseOrder.objects.order_by("pk"):
        supplier = ow.supplier if purchase_order.supermarket_id == ow.supermarket.pk else ow.other_supplier
        purchase_order_confirm(actor=supplier, purchase_order_id=purchase_order.pk)
    plan = day_plan_solve(actor=pw.command, delivery_date=DAY, time_limit_s=TINY)
    command = pw.command
    for order_id in (
        Order.objects.filter(delivery_date=DAY, status=OrderStatus.CONFIRMED)
        .order_by("pk")
        .values_list("pk", flat=True)
    ):
        order_pick(actor=command, order_id=order_id)
        order_load(actor=command, order_id=order_id)
        order_arrive_at_gate(actor=command, order_id=order_id)
        order_verify(actor=command, order_id=order_id)
    assert pw.ow.world.users[Role.VOLUNTEER] == pw.volunteers[0]
    return LastMileWorld(pw=pw, plan=plan)
