"""Test data for the region tree and households.

`make_tree` builds county > subdistrict > community > compound > building >
unit through the real `region_create` service so paths are exactly what
production writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import count

from baogong.regions.models import Household, Region, RegionLevel
from baogong.regions.services import household_create, region_create

_codes = count(1)


def region(parent: Region | None, level: int, name: str | None = None, **extra: object) -> Region:
    n = next(_codes)
    return region_create(
        actor=None,
        parent=parent,
        level=level,
        code=f"T{n:06d}",
        name=name or f"{RegionLevel(level).label} {n}",
        **extra,  # type: ignore[arg-type]
    )


@dataclass
class Tree:
    county: Region
    subdistrict: Region
    community: Region
    compound: Region
    building: Region
    unit: Region


def make_tree(county: Region | None = None, *, lat: float = 30.0, lon: float = 120.0) -> Tree:
    root = county or region(None, RegionLevel.COUNTY, "County")
    subdistrict = region(root, RegionLevel.SUBDISTRICT)
    community = region(subdistrict, RegionLevel.COMMUNITY)
    compound = region(community, RegionLevel.COMPOUND, latitude=lat, longitude=lon)
    building = region(compound, RegionLevel.BUILDING, "1号楼")
    unit = region(building, RegionLevel.UNIT, "1单元")
    return Tree(root, subdistrict, community, compound, building, unit)


_rooms = count(101)


def household(unit: Region, **overrides: object) -> Household:
    fields: dict[str, object] = {
        "room": str(next(_rooms)),
        "head_name": "王建国",
        "size": 3,
        "phone": "13812345678",
        "id_number": "110101195001011234",
    }
    fields.update(overrides)
    return household_create(actor=None, unit=unit, **fields)  # type: ignore[arg-type]
