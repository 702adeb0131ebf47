"""A small county for page tests: two subdistricts, one sealed compound, stock at two points.

Numbers are chosen so every figure on the dashboard can be asserted exactly:

- compound A (subdistrict A, sealed): households of 3 and 4 people
- compound B (subdistrict B, no status): one household of 5 people
- county depot: 100 bags of 10 kg rice and 40 boxes of masks
- subdistrict A depot: 10 bags of rice
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from baogong.accounts.models import Role, User
from baogong.accounts.tests.factories import user
from baogong.catalog.models import Commodity
from baogong.catalog.tests.factories import commodity
from baogong.regions.models import Household, RegionLevel, ZoneStatusKind
from baogong.regions.services import zone_status_set
from baogong.regions.tests.factories import Tree, household, make_tree, region
from baogong.stock.models import StockPoint
from baogong.stock.services import stock_issue, stock_receive
from baogong.stock.tests.factories import stock_point

PASSWORD = "pw-for-tests-only"


@dataclass
class County:
    a: Tree
    b: Tree
    household_a1: Household
    household_a2: Household
    household_b1: Household
    rice: Commodity
    masks: Commodity
    county_depot: StockPoint
    depot_a: StockPoint
    depot_b: StockPoint
    command: User


def build_county() -> County:
    a = make_tree()
    b = make_tree(a.county)
    command = user(Role.COMMAND, region=a.county)
    household_a1 = household(a.unit, room="101", size=3, phone="13800001111", vulnerability_tags=["elderly_alone"])
    household_a2 = household(a.unit, room="102", size=4, phone="13900002222", can_order_online=False)
    household_b1 = household(b.unit, room="201", size=5, phone="13700003333")
    zone_status_set(actor=command, region=a.compound, status=ZoneStatusKind.SEALED, reason="suspected case")
    # A reserve target of 100 days puts the whole county above it and subdistrict A below it.
    rice = commodity(
        category="rice", weight_kg=Decimal("10"), daily_kg_per_person=Decimal("0.15"), reserve_days_target=100
    )
    masks = commodity(
        category="protective_medical",
        name_zh="口罩",
        name_en="Masks",
        unit="box",
        weight_kg=Decimal("0.5"),
        daily_kg_per_person=None,
        medical_tier=1,
    )
    county_depot = stock_point(a.county, name="County depot")
    depot_a = stock_point(a.subdistrict, name="Depot A")
    depot_b = stock_point(b.subdistrict, name="Depot B")
    stock_receive(
        actor=command,
        point=county_depot,
        commodity=rice,
        quantity=120,
        reason="delivery",
        lot="L1",
        expires_on=date(2030, 1, 31),
    )
    stock_issue(actor=command, point=county_depot, commodity=rice, quantity=20, reason="relief kits")
    stock_receive(actor=command, point=county_depot, commodity=masks, quantity=40, reason="delivery")
    stock_receive(actor=command, point=depot_a, commodity=rice, quantity=10, reason="delivery")
    return County(a, b, household_a1, household_a2, household_b1, rice, masks, county_depot, depot_a, depot_b, command)


def extra_households(tree: Tree, n: int) -> None:
    building = region(tree.compound, RegionLevel.BUILDING, "2号楼")
    unit = region(building, RegionLevel.UNIT, "2单元")
    for i in range(n):
        household(unit, room=f"{300 + i}", size=1, phone=f"1360000{i:04d}")
