"""The delivery-day planner: allocation, vehicle routes, courier rosters and pickup slots for an area.

`day_plan_start` plans in three steps, each a set of tasks any number of
workers on any number of machines share:

1. One task per supermarket serving the area (`day_plan_allocation_solve`)
   runs its allocation: runs are per supermarket and day, so they are
   independent of each other, and parallel subdistricts must not each re-run
   them.
2. The allocation that finishes last measures each subdistrict's allocated
   load and splits the area's fleet between subdistricts in proportion to it
   (largest remainder, at least one vehicle for every subdistrict with load
   while vehicles last), so parts solved in parallel never count on the same
   vehicle, and creates one part per subdistrict.
3. One task per subdistrict (`day_plan_part_solve`) routes that
   subdistrict's compound gates with `routing.routing_solve`, builds courier
   rosters for sealed compounds and pickup slots for controlled ones, stores
   the rows, and adds its totals to the plan with one conditional UPDATE; the
   part that finishes last settles the plan's status.

`day_plan_solve` runs the same steps in the calling process.

What a gate receives is what the allocation gave its households (kilograms
and litres from each commodity's weight and volume, a kit's from its
lines), not what was ordered: short goods are not loaded.

Each stage records where its time went, so a slow day can be explained
without a profiler: each allocation row holds its seconds, the plan's audit
row `day_plan.allocated` holds the allocation stage and the fleet split
(`timings`), each part's `solver` dict holds reading its loads, routing,
rosters and pickup slots, and storing the rows; `day_plan_timings` adds them
up.
"""

from __future__ import annotations

import logging
import math
import time as clock
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import TYPE_CHECKING, NamedTuple

from django.db import connection, transaction
from django.db.models import Case, F, Sum, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from baogong.accounts.models import Role, User
from baogong.catalog.models import Commodity, KitLine
from baogong.core.errors import ApplicationError, NotFound, PermissionDenied, ValidationFailed
from baogong.core.scoping import scope_of
from baogong.core.services import audit_record
from baogong.delivery.models import Vehicle
from baogong.orders.models import OPEN_STATUSES, PurchaseOrder
from baogong.regions.models import Region, RegionLevel, ZoneStatusKind
from baogong.regions.selectors import region_effective_zone_statuses

from . import routing
from .allocation import AllocationRules
from .day_rules import DayRules, day_rules
from .distances import distance_source_from_settings
from .models import (
    AllocationLine,
    AllocationRun,
    DayPlan,
    DayPlanAllocation,
    DayPlanPart,
    DayPlanStatus,
    PlanPickupSlot,
    PlanRoster,
    PlanRoute,
    PlanStop,
)
from .pickup_slots import PickupHousehold, PickupPlan, pickup_slots_plan
from .rosters import Delivery, rosters_build
from .rosters import Volunteer as RosterVolunteer
from .services import PLANNER_ROLES, allocation_run_create, instances_insert

if TYPE_CHECKING:
    from collections.abc import Sequence

logger = logging.getLogger(__name__)

DEFAULT_TIME_LIMIT_S = 30.0
MAX_TIME_LIMIT_S = 600.0
# A subdistrict's search ends once its best plan has not improved for this many iterations, so
# the time limit is a ceiling rather than what every part costs (docs/benchmarks.md, planning time).
STALL_ITERATIONS: int | None = 3000
# Reasons of our own next to routing.UnassignedReason.
NO_COORDINATES = "no_coordinates"
# Households read per query: below SQLite's limit on bound parameters.
HOUSEHOLD_CHUNK = 10_000


# --- scope and input ------------------------------------------------------------------------------


def day_plan_area_resolve(*, actor: User | None, area: Region | None) -> Region:
    """The area to plan: the given one if the actor may plan it, else the actor's own region.

    Without an actor (command line, nightly task) the default is the county root.
    """
    if actor is None:
        if area is not None:
            resolved = area
        else:
            root = Region.objects.filter(parent__isnull=True).order_by("pk").first()
            if root is None:
                raise ValidationFailed(_("There is no region to plan."), field="area")
            resolved = root
    else:
        scope = scope_of(actor)
        if scope.role not in PLANNER_ROLES or scope.region_path is None:
            raise PermissionDenied(_("Only the command office or a subdistrict office can plan a delivery day."))
        if area is None:
            found = Region.objects.filter(path=scope.region_path).first() if scope.region_path else None
            if found is None:
                found = Region.objects.filter(parent__isnull=True).order_by("pk").first()
            if found is None:
                raise ValidationFailed(_("There is no region to plan."), field="area")
            resolved = found
        elif not area.path.startswith(scope.region_path):
            raise NotFound()
        else:
            resolved = area
    if resolved.level > RegionLevel.SUBDISTRICT:
        raise ValidationFailed(_("Plan a county or a subdistrict."), field="area")
    return resolved


def _subdistricts_of(area: Region) -> list[Region]:
    if area.level == RegionLevel.SUBDISTRICT:
        return [area]
    return list(Region.objects.filter(path__startswith=area.path, level=RegionLevel.SUBDISTRICT).order_by("path"))


@dataclass
class HouseholdLoad:
    household_id: int
    kg: float = 0.0
    litres: float = 0.0
    cold: bool = False
    # The chilled part of kg and litres (goods that need a cold-chain vehicle).
    cold_kg: float = 0.0
    cold_litres: float = 0.0

    def portions(self) -> list[HouseholdLoad]:
        """The household's chilled and ambient goods as separate loads (those it has)."""
        parts = []
        if self.cold:
            parts.append(HouseholdLoad(self.household_id, self.cold_kg, self.cold_litres, True, self.cold_kg))
        if self.kg - self.cold_kg > 1e-9 or self.litres - self.cold_litres > 1e-9 or not self.cold:
            parts.append(HouseholdLoad(self.household_id, self.kg - self.cold_kg, self.litres - self.cold_litres))
        return parts


@dataclass
class CompoundLoad:
    compound_id: int
    households: dict[int, HouseholdLoad] = field(default_factory=dict)

    @property
    def kg(self) -> float:
        return sum(h.kg for h in self.households.values())

    @property
    def m3(self) -> float:
        return sum(h.litres for h in self.households.values()) / 1000

    @property
    def cold(self) -> bool:
        return any(h.cold for h in self.households.values())


@dataclass(frozen=True)
class GoodsSize:
    kg: float
    litres: float
    cold: bool


def _goods_sizes(
    *, commodity_ids: Iterable[int], kit_ids: Iterable[int]
) -> tuple[dict[int, GoodsSize], dict[int, GoodsSize]]:
    commodities = {
        pk: GoodsSize(float(kg), float(litres), cold)
        for pk, kg, litres, cold in Commodity.objects.filter(pk__in=set(commodity_ids)).values_list(
            "pk", "weight_kg", "volume_l", "is_cold_chain"
        )
    }
    kits: dict[int, GoodsSize] = {}
    for kit_id, quantity, kg, litres, cold in KitLine.objects.filter(kit_id__in=set(kit_ids)).values_list(
        "kit_id", "quantity", "commodity__weight_kg", "commodity__volume_l", "commodity__is_cold_chain"
    ):
        size = kits.get(kit_id, GoodsSize(0.0, 0.0, False))
        kits[kit_id] = GoodsSize(
            size.kg + quantity * float(kg), size.litres + quantity * float(litres), size.cold or cold
        )
    return commodities, kits


class _RosterHousehold(NamedTuple):
    pk: int
    building: str
    unit: str
    room: str


@dataclass
class SubdistrictLoads:
    """What a part reads before routing: allocated goods per compound gate, the units of demand left
    unmet, and where each household with goods lives (all rosters and pickup slots need)."""

    compounds: dict[int, CompoundLoad]
    unmet: int
    households: dict[int, _RosterHousehold]


def _compound_loads(*, run_ids: Sequence[int], region_path: str) -> SubdistrictLoads:
    """Allocated goods per compound gate under `region_path`, from the runs `run_ids`.

    Two queries whose cost follows the subdistrict, not the city: the regions
    under the path (compounds, buildings, units: thousands of rows, on the
    path's prefix index), then the runs' lines of those compounds' households,
    with each household's unit and room. Filtering the lines through the
    households' compound column, not the path through a join, keeps the
    database from scanning every household and line of the city per part.
    """
    names: dict[int, tuple[str, int | None]] = {}
    compound_ids: list[int] = []
    for pk, level, name, parent_id in Region.objects.filter(path__startswith=region_path).values_list(
        "pk", "level", "name", "parent_id"
    ):
        names[pk] = (name, parent_id)
        if level == RegionLevel.COMPOUND:
            compound_ids.append(pk)
    lines = (
        list(
            AllocationLine.objects.filter(run_id__in=run_ids, household__compound_id__in=compound_ids)
            .order_by("household_id", "id")
            .values_list(
                "household_id",
                "household__compound_id",
                "household__unit_id",
                "household__room",
                "item__commodity_id",
                "item__kit_id",
                "ordered",
                "allocated",
            )
        )
        if run_ids and compound_ids
        else []
    )
    commodities, kits = _goods_sizes(
        commodity_ids=[line[4] for line in lines if line[4] is not None],
        kit_ids=[line[5] for line in lines if line[5] is not None],
    )
    loads: dict[int, CompoundLoad] = {}
    households: dict[int, _RosterHousehold] = {}
    unmet = 0
    for household_id, compound_id, unit_id, room, commodity_id, kit_id, ordered, allocated in lines:
        unmet += ordered - allocated
        if allocated == 0:
            continue
        size = commodities.get(commodity_id) if commodity_id is not None else kits.get(kit_id)
        if size is None:
            continue
        compound = loads.setdefault(compound_id, CompoundLoad(compound_id))
        household = compound.households.get(household_id)
        if household is None:
            household = compound.households[household_id] = HouseholdLoad(household_id)
            unit, building_id = names[unit_id]
            building = names[building_id][0] if building_id in names else ""
            households[household_id] = _RosterHousehold(household_id, building, unit, room)
        household.kg += allocated * size.kg
        household.litres += allocated * size.litres
        if size.cold:
            household.cold = True
            household.cold_kg += allocated * size.kg
            household.cold_litres += allocated * size.litres
    return SubdistrictLoads(compounds=loads, unmet=unmet, households=households)


@dataclass(frozen=True)
class PartDemand:
    """Kilograms a subdistrict's gates receive: at compounds with chilled goods (whose whole load needs a
    cold-chain vehicle, see routing.py) and at the others."""

    cold_kg: float
    ambient_kg: float
    # The allocation runs with lines for the subdistrict's compounds.
    run_ids: tuple[int, ...] = ()

    @property
    def kg(self) -> float:
        return self.cold_kg + self.ambient_kg


def _compound_demand(*, run_id: int) -> dict[str, list[float | bool]]:
    """What one allocation run sends to each compound gate: {"<compound id>": [kg, has chilled goods]}.

    Every compound with a line of the run is there, even one whose lines were
    all cut to nothing: its part still reads the run to report the unmet
    demand. Computed by each allocation task for its own run, so the fleet
    split after the last one only adds a thousand small maps up instead of
    reading a city's millions of lines while every worker waits.
    """
    rows = list(
        AllocationLine.objects.filter(run_id=run_id)
        .values_list("household__compound_id", "item__commodity_id", "item__kit_id")
        .annotate(units=Sum("allocated"))
        .order_by()
    )
    commodities, kits = _goods_sizes(
        commodity_ids=[row[1] for row in rows if row[1] is not None],
        kit_ids=[row[2] for row in rows if row[2] is not None],
    )
    demand: dict[str, list[float | bool]] = {}
    for compound_id, commodity_id, kit_id, units in rows:
        entry = demand.setdefault(str(compound_id), [0.0, False])
        size = commodities.get(commodity_id) if commodity_id is not None else kits.get(kit_id)
        if size is None or units == 0:
            continue
        entry[0] = float(entry[0]) + units * size.kg
        entry[1] = bool(entry[1]) or size.cold
    return demand


def _part_demand_kg(
    *, compound_demand: Mapping[int, Mapping[str, Sequence[float | bool]]], subdistricts: Sequence[Region]
) -> list[PartDemand]:
    """Allocated kilograms per subdistrict and the runs that reach it, from each run's `_compound_demand`
    (keyed by run id), for splitting the fleet.

    A compound with chilled goods from any run counts whole as chilled (see
    PartDemand).
    """
    kg: dict[int, float] = defaultdict(float)
    cold: set[int] = set()
    runs_of: dict[int, set[int]] = defaultdict(set)
    for run_id, demand in compound_demand.items():
        for key, (weight, chilled) in demand.items():
            kg[int(key)] += float(weight)
            runs_of[int(key)].add(run_id)
            if chilled:
                cold.add(int(key))
    index = {subdistrict.pk: i for i, subdistrict in enumerate(subdistricts)}
    part_of: dict[int, int] = {}
    compound_ids = sorted(kg)
    for start in range(0, len(compound_ids), HOUSEHOLD_CHUNK):
        for pk, path in Region.objects.filter(pk__in=compound_ids[start : start + HOUSEHOLD_CHUNK]).values_list(
            "pk", "path"
        ):
            found = [index[ancestor] for ancestor in _path_ids(path) if ancestor in index]
            if found:
                part_of[pk] = found[0]
    cold_kg = [0.0] * len(subdistricts)
    ambient_kg = [0.0] * len(subdistricts)
    run_ids: list[set[int]] = [set() for _ in subdistricts]
    for compound_id, weight in kg.items():
        if compound_id not in part_of:
            continue
        totals = cold_kg if compound_id in cold else ambient_kg
        totals[part_of[compound_id]] += weight
        run_ids[part_of[compound_id]] |= runs_of[compound_id]
    return [
        PartDemand(cold_kg=c, ambient_kg=a, run_ids=tuple(sorted(r)))
        for c, a, r in zip(cold_kg, ambient_kg, run_ids, strict=True)
    ]


def fleet_split_by_kind(*, demand: Sequence[PartDemand], cold_chain: Sequence[bool]) -> list[list[int]]:
    """Vehicle indexes per part: as many per part as `fleet_split` gives by total weight, with the
    refrigerated ones sent where the chilled goods are.

    Sharing vehicles by weight alone can leave a part with chilled goods and no
    refrigerated van, so its chilled stops go unrouted while a refrigerated van
    elsewhere carries only dry goods. So each part first takes refrigerated
    vehicles by its share of the chilled kilograms (never more than its count);
    refrigerated vehicles left over go to the parts with the most chilled goods,
    then to any; ordinary vehicles fill the remaining places.
    """
    counts = fleet_split(demand_kg=[d.kg for d in demand], vehicles=len(cold_chain))
    cold = [i for i, refrigerated in enumerate(cold_chain) if refrigerated]
    dry = [i for i, refrigerated in enumerate(cold_chain) if not refrigerated]
    chilled = [d.cold_kg for d in demand]
    wanted = fleet_split(demand_kg=chilled, vehicles=len(cold)) if any(chilled) else [0] * len(demand)
    taken = [min(w, c) for w, c in zip(wanted, counts, strict=True)]
    parts: list[list[int]] = []
    pool = iter(cold)
    for count in taken:
        parts.append([next(pool) for _ in range(count)])
    left_cold = list(pool)
    for part in sorted(range(len(demand)), key=lambda i: (-chilled[i], i)):
        while left_cold and len(parts[part]) < counts[part]:
            parts[part].append(left_cold.pop(0))
    dry_pool = iter(dry)
    for part, count in enumerate(counts):
        while len(parts[part]) < count:
            parts[part].append(next(dry_pool))
    return parts


def _path_ids(path: str) -> list[int]:
    return [int(part) for part in path.strip("/").split("/") if part]


def _fleet_of(area: Region) -> list[Vehicle]:
    """Vehicles based at an active stock point inside the area, in plate order."""
    return list(
        Vehicle.objects.filter(home__isnull=False, home__is_active=True, home__region__path__startswith=area.path)
        .select_related("home__region")
        .order_by("plate")
    )


def fleet_split(*, demand_kg: Sequence[float], vehicles: int) -> list[int]:
    """Vehicles per part: one for each part with load while they last, the rest in proportion (largest remainder)."""
    counts = [0] * len(demand_kg)
    loaded = sorted((i for i, kg in enumerate(demand_kg) if kg > 0), key=lambda i: (-demand_kg[i], i))
    for i in loaded[:vehicles]:
        counts[i] = 1
    left = vehicles - sum(counts)
    total = sum(demand_kg)
    if left <= 0 or total <= 0:
        return counts
    shares = [left * kg / total for kg in demand_kg]
    whole = [int(share) for share in shares]
    counts = [c + w for c, w in zip(counts, whole, strict=True)]
    rest = left - sum(whole)
    by_remainder = sorted(range(len(shares)), key=lambda i: (-(shares[i] - whole[i]), i))
    for i in by_remainder[:rest]:
        counts[i] += 1
    return counts


# --- stage 1: create the plan ---------------------------------------------------------------------


def _time_limit_validate(time_limit_s: float) -> None:
    if not 0 < time_limit_s <= MAX_TIME_LIMIT_S:
        raise ValidationFailed(
            _("The time limit must be more than 0 and at most %(max)s seconds.") % {"max": int(MAX_TIME_LIMIT_S)},
            field="time_limit_s",
        )


@transaction.atomic
def _day_plan_create(
    *, actor: User | None, delivery_date: date, area: Region | None, time_limit_s: float
) -> tuple[DayPlan, list[int]]:
    """The plan row and one allocation row per supermarket serving the area.

    With no supermarket to allocate, the allocation stage is already over: the
    parts are created here (every subdistrict still reports an empty day) and
    their ids returned; otherwise the list is empty and the last allocation
    creates them.
    """
    area = day_plan_area_resolve(actor=actor, area=area)
    _time_limit_validate(time_limit_s)
    subdistricts = _subdistricts_of(area)
    if not subdistricts:
        raise ValidationFailed(_("This area has no subdistricts."), field="area")

    supermarket_ids = sorted(
        set(
            PurchaseOrder.objects.filter(delivery_date=delivery_date, compound__path__startswith=area.path).values_list(
                "supermarket_id", flat=True
            )
        )
    )
    plan = DayPlan.objects.create(
        area=area,
        delivery_date=delivery_date,
        status=DayPlanStatus.ALLOCATING,
        time_limit_s=time_limit_s,
        allocations_total=len(supermarket_ids),
        parts_total=len(subdistricts),
        created_by=actor,
    )
    DayPlanAllocation.objects.bulk_create(
        [DayPlanAllocation(plan=plan, supermarket_id=supermarket_id) for supermarket_id in supermarket_ids]
    )
    audit_record(
        actor=actor,
        action="day_plan.start",
        target_type="day_plan",
        target_id=plan.pk,
        payload={
            "area": area.pk,
            "delivery_date": delivery_date,
            "time_limit_s": time_limit_s,
            "subdistricts": [s.pk for s in subdistricts],
            "supermarkets": supermarket_ids,
        },
    )
    return plan, (_allocation_finish(plan) if not supermarket_ids else [])


def _task_claim(model: type[DayPlanAllocation] | type[DayPlanPart], pk: int) -> bool:
    """Take a queued allocation or part for this worker; False when a copy of the task already has it."""
    return bool(
        model.objects.filter(pk=pk, status=DayPlanStatus.QUEUED).update(
            status=DayPlanStatus.RUNNING, started_at=timezone.now()
        )
    )


def day_plan_allocation_solve(*, allocation_id: int) -> tuple[DayPlanAllocation, list[int]] | None:
    """Allocate one supermarket of a plan, once: a second delivery of the same task finds it claimed.

    Supermarkets are independent (a run is per supermarket and day), so a
    city's hundreds of them are shared by every worker instead of running one
    after another. The run and the plan's counter commit together; the
    allocation that finishes last also splits the fleet and creates the parts,
    whose ids it returns for the caller to queue or solve.
    """
    if not _task_claim(DayPlanAllocation, allocation_id):
        return None
    allocation = DayPlanAllocation.objects.select_related("plan", "supermarket").get(pk=allocation_id)
    # Demand is every order still holding goods: the planner runs the evening before the supermarkets confirm.
    rules = AllocationRules(order_statuses=tuple(str(status) for status in OPEN_STATUSES))
    started = clock.perf_counter()
    try:
        with transaction.atomic():
            # Run on the plan's behalf (actor None): a subdistrict office plans its compounds even when the
            # supermarket is registered at county level; the plan's own audit row names the person.
            run = allocation_run_create(
                actor=None,
                supermarket=allocation.supermarket,
                delivery_date=allocation.plan.delivery_date,
                rules=rules,
            )
            part_ids = _allocation_record(
                allocation,
                run=run,
                seconds=clock.perf_counter() - started,
                compound_kg=_compound_demand(run_id=run.pk),
            )
    except Exception as failure:  # every failure is recorded on the plan, which goes on without this supermarket
        if isinstance(failure, ValidationFailed):
            error = str(failure.message)
        else:
            logger.exception("day plan %s: allocation of supermarket %s failed", allocation.plan_id, allocation.pk)
            error = str(failure.message) if isinstance(failure, ApplicationError) else type(failure).__name__
        try:
            with transaction.atomic():
                part_ids = _allocation_record(allocation, run=None, seconds=clock.perf_counter() - started, error=error)
        except Exception:
            # Finishing the stage failed too (the fleet split): end the plan visibly instead of leaving it waiting.
            logger.exception("day plan %s: the allocation stage could not finish", allocation.plan_id)
            DayPlan.objects.filter(pk=allocation.plan_id).update(
                status=DayPlanStatus.FAILED, finished_at=timezone.now()
            )
            raise
    allocation.refresh_from_db()
    return allocation, part_ids


def _allocation_record(
    allocation: DayPlanAllocation,
    *,
    run: AllocationRun | None,
    seconds: float,
    error: str = "",
    compound_kg: dict[str, list[float | bool]] | None = None,
) -> list[int]:
    """Count one finished allocation in the plan; the last one to finish splits the fleet (in this transaction)."""
    _deferred_constraints_check()
    DayPlanAllocation.objects.filter(pk=allocation.pk).update(
        status=DayPlanStatus.FAILED if run is None else DayPlanStatus.DONE,
        run=run,
        error=error[:255],
        seconds=round(seconds, 3),
        compound_kg=compound_kg or {},
        finished_at=timezone.now(),
    )
    DayPlan.objects.filter(pk=allocation.plan_id).update(allocations_finished=F("allocations_finished") + 1)
    # The UPDATE above holds the plan's row lock until commit (SQLite: the write lock), so the count read
    # here is this transaction's own: exactly one allocation sees the last one.
    plan = DayPlan.objects.get(pk=allocation.plan_id)
    if plan.allocations_finished < plan.allocations_total:
        return []
    return _allocation_finish(plan)


def _deferred_constraints_check() -> None:
    """Check the transaction's deferred foreign keys now (PostgreSQL), before the plan's row lock is taken.

    At commit PostgreSQL checks each of a run's thousands of new lines
    against its household, item and run: a fifth to a third of a city
    allocation's time. Checked at commit, that time would be spent holding
    the plan's counter row, which every other allocation's commit waits for;
    checked here, workers check in parallel and hold the lock only for the
    counter update. SQLite holds one write lock for the whole transaction
    anyway.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def _allocation_finish(plan: DayPlan) -> list[int]:
    """After the last allocation: measure each subdistrict's load, split the fleet, create the parts."""
    splitting = clock.perf_counter()
    allocations = list(plan.allocations.select_related("supermarket").order_by("supermarket_id"))
    run_ids = [a.run_id for a in allocations if a.run_id is not None]
    skipped = [a for a in allocations if a.run_id is None]
    notes = [
        _("Allocation skipped for %(name)s: %(reason)s") % {"name": a.supermarket.name, "reason": a.error}
        for a in skipped
    ]
    subdistricts = _subdistricts_of(plan.area)
    demand = _part_demand_kg(
        compound_demand={a.run_id: a.compound_kg for a in allocations if a.run_id is not None},
        subdistricts=subdistricts,
    )
    fleet = _fleet_of(plan.area)
    shares = fleet_split_by_kind(demand=demand, cold_chain=[vehicle.is_cold_chain for vehicle in fleet])
    parts = DayPlanPart.objects.bulk_create(
        [
            DayPlanPart(
                plan=plan,
                subdistrict=subdistrict,
                vehicle_ids=sorted(fleet[i].pk for i in share),
                run_ids=list(part_demand.run_ids),
            )
            for subdistrict, share, part_demand in zip(subdistricts, shares, demand, strict=True)
        ]
    )
    DayPlan.objects.filter(pk=plan.pk).update(
        status=DayPlanStatus.QUEUED,
        parts_total=len(parts),
        vehicles_available=len(fleet),
        allocation_runs=run_ids,
        notes=[*plan.notes, *notes],
    )
    now = timezone.now()
    audit_record(
        actor=None,
        action="day_plan.allocated",
        target_type="day_plan",
        target_id=plan.pk,
        payload={
            "allocation_runs": run_ids,
            "skipped": [a.supermarket_id for a in skipped],
            "vehicles": len(fleet),
            "timings": {
                # From the plan's creation to the last allocation: what the fan-out cost in wall time.
                "allocation_s": round((now - plan.created_at).total_seconds(), 3),
                "allocation_work_s": round(sum(a.seconds for a in allocations), 3),
                "split_s": round(clock.perf_counter() - splitting, 3),
            },
        },
    )
    return sorted(part.pk for part in parts)


def day_plan_start(
    *,
    actor: User | None,
    delivery_date: date,
    area: Region | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
) -> DayPlan:
    """Create the plan and queue its allocations once the plan is committed; they queue the parts."""
    from .tasks import day_plan_allocation_task, day_plan_part_task

    with transaction.atomic():
        plan, part_ids = _day_plan_create(
            actor=actor, delivery_date=delivery_date, area=area, time_limit_s=time_limit_s
        )
        for part_id in part_ids:
            transaction.on_commit(partial(day_plan_part_task.enqueue, part_id))
        for allocation_id in plan.allocations.order_by("pk").values_list("pk", flat=True):
            transaction.on_commit(partial(day_plan_allocation_task.enqueue, allocation_id))
    plan.refresh_from_db()
    return plan


def day_plan_solve(
    *,
    actor: User | None,
    delivery_date: date,
    area: Region | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
) -> DayPlan:
    """Plan the day in this process: the same allocations and parts as `day_plan_start`, one after another."""
    plan, part_ids = _day_plan_create(actor=actor, delivery_date=delivery_date, area=area, time_limit_s=time_limit_s)
    for allocation_id in plan.allocations.order_by("pk").values_list("pk", flat=True):
        solved = day_plan_allocation_solve(allocation_id=allocation_id)
        if solved is not None:
            part_ids += solved[1]
    for part_id in part_ids:
        day_plan_part_solve(part_id=part_id)
    plan.refresh_from_db()
    return plan


# --- stage 2: one subdistrict ---------------------------------------------------------------------


@dataclass
class PartResult:
    stops: list[PlanStop]
    routes: list[tuple[PlanRoute, list[routing.Trip]]]
    unassigned: dict[str, str]
    rosters: list[PlanRoster]
    slots: list[PlanPickupSlot]
    solver: dict[str, object]
    unrouted_kg: float
    unmet: int
    timings: dict[str, float]


def _point_of(lat: float | None, lon: float | None, fallback: Region | None) -> tuple[float, float] | None:
    if lat is not None and lon is not None:
        return lat, lon
    while fallback is not None:
        if fallback.latitude is not None and fallback.longitude is not None:
            return fallback.latitude, fallback.longitude
        fallback = fallback.parent
    return None


def _minutes_after(moment: time, minutes: int) -> time:
    value = datetime.combine(date(2000, 1, 1), moment) + timedelta(minutes=minutes)
    return value.time() if value.date() == date(2000, 1, 1) else time(23, 59)


def _largest_suitable(vehicles: Sequence[Vehicle], *, cold: bool) -> tuple[float, float]:
    """Payload (kg) and load space (m³) of the largest vehicle that may carry a load; (0, 0) when none may."""
    suitable = [v for v in vehicles if v.is_cold_chain or not cold]
    if not suitable:
        return 0.0, 0.0
    largest = max(suitable, key=lambda v: (float(v.payload_kg), float(v.volume_m3), v.pk))
    return float(largest.payload_kg), float(largest.volume_m3)


def drops_split(*, households: Sequence[HouseholdLoad], cap_kg: float, cap_m3: float) -> list[list[HouseholdLoad]]:
    """Split a compound's goods into drops the largest suitable vehicle can carry, whole households each.

    A compound heavier than every vehicle would otherwise go unrouted although
    a vehicle could bring it in several trips. The drops are about equal
    (the load over the fewest drops that could carry it) so the solver can
    pair a part-drop with other stops; households stay in id order, so a
    drop's goods are those of whole households, which is what the pick lists
    and the gate count. A household heavier than the vehicle is a drop of its
    own (and the router reports it too heavy). With no suitable vehicle
    (cap 0) the compound is one drop and the router says why it is unrouted.
    """
    ordered = sorted(households, key=lambda h: h.household_id)
    total_kg = sum(h.kg for h in ordered)
    total_m3 = sum(h.litres for h in ordered) / 1000
    if cap_kg <= 0 or (total_kg <= cap_kg and (cap_m3 <= 0 or total_m3 <= cap_m3)):
        return [list(ordered)] if ordered else []
    count = max(math.ceil(total_kg / cap_kg), math.ceil(total_m3 / cap_m3) if cap_m3 > 0 else 1)
    target_kg, target_m3 = total_kg / count, total_m3 / count
    drops: list[list[HouseholdLoad]] = []
    current: list[HouseholdLoad] = []
    kg = m3 = 0.0
    for household in ordered:
        h_m3 = household.litres / 1000
        full = kg + household.kg > cap_kg or (cap_m3 > 0 and m3 + h_m3 > cap_m3)
        enough = len(drops) < count - 1 and (kg >= target_kg or (target_m3 > 0 and m3 >= target_m3))
        if current and (full or enough):
            drops.append(current)
            current, kg, m3 = [], 0.0, 0.0
        current.append(household)
        kg += household.kg
        m3 += h_m3
    if current:
        drops.append(current)
    return drops


def _part_compute(part: DayPlanPart) -> PartResult:
    plan = part.plan
    rules = day_rules()
    started = clock.perf_counter()
    read = _compound_loads(run_ids=part.run_ids, region_path=part.subdistrict.path)
    loads, unmet = read.compounds, read.unmet
    compounds = Region.objects.in_bulk(list(loads))
    vehicles = list(Vehicle.objects.filter(pk__in=part.vehicle_ids).select_related("home__region").order_by("plate"))
    loaded = clock.perf_counter()

    # Keyed by the routing stop id "<compound id>.<drop>".
    stops: dict[str, PlanStop] = {}
    routable: list[routing.Stop] = []
    for compound_id in sorted(loads):
        load = loads[compound_id]
        compound = compounds[compound_id]
        # Chilled goods ride in refrigerated vehicles, the rest in any: a compound with both gets
        # separate drops for each, so one household's frozen pork does not need a cold van for its rice.
        drops: list[list[HouseholdLoad]] = []
        for cold in (True, False):
            portion = [p for h in load.households.values() for p in h.portions() if p.cold == cold]
            cap_kg, cap_m3 = _largest_suitable(vehicles, cold=cold)
            drops.extend(drops_split(households=portion, cap_kg=cap_kg, cap_m3=cap_m3))
        for number, members in enumerate(drops, start=1):
            kg = sum(h.kg for h in members)
            m3 = sum(h.litres for h in members) / 1000
            cold = any(h.cold for h in members)
            stop = PlanStop(
                plan=plan,
                part=part,
                compound=compound,
                drop=number,
                household_ids=sorted(h.household_id for h in members) if len(drops) > 1 else [],
                latitude=compound.latitude,
                longitude=compound.longitude,
                demand_kg=round(kg, 3),
                volume_m3=round(m3, 3),
                cold_chain=cold,
                households=len(members),
                window_open=rules.gate_opens,
                window_close=rules.gate_closes,
            )
            stop_id = f"{compound_id}.{number}"
            stops[stop_id] = stop
            if compound.latitude is None or compound.longitude is None:
                stop.unassigned_reason = NO_COORDINATES
                continue
            routable.append(
                routing.Stop(
                    id=stop_id,
                    lat=compound.latitude,
                    lon=compound.longitude,
                    demand_kg=kg,
                    volume_m3=m3,
                    needs_cold_chain=cold,
                    service_minutes=rules.unloading_minutes,
                    window_open=rules.gate_opens,
                    window_close=rules.gate_closes,
                )
            )

    depots: dict[int, routing.Depot] = {}
    fleet: list[routing.Vehicle] = []
    for vehicle in vehicles:
        home = vehicle.home
        assert home is not None  # _fleet_of only takes vehicles with a home
        point = _point_of(home.latitude, home.longitude, home.region)
        if point is None:
            continue
        depots.setdefault(
            home.pk, routing.Depot(id=str(home.pk), lat=point[0], lon=point[1], loading_minutes=rules.loading_minutes)
        )
        fleet.append(
            routing.Vehicle(
                id=str(vehicle.pk),
                depot_id=str(home.pk),
                payload_kg=vehicle.payload_kg,
                volume_m3=float(vehicle.volume_m3),
                cold_chain=vehicle.is_cold_chain,
                shift_start=rules.shift_starts,
                shift_end=rules.shift_ends,
                max_trips=rules.max_trips,
            )
        )

    routes: list[tuple[PlanRoute, list[routing.Trip]]] = []
    unassigned: dict[str, str] = {}
    solver: dict[str, object] = {}
    if routable and not fleet:
        unassigned = {s.id: routing.UnassignedReason.NO_VEHICLE for s in routable}
    elif routable:
        result = routing.routing_solve(
            problem=routing.RoutingProblem(
                depots=list(depots.values()),
                vehicles=fleet,
                stops=routable,
                distances=distance_source_from_settings(),
                time_limit_s=plan.time_limit_s,
                stall_iterations=STALL_ITERATIONS,
            )
        )
        solver = {
            "solver": result.stats.solver,
            "runtime_s": result.stats.runtime_s,
            "iterations": result.stats.iterations,
            "feasible": result.stats.feasible,
            # True when the search ended because it stopped improving, not on the time limit.
            "stalled": result.stats.stalled,
        }
        unassigned = {u.stop_id: str(u.reason) for u in result.unassigned}
        by_id = {vehicle.pk: vehicle for vehicle in vehicles}
        for route in result.routes:
            vehicle = by_id[int(route.vehicle_id)]
            assert vehicle.home is not None
            routes.append(
                (
                    PlanRoute(
                        plan=plan,
                        part=part,
                        vehicle=vehicle,
                        depot=vehicle.home,
                        trips=len(route.trips),
                        starts=route.starts,
                        ends=route.ends,
                        distance_km=route.distance_km,
                        duration_min=route.duration_min,
                        load_kg=round(sum(trip.load_kg for trip in route.trips), 3),
                        payload_kg=float(vehicle.payload_kg),
                    ),
                    route.trips,
                )
            )
    solver["rules"] = rules.as_dict()
    for stop_id, reason in unassigned.items():
        stops[stop_id].unassigned_reason = reason
    unrouted_kg = sum(stop.demand_kg for stop in stops.values() if stop.unassigned_reason)

    # Pickup opens once a compound's last drop has been unloaded.
    departures: dict[int, time] = {}
    for _r, trips in routes:
        for trip in trips:
            for visit in trip.stops:
                compound_id = stops[visit.stop_id].compound_id
                departures[compound_id] = max(visit.departure, departures.get(compound_id, visit.departure))
    routed = clock.perf_counter()
    rosters, slots = _households_plan(part, read, compounds, departures, rules)
    finished = clock.perf_counter()
    return PartResult(
        stops=list(stops.values()),
        routes=routes,
        unassigned=unassigned,
        rosters=rosters,
        slots=slots,
        solver=solver,
        unrouted_kg=unrouted_kg,
        unmet=unmet,
        timings={
            "loads_s": round(loaded - started, 3),
            "routing_s": round(routed - loaded, 3),
            "rosters_s": round(finished - routed, 3),
        },
    )


def _pickup_plan(members: Sequence[_RosterHousehold], *, opens: time, rules: DayRules) -> PickupPlan | None:
    """Pickup slots from `opens` to the gate's closing, or later when the households do not fit before it.

    Goods that arrive late (the last drop of a busy day) still have to reach
    every household: the distribution point then stays open after the gate
    closes for as many slots as the households left over need (to 23:59 at
    most). None when not even one slot fits in the day.
    """
    households = [PickupHousehold(household_id=h.pk, building=h.building, unit=h.unit) for h in members]
    closes = max(rules.gate_closes, _minutes_after(opens, rules.pickup.slot_minutes))
    while True:
        if closes <= opens:
            return None
        pickup = pickup_slots_plan(households=households, opens=opens, closes=closes, rules=rules.pickup)
        if not pickup.unplaced or closes == time(23, 59):
            return pickup
        extra = math.ceil(len(pickup.unplaced) / rules.pickup.capacity) * rules.pickup.slot_minutes
        closes = _minutes_after(closes, extra)


def _households_plan(
    part: DayPlanPart,
    read: SubdistrictLoads,
    compounds: dict[int, Region],
    departures: dict[int, time],
    rules: DayRules,
) -> tuple[list[PlanRoster], list[PlanPickupSlot]]:
    """Courier rosters for every compound but controlled ones, which get pickup slots instead."""
    loads, households = read.compounds, read.households
    volunteers: dict[int, list[int]] = defaultdict(list)
    for user_id, region_id in (
        User.objects.filter(role=Role.VOLUNTEER, is_active=True, region_id__in=list(loads))
        .order_by("pk")
        .values_list("pk", "region_id")
    ):
        volunteers[region_id].append(user_id)

    statuses = region_effective_zone_statuses(regions=[compounds[pk] for pk in loads])
    rosters: list[PlanRoster] = []
    slots: list[PlanPickupSlot] = []
    for compound_id in sorted(loads):
        load = loads[compound_id]
        members = [households[h] for h in sorted(load.households)]
        status = statuses[compound_id]
        if status == ZoneStatusKind.CONTROLLED:
            # Residents come once the goods are at the gate (rounded up to the next quarter hour).
            opens = rules.gate_opens
            if compound_id in departures:
                arrived = departures[compound_id]
                opens = max(opens, _minutes_after(time(arrived.hour, arrived.minute - arrived.minute % 15), 15))
            pickup = _pickup_plan(members, opens=opens, rules=rules)
            if pickup is None:
                continue  # goods arriving in the last minutes of the day: nothing can be handed out today
            for slot in pickup.slots:
                if not slot.households:
                    continue
                slots.append(
                    PlanPickupSlot(
                        plan=part.plan,
                        part=part,
                        compound_id=compound_id,
                        number=slot.number,
                        starts=slot.start,
                        ends=slot.end,
                        household_count=len(slot.households),
                        households=[
                            {"household": h.household_id, "building": h.building, "unit": h.unit}
                            for h in slot.households
                        ],
                    )
                )
            continue
        plan = rosters_build(
            deliveries=[
                Delivery(
                    household_id=h.pk,
                    building=h.building,
                    unit=h.unit,
                    room=h.room,
                    weight_kg=round(load.households[h.pk].kg, 3),
                )
                for h in members
            ],
            volunteers=[RosterVolunteer(volunteer_id=v) for v in volunteers[compound_id]],
            rules=rules.rosters,
        )
        unstaffed = {u.roster_number: str(u.reason) for u in plan.unstaffed}
        for roster in plan.rosters:
            rosters.append(
                PlanRoster(
                    plan=part.plan,
                    part=part,
                    compound_id=compound_id,
                    number=roster.number,
                    volunteer_id=roster.volunteer_id,
                    household_count=roster.households,
                    stops=[
                        {
                            "household": s.household_id,
                            "building": s.building,
                            "unit": s.unit,
                            "floor": s.floor,
                            "room": s.room,
                            "kg": s.weight_kg,
                        }
                        for s in roster.stops
                    ],
                    unstaffed_reason=unstaffed.get(roster.number, ""),
                )
            )
    return rosters, slots


def _part_store(part: DayPlanPart, result: PartResult) -> None:
    route_rows = PlanRoute.objects.bulk_create([route for route, _trips in result.routes])
    stops = {f"{stop.compound_id}.{stop.drop}": stop for stop in result.stops}
    for route, (_row, trips) in zip(route_rows, result.routes, strict=True):
        for trip_number, trip in enumerate(trips, start=1):
            for sequence, visit in enumerate(trip.stops, start=1):
                stop = stops[visit.stop_id]
                stop.route = route
                stop.trip = trip_number
                stop.sequence = sequence
                stop.arrival = visit.arrival
                stop.departure = visit.departure
                stop.on_board_kg = visit.load_kg
    # Nothing reads these rows' keys back, so they skip bulk_create's per-row cost (thousands of rosters a part).
    instances_insert(result.stops)
    instances_insert(result.rosters)
    instances_insert(result.slots)


def _plan_settle(plan_id: int, now: datetime) -> None:
    """The part that finished last (and only that one) marks the plan done, or failed if any part failed."""
    settled = DayPlan.objects.filter(pk=plan_id, status=DayPlanStatus.RUNNING, parts_finished=F("parts_total")).update(
        status=Case(When(parts_failed=0, then=Value(DayPlanStatus.DONE)), default=Value(DayPlanStatus.FAILED)),
        finished_at=now,
    )
    if settled:
        plan = DayPlan.objects.get(pk=plan_id)
        audit_record(
            actor=None,
            action="day_plan.finish",
            target_type="day_plan",
            target_id=plan_id,
            payload={
                "status": plan.status,
                "stops": plan.stops,
                "stops_assigned": plan.stops_assigned,
                "distance_km": round(plan.distance_km, 3),
                "vehicles_used": plan.vehicles_used,
                "unmet_units": plan.unmet_units,
            },
        )


def day_plan_part_solve(*, part_id: int) -> DayPlanPart | None:
    """Solve one subdistrict of a plan, once: a second delivery of the same task finds the part claimed.

    The solver runs outside any transaction (it takes seconds); the rows and
    the plan's counters are written together afterwards.
    """
    if not _task_claim(DayPlanPart, part_id):
        return None
    part = DayPlanPart.objects.select_related("plan", "subdistrict").get(pk=part_id)
    DayPlan.objects.filter(pk=part.plan_id, status=DayPlanStatus.QUEUED).update(status=DayPlanStatus.RUNNING)
    try:
        result = _part_compute(part)
    except Exception as error:
        logger.exception("day plan %s: subdistrict %s failed", part.plan_id, part.subdistrict_id)
        message = str(error.message) if isinstance(error, ApplicationError) else type(error).__name__
        with transaction.atomic():
            DayPlanPart.objects.filter(pk=part_id).update(
                status=DayPlanStatus.FAILED, error=message[:255], finished_at=timezone.now()
            )
            DayPlan.objects.filter(pk=part.plan_id).update(
                parts_finished=F("parts_finished") + 1, parts_failed=F("parts_failed") + 1
            )
            audit_record(
                actor=None,
                action="day_plan.part_fail",
                target_type="day_plan",
                target_id=part.plan_id,
                payload={"part": part_id, "subdistrict": part.subdistrict_id, "error": message[:255]},
            )
            _plan_settle(part.plan_id, timezone.now())
        part.refresh_from_db()
        return part

    unmet = result.unmet
    assigned = len(result.stops) - sum(1 for stop in result.stops if stop.unassigned_reason)
    distance = sum(route.distance_km for route, _trips in result.routes)
    load_kg = sum(route.load_kg for route, _trips in result.routes)
    capacity = sum(route.payload_kg * route.trips for route, _trips in result.routes)
    with transaction.atomic():
        storing = clock.perf_counter()
        _part_store(part, result)
        # The counter updates below are a handful of rows; the bulk inserts are what storing costs.
        result.solver["timings"] = {**result.timings, "store_s": round(clock.perf_counter() - storing, 3)}
        DayPlanPart.objects.filter(pk=part_id).update(
            status=DayPlanStatus.DONE,
            stops=len(result.stops),
            stops_assigned=assigned,
            distance_km=round(distance, 3),
            vehicles_used=len(result.routes),
            solver=result.solver,
            finished_at=timezone.now(),
        )
        DayPlan.objects.filter(pk=part.plan_id).update(
            parts_finished=F("parts_finished") + 1,
            stops=F("stops") + len(result.stops),
            stops_assigned=F("stops_assigned") + assigned,
            distance_km=F("distance_km") + distance,
            vehicles_used=F("vehicles_used") + len(result.routes),
            load_kg=F("load_kg") + load_kg,
            capacity_kg=F("capacity_kg") + capacity,
            unmet_units=F("unmet_units") + unmet,
            unrouted_kg=F("unrouted_kg") + result.unrouted_kg,
        )
        audit_record(
            actor=None,
            action="day_plan.part_done",
            target_type="day_plan",
            target_id=part.plan_id,
            payload={
                "part": part_id,
                "subdistrict": part.subdistrict_id,
                "stops": len(result.stops),
                "stops_assigned": assigned,
                "vehicles_used": len(result.routes),
                "unassigned": result.unassigned,
            },
        )
        _plan_settle(part.plan_id, timezone.now())
    part.refresh_from_db()
    return part


# --- where the time went --------------------------------------------------------------------------

PART_PHASES = ("loads_s", "routing_s", "rosters_s", "store_s")


@dataclass(frozen=True)
class PlanTimings:
    """Seconds spent per phase of a plan.

    `allocation_s` is the allocation stage's wall time (from the plan's
    creation to its last supermarket), `allocation_work_s` the supermarkets'
    own times added up, and `split_s` the fleet split after them; the part phases
    are summed over the parts that finished (`parts_timed`), and
    `slowest_part_s` is the longest single part, which bounds the wall time of
    the fan-out however many workers there are.
    """

    allocation_s: float | None
    allocation_work_s: float | None
    split_s: float | None
    parts_timed: int
    loads_s: float
    routing_s: float
    rosters_s: float
    store_s: float
    slowest_part_s: float

    def as_dict(self) -> dict[str, float | int | None]:
        return {
            "allocation_s": self.allocation_s,
            "allocation_work_s": self.allocation_work_s,
            "split_s": self.split_s,
            "parts_timed": self.parts_timed,
            "loads_s": self.loads_s,
            "routing_s": self.routing_s,
            "rosters_s": self.rosters_s,
            "store_s": self.store_s,
            "slowest_part_s": self.slowest_part_s,
        }


def day_plan_timings(*, plan: DayPlan) -> PlanTimings:
    """The plan's phase timings, from its allocation audit row and its parts' solver records."""
    from baogong.core.models import AuditLog

    allocated = (
        AuditLog.objects.filter(target_type="day_plan", target_id=str(plan.pk), action="day_plan.allocated")
        .order_by("pk")
        .values_list("payload", flat=True)
        .first()
    )
    stage = (allocated or {}).get("timings") or {}
    totals = dict.fromkeys(PART_PHASES, 0.0)
    slowest = 0.0
    timed = 0
    for solver in plan.parts.filter(status=DayPlanStatus.DONE).values_list("solver", flat=True):
        timings = solver.get("timings") if isinstance(solver, dict) else None
        if not timings:
            continue
        timed += 1
        for phase in PART_PHASES:
            totals[phase] += float(timings.get(phase, 0.0))
        slowest = max(slowest, sum(float(timings.get(phase, 0.0)) for phase in PART_PHASES))
    return PlanTimings(
        allocation_s=stage.get("allocation_s"),
        allocation_work_s=stage.get("allocation_work_s"),
        split_s=stage.get("split_s"),
        parts_timed=timed,
        loads_s=round(totals["loads_s"], 3),
        routing_s=round(totals["routing_s"], 3),
        rosters_s=round(totals["rosters_s"], 3),
        store_s=round(totals["store_s"], 3),
        slowest_part_s=round(slowest, 3),
    )
