"""Turning a plan into rows: organisations, pairings, zone statuses, the tree
below compounds, households, volunteers, opening stock and vehicles.

Every random draw comes from a `random.Random` seeded by the run's seed and a
fixed label (`"{seed}/plan"`, `"{seed}/{compound code}"`, ...), so a compound's
buildings and households do not depend on the order anything else was drawn
in, and nothing depends on the clock, dict order or hash randomisation.

Rows carry explicit primary keys (`Bases` says where each table starts), so
paths and foreign keys are known while generating and nothing is read back.
Below compounds the rows are produced and handed to the sink one subdistrict
at a time: memory is bounded by the largest subdistrict, not the city.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from baogong.accounts.models import User
from baogong.delivery.models import Vehicle
from baogong.enterprises.models import CompoundPairing, Contact, DepartmentDuty, Organisation
from baogong.regions.models import (
    SEALED_DEFAULT_PERIOD,
    Household,
    Region,
    RegionLevel,
    ZoneStatus,
)
from baogong.stock.models import StockBalance, StockMovement, StockPoint

from .households import HouseholdDraw, Keys, compound_rows
from .parameters import Preset
from .plan import ScenarioPlan, SubdistrictPlan, scenario_plan
from .records import Bases, CommodityRef
from .sinks import RowSink
from .supply import organisation_rows, stock_rows, vehicle_rows

ZONE_REASONS = {
    "sealed": "发现疑似病例,所在小区实施7日封控管理",
    "controlled": "与封控小区相邻,实施管控,人不出小区",
    "prevention": "常态化防控,实施防范管理",
}


@dataclass
class Counts:
    values: dict[str, int] = field(default_factory=dict)

    def add(self, key: str, n: int = 1) -> None:
        self.values[key] = self.values.get(key, 0) + n


Progress = Callable[[int, int], None]


class _Tables:
    def __init__(self, sink: RowSink) -> None:
        self.region = sink.table(
            Region, ("id", "parent", "level", "code", "name", "path", "is_rural", "latitude", "longitude")
        )
        self.organisation = sink.table(
            Organisation,
            (
                "id", "kind", "enterprise_type", "code", "name", "region", "address", "latitude", "longitude",
                "daily_household_capacity", "is_active",
            ),
        )  # fmt: skip
        self.duty = sink.table(DepartmentDuty, ("id", "organisation", "measure", "role", "description"))
        self.contact = sink.table(Contact, ("id", "organisation", "name", "title", "phone", "is_on_duty_24h"))
        self.pairing = sink.table(CompoundPairing, ("id", "compound", "supermarket", "backup", "distance_km"))
        self.zone = sink.table(
            ZoneStatus,
            ("id", "region", "status", "starts_at", "ends_at", "reason", "set_by"),
            datetime_positions=(3, 4),
        )
        self.household = sink.table(
            Household,
            (
                "id", "unit", "compound", "room", "head_name", "size", "phone", "id_number", "vulnerability_mask",
                "can_order_online", "notes",
            ),
        )  # fmt: skip
        self.user = sink.table(
            User,
            (
                "id", "password", "username", "first_name", "last_name", "email", "is_staff", "is_active",
                "is_superuser", "role", "region", "phone",
            ),
            digest_skip=(0,),
        )  # fmt: skip
        self.point = sink.table(
            StockPoint, ("id", "code", "name", "kind", "region", "organisation", "latitude", "longitude", "is_active")
        )
        self.balance = sink.table(StockBalance, ("id", "point", "commodity", "lot", "expires_on", "on_hand"))
        self.movement = sink.table(
            StockMovement,
            (
                "id", "point", "commodity", "balance", "lot", "expires_on", "kind", "quantity", "balance_after",
                "transfer_group", "counterparty", "actor", "reason", "reference",
            ),
        )  # fmt: skip
        self.vehicle = sink.table(
            Vehicle, ("id", "plate", "vehicle_type", "payload_kg", "volume_m3", "is_cold_chain", "owner", "home")
        )


def _tree_rows(plan: ScenarioPlan) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for root in plan.roots:
        rows.append(
            (
                root.id,
                None,
                RegionLevel.COUNTY.value,
                root.code,
                root.name,
                root.path,
                False,
                root.latitude,
                root.longitude,
            )
        )
    for sub in plan.subdistricts():
        root = plan.roots[sub.root]
        rows.append(
            (
                sub.id,
                root.id,
                RegionLevel.SUBDISTRICT.value,
                sub.code,
                sub.name,
                sub.path,
                sub.is_rural,
                sub.latitude,
                sub.longitude,
            )
        )
    for sub in plan.subdistricts():
        for community in sub.communities:
            rows.append(
                (
                    community.id,
                    sub.id,
                    RegionLevel.COMMUNITY.value,
                    community.code,
                    community.name,
                    community.path,
                    community.is_rural,
                    community.latitude,
                    community.longitude,
                )
            )
    for community in plan.communities():
        for compound in community.compounds:
            rows.append(
                (
                    compound.id,
                    community.id,
                    RegionLevel.COMPOUND.value,
                    compound.code,
                    compound.name,
                    compound.path,
                    compound.is_rural,
                    compound.latitude,
                    compound.longitude,
                )
            )
    return rows


BATCH = 20_000


def _write_batched(sink: RowSink, table: Any, rows: list[tuple[Any, ...]]) -> None:
    for start in range(0, len(rows), BATCH):
        sink.write(table, rows[start : start + BATCH])


def scenario_rows_write(
    preset: Preset,
    *,
    seed: int,
    sink: RowSink,
    now: datetime,
    bases: Bases,
    commodities: list[CommodityRef],
    subdistrict_fraction: float = 1.0,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Generate the whole scenario into `sink`, parents before children. Returns row counts."""
    plan = scenario_plan(preset, seed=seed, first_region_id=bases.region)
    tables = _Tables(sink)
    counts = Counts()
    rng = random.Random(f"{seed}/organisations")  # noqa: S311 - reproducible synthetic data, not secrets

    tree = _tree_rows(plan)
    _write_batched(sink, tables.region, tree)
    organisations = organisation_rows(preset, plan, bases, rng)
    _write_batched(sink, tables.organisation, organisations.rows)
    _write_batched(sink, tables.duty, organisations.duties)
    _write_batched(sink, tables.contact, organisations.contacts)

    compounds = plan.compounds()
    pairings = [
        (
            bases.pairing + i,
            c.id,
            organisations.supermarket_ids[c.supermarket],
            organisations.supermarket_ids[c.backup] if c.backup is not None else None,
            c.distance_km,
        )
        for i, c in enumerate(compounds)
    ]
    _write_batched(sink, tables.pairing, pairings)
    # Statuses start at the run's clock (digested as offsets from it).
    start = now
    zones = [
        (c.id, c.zone, start, start + SEALED_DEFAULT_PERIOD if c.zone == "sealed" else None, ZONE_REASONS[c.zone])
        for c in compounds
        if c.zone
    ]
    _write_batched(sink, tables.zone, [(bases.zone + i, *z[:5], None) for i, z in enumerate(zones)])
    for kind in ZONE_REASONS:
        counts.add(f"zone_{kind}", sum(1 for z in zones if z[1] == kind))

    # Below compounds: one subdistrict at a time.
    ids = Keys(region=plan.next_region_id, household=bases.household, user=bases.user)
    draw = HouseholdDraw(preset)
    population: dict[int, int] = {}
    subdistricts = plan.subdistricts()
    limit = len(subdistricts) if subdistrict_fraction >= 1 else max(1, round(len(subdistricts) * subdistrict_fraction))
    if progress is not None:
        progress(0, limit)
    for done, sub in enumerate(subdistricts[:limit], start=1):
        _subdistrict_write(
            sub, preset=preset, seed=seed, ids=ids, draw=draw, sink=sink, tables=tables, population=population
        )
        if progress is not None:
            progress(done, limit)

    points, balances, movements, supermarket_points = stock_rows(
        preset, plan, organisations, commodities, population, bases, seed=seed
    )
    _write_batched(sink, tables.point, points)
    _write_batched(sink, tables.balance, balances)
    _write_batched(sink, tables.movement, movements)
    vehicle_rng = random.Random(f"{seed}/vehicles")  # noqa: S311 - reproducible synthetic data, not secrets
    vehicles = vehicle_rows(preset, organisations, supermarket_points, plan, bases, vehicle_rng)
    _write_batched(sink, tables.vehicle, vehicles)
    sink.finish()

    level_counts = {level: 0 for level in RegionLevel}
    for row in tree:
        level_counts[RegionLevel(row[2])] += 1
    counts.values.update(
        {
            "counties": level_counts[RegionLevel.COUNTY],
            "subdistricts": level_counts[RegionLevel.SUBDISTRICT],
            "communities": level_counts[RegionLevel.COMMUNITY],
            "compounds": level_counts[RegionLevel.COMPOUND],
            "regions": tables.region.rows,
            "households": tables.household.rows,
            "residents": sum(population.values()),
            "volunteers": tables.user.rows,
            "organisations": tables.organisation.rows,
            "department_duties": tables.duty.rows,
            "pairings": tables.pairing.rows,
            "stock_points": tables.point.rows,
            "stock_balances": tables.balance.rows,
            "stock_movements": tables.movement.rows,
            "vehicles": tables.vehicle.rows,
            "subdistricts_filled": limit,
        }
    )
    return dict(sorted(counts.values.items()))


def _subdistrict_write(
    sub: SubdistrictPlan,
    *,
    preset: Preset,
    seed: int,
    ids: Keys,
    draw: HouseholdDraw,
    sink: RowSink,
    tables: _Tables,
    population: dict[int, int],
) -> None:
    regions: list[tuple[Any, ...]] = []
    households: list[tuple[Any, ...]] = []
    users: list[tuple[Any, ...]] = []
    for compound in sub.compounds():
        population[compound.id] = compound_rows(
            compound,
            preset=preset,
            seed=seed,
            ids=ids,
            draw=draw,
            regions=regions,
            households=households,
            users=users,
        )
    _write_batched(sink, tables.region, regions)
    _write_batched(sink, tables.household, households)
    _write_batched(sink, tables.user, users)
