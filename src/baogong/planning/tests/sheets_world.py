"""The day-plan test county with what the sheets need to show, solved into a plan.

On top of `day_plan_world`: compound A2 gets a newcomer (孙小梅, room 909)
who orders a vegetable package from supermarket F, so A2 is served by two
supermarkets (E and F) and the vehicle that stops there carries both; B1's
building is named like a formula ("=SUM(1)楼") to prove the workbooks store
it as text; V-BIG's driver holds a pass for the delivery day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from baogong.accounts.models import User
from baogong.delivery.tests.factories import driver, green_pass
from baogong.enterprises.models import CompoundPairing
from baogong.orders.services import purchase_orders_consolidate
from baogong.orders.tests.factories import AFTER_CUTOFF, DAY, SHANGHAI
from baogong.planning.day_plan import day_plan_solve
from baogong.planning.models import DayPlan, PlanRoster, PlanStop
from baogong.planning.tests.day_plan_world import PlanWorld, _order, build_plan_world
from baogong.regions.models import Household
from baogong.regions.tests.factories import household

FORMULA_BUILDING = "=SUM(1)楼"
DRIVER_PHONE = "13912340000"


@dataclass
class SheetWorld:
    pw: PlanWorld
    plan: DayPlan
    newcomer: Household

    def user(self, role: str) -> User:
        return self.pw.ow.world.users[role]

    def region_id(self, key: str) -> int:
        return self.pw.ow.world.regions[key].pk

    def stop(self, compound: str) -> PlanStop:
        return PlanStop.objects.select_related("route__vehicle").get(
            plan=self.plan, compound_id=self.region_id(compound)
        )

    def roster(self, compound: str, number: int) -> PlanRoster:
        return PlanRoster.objects.get(plan=self.plan, compound_id=self.region_id(compound), number=number)


def build_sheet_world() -> SheetWorld:
    pw = build_plan_world()
    world = pw.ow.world
    CompoundPairing.objects.filter(compound=world.regions["A2"]).update(supermarket=pw.ow.other_supermarket)
    newcomer = household(world.regions["A2-unit"], room="909", head_name="孙小梅", phone="13700009999")
    _order(pw.ow, newcomer.pk, [("other_veg", 1)])
    purchase_orders_consolidate(delivery_date=DAY, now=AFTER_CUTOFF)
    building = world.regions["B1-building"]
    building.name = FORMULA_BUILDING
    building.save(update_fields=["name"])
    owner = pw.ow.supermarket
    green_pass(
        region=world.regions["S1"],
        vehicle=pw.vehicles["big"],
        driver=driver(owner, name="周师傅", phone=DRIVER_PHONE),
        destinations=[world.regions["A1"], world.regions["A2"]],
        origin=world.points["C"],
        valid_from=datetime.combine(DAY, time(5, 0), tzinfo=SHANGHAI),
    )
    plan = day_plan_solve(actor=pw.command, delivery_date=DAY, time_limit_s=0.3)
    return SheetWorld(pw=pw, plan=plan, newcomer=newcomer)
