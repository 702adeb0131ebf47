"""A small county with two communities, used by the scoping, API and admin tests.

    County C
    ├── subdistrict S1 ── community A ─┬─ compound A1 ── building ── unit: households A1a, A1b
    │                                  └─ compound A2 ── building ── unit: household A2
    └── subdistrict S2 ── community B ─── compound B1 ── building ── unit: household B1

Stock points: C (county reserve), A (community point), B (community point),
S (a supermarket in compound A1 operated by the supplier organisation E).
Organisations: department D answering for S1; enterprise E (supermarket).
One account per role: command@C, department@D, subdistrict@S1, community@A,
volunteer@A1, checkpoint@S2, supplier@E, resident of household A1a.
Every household has its own phone, ID number and name so a test can look for
the raw strings in a response.
"""

from __future__ import annotations

from dataclasses import dataclass

from baogong.accounts.models import Role, User
from baogong.accounts.tests.factories import user
from baogong.enterprises.models import EnterpriseType, Organisation, OrganisationKind
from baogong.regions.models import Household, Region, RegionLevel
from baogong.regions.tests.factories import household, region
from baogong.stock.models import StockPoint, StockPointKind
from baogong.stock.tests.factories import stock_point

PERSONAL = {
    "A1a": ("赵一鸣", "13900000011", "110101198001010011"),
    "A1b": ("钱二虎", "13900000022", "110101198001010022"),
    "A2": ("孙三丰", "13900000033", "110101198001010033"),
    "B1": ("李四海", "13900000044", "110101198001010044"),
}


@dataclass
class World:
    regions: dict[str, Region]
    households: dict[str, Household]
    points: dict[str, StockPoint]
    organisations: dict[str, Organisation]
    users: dict[str, User]

    def region_ids(self, *names: str) -> set[int]:
        return {self.regions[n].pk for n in names}

    def household_ids(self, *names: str) -> set[int]:
        return {self.households[n].pk for n in names}

    def point_ids(self, *names: str) -> set[int]:
        return {self.points[n].pk for n in names}


def _compound_with_unit(community: Region, prefix: str, regions: dict[str, Region]) -> Region:
    compound = region(community, RegionLevel.COMPOUND, f"{prefix} 小区")
    building = region(compound, RegionLevel.BUILDING, f"{prefix} 1号楼")
    unit = region(building, RegionLevel.UNIT, f"{prefix} 1单元")
    regions.update({prefix: compound, f"{prefix}-building": building, f"{prefix}-unit": unit})
    return unit


def build_world() -> World:
    regions: dict[str, Region] = {}
    regions["C"] = region(None, RegionLevel.COUNTY, "C 县")
    regions["S1"] = region(regions["C"], RegionLevel.SUBDISTRICT, "S1 街道")
    regions["S2"] = region(regions["C"], RegionLevel.SUBDISTRICT, "S2 街道")
    regions["A"] = region(regions["S1"], RegionLevel.COMMUNITY, "A 社区")
    regions["B"] = region(regions["S2"], RegionLevel.COMMUNITY, "B 社区")
    unit_a1 = _compound_with_unit(regions["A"], "A1", regions)
    unit_a2 = _compound_with_unit(regions["A"], "A2", regions)
    unit_b1 = _compound_with_unit(regions["B"], "B1", regions)

    def resident_household(unit: Region, key: str, room: str, **extra: object) -> Household:
        name, phone, id_number = PERSONAL[key]
        return household(unit, room=room, head_name=name, phone=phone, id_number=id_number, **extra)

    households = {
        "A1a": resident_household(unit_a1, "A1a", "101", vulnerability_tags=["elderly_alone"]),
        "A1b": resident_household(unit_a1, "A1b", "102"),
        "A2": resident_household(unit_a2, "A2", "201"),
        "B1": resident_household(unit_b1, "B1", "301"),
    }
    organisations = {
        "D": Organisation.objects.create(
            kind=OrganisationKind.DEPARTMENT, code="D-COMMERCE", name="S1 商务局", region=regions["S1"]
        ),
        "E": Organisation.objects.create(
            kind=OrganisationKind.ENTERPRISE,
            enterprise_type=EnterpriseType.SUPERMARKET,
            code="E-MART",
            name="E 超市",
            region=regions["C"],
        ),
    }
    points = {
        "C": stock_point(regions["C"], name="C reserve"),
        "A": stock_point(regions["A"], kind=StockPointKind.COMMUNITY_POINT, name="A point"),
        "B": stock_point(regions["B"], kind=StockPointKind.COMMUNITY_POINT, name="B point"),
        "S": stock_point(
            regions["A1"], kind=StockPointKind.SUPERMARKET, name="E mart A1", organisation=organisations["E"]
        ),
    }
    users = {
        Role.COMMAND: user(Role.COMMAND, region=regions["C"]),
        Role.DEPARTMENT: user(Role.DEPARTMENT, organisation=organisations["D"]),
        Role.SUBDISTRICT: user(Role.SUBDISTRICT, region=regions["S1"]),
        Role.COMMUNITY: user(Role.COMMUNITY, region=regions["A"]),
        Role.VOLUNTEER: user(Role.VOLUNTEER, region=regions["A1"]),
        Role.CHECKPOINT: user(Role.CHECKPOINT, region=regions["S2"]),
        Role.SUPPLIER: user(Role.SUPPLIER, organisation=organisations["E"]),
        Role.RESIDENT: user(Role.RESIDENT, household=households["A1a"]),
    }
    return World(regions=regions, households=households, points=points, organisations=organisations, users=users)


# Region keys under each subtree, for readable expectations.
S1_TREE = ("S1", "A", "A1", "A1-building", "A1-unit", "A2", "A2-building", "A2-unit")
A_TREE = S1_TREE[1:]
A1_TREE = ("A1", "A1-building", "A1-unit")
S2_TREE = ("S2", "B", "B1", "B1-building", "B1-unit")
ALL_REGIONS = ("C", *S1_TREE, *S2_TREE)
