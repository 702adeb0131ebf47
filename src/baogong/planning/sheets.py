"""The printed sheets of a delivery-day plan: route sheets, pick lists, gate checklists, courier lists.

Every sheet is built from the stored plan (routes, stops, rosters) and the
plan's allocation runs, so the quantities on paper are what the planner
loaded: the allocated units, not what was ordered (short goods are not
picked). A "parcel" is what one supermarket packs for one household: a
household served by two supermarkets gets two parcels.

The routing does not record which supermarket loads which stop: a vehicle
collects at its home depot, and what it carries for a compound is whatever
that compound's purchase orders of the day hold. So a pick list is keyed by
(vehicle route, trip, supermarket): for each stop of the trip, the goods the
allocation gave the compound's households from the supermarket of each of the
compound's purchase orders (the allocation runs are per supermarket, so a run's
supermarket is the purchase order's). A vehicle carrying several supermarkets'
goods on one trip therefore has one pick list per supermarket.

Scoping: the command office sees every sheet, a subdistrict office the sheets
of its subdistrict, a community office the gate checklists and courier lists
of its compounds, a supplier only its own supermarket's pick lists, a
volunteer only their own courier lists; anything else is not found.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from baogong.accounts.models import Role
from baogong.catalog.models import Commodity, Kit, KitLine
from baogong.core.errors import NotFound
from baogong.core.masking import mask_name, mask_phone
from baogong.delivery.models import GreenPass, GreenPassStatus
from baogong.enterprises.models import Organisation
from baogong.orders.models import PurchaseOrder
from baogong.regions.models import Household

from .models import AllocationLine, AllocationRun, DayPlan, PlanRoster, PlanRoute, PlanStop

if TYPE_CHECKING:
    from collections.abc import Iterable

    from baogong.core.scoping import Scope

# Region-scoped roles and the sheet kinds each may read (inside its region subtree).
REGION_SHEET_KINDS: dict[str, frozenset[str]] = {
    Role.COMMAND: frozenset({"route", "pick", "gate", "courier"}),
    Role.SUBDISTRICT: frozenset({"route", "pick", "gate", "courier"}),
    Role.COMMUNITY: frozenset({"gate", "courier"}),
}
SHEET_KINDS = ("route", "pick", "gate", "courier")
# How many of the latest finished plans the sheet index offers.
RECENT_PLANS = 60


def _natural_key(text: str) -> tuple[object, ...]:
    """Sort "2号楼" before "10号楼": digit runs compare as numbers."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text))


# --- scope ----------------------------------------------------------------------------------------


def sheet_kinds_for(scope: Scope) -> frozenset[str]:
    """The sheet kinds a role can read at all."""
    if scope.role in REGION_SHEET_KINDS and scope.region_path is not None:
        return REGION_SHEET_KINDS[scope.role]
    if scope.role == Role.SUPPLIER and scope.organisation_id is not None:
        return frozenset({"pick"})
    if scope.role == Role.VOLUNTEER and scope.user_id is not None:
        return frozenset({"courier"})
    return frozenset()


def _overlaps(plan: DayPlan, region_path: str) -> bool:
    # A county plan holds the subdistrict's sheets; a subdistrict plan lies inside the county.
    return plan.area.path.startswith(region_path) or region_path.startswith(plan.area.path)


def _supplier_in_plan(plan: DayPlan, organisation_id: int) -> bool:
    return AllocationRun.objects.filter(pk__in=plan.allocation_runs, supermarket_id=organisation_id).exists()


def sheet_plan_get(*, scope: Scope, plan_id: int) -> DayPlan:
    """A plan the caller may read at least one sheet of; anything else is not found."""
    kinds = sheet_kinds_for(scope)
    plan = DayPlan.objects.select_related("area").filter(pk=plan_id).first() if kinds else None
    if plan is None:
        raise NotFound()
    if scope.role in REGION_SHEET_KINDS:
        assert scope.region_path is not None
        visible = _overlaps(plan, scope.region_path)
    elif scope.role == Role.SUPPLIER:
        assert scope.organisation_id is not None
        visible = _supplier_in_plan(plan, scope.organisation_id)
    else:
        visible = plan.rosters.filter(volunteer_id=scope.user_id).exists()
    if not visible:
        raise NotFound()
    return plan


def sheet_plan_list(*, scope: Scope) -> QuerySet[DayPlan]:
    """Finished plans holding a sheet for the caller, newest first."""
    kinds = sheet_kinds_for(scope)
    plans = DayPlan.objects.select_related("area").filter(finished_at__isnull=False)
    if not kinds:
        return DayPlan.objects.none()
    if scope.role in REGION_SHEET_KINDS:
        assert scope.region_path is not None
        parts = [part for part in scope.region_path.strip("/").split("/") if part]
        ancestors = ["/" + "/".join(parts[:n]) + "/" for n in range(1, len(parts) + 1)]
        plans = plans.filter(Q(area__path__startswith=scope.region_path) | Q(area__path__in=ancestors))
    elif scope.role == Role.SUPPLIER:
        # Run ids sit in a JSON list, which the two databases query differently; the recent plans are few.
        run_ids = set(AllocationRun.objects.filter(supermarket_id=scope.organisation_id).values_list("pk", flat=True))
        recent = plans.order_by("-delivery_date", "-id").values_list("pk", "allocation_runs")[:RECENT_PLANS]
        plans = plans.filter(pk__in=[pk for pk, runs in recent if run_ids.intersection(runs)])
    else:
        plans = plans.filter(rosters__volunteer_id=scope.user_id).distinct()
    return plans.order_by("-delivery_date", "-id")


def _region_routes(scope: Scope, plan: DayPlan) -> QuerySet[PlanRoute]:
    assert scope.region_path is not None
    return plan.routes.filter(part__subdistrict__path__startswith=scope.region_path)


def route_sheet_routes(*, scope: Scope, plan: DayPlan) -> QuerySet[PlanRoute]:
    """The vehicle routes whose route sheets the caller may read."""
    if "route" not in sheet_kinds_for(scope) or scope.role not in REGION_SHEET_KINDS:
        return PlanRoute.objects.none()
    return (
        _region_routes(scope, plan)
        .select_related("vehicle", "depot__region", "part__subdistrict")
        .order_by("vehicle__plate")
    )


def route_sheet_route_get(*, scope: Scope, plan: DayPlan, route_id: int) -> PlanRoute:
    route = route_sheet_routes(scope=scope, plan=plan).filter(pk=route_id).first()
    if route is None:
        raise NotFound()
    return route


def gate_checklist_stops(*, scope: Scope, plan: DayPlan) -> QuerySet[PlanStop]:
    """The compound gates whose checklists the caller may read."""
    if "gate" not in sheet_kinds_for(scope) or scope.role not in REGION_SHEET_KINDS:
        return PlanStop.objects.none()
    assert scope.region_path is not None
    # One checklist per compound: a compound delivered in several drops is listed by its first.
    return (
        plan.stops_planned.filter(compound__path__startswith=scope.region_path, drop=1)
        .select_related("compound", "route__vehicle")
        .order_by("compound__code")
    )


def gate_checklist_stop_get(*, scope: Scope, plan: DayPlan, compound_id: int) -> PlanStop:
    stop = gate_checklist_stops(scope=scope, plan=plan).filter(compound_id=compound_id).first()
    if stop is None:
        raise NotFound()
    return stop


def courier_rosters(*, scope: Scope, plan: DayPlan) -> QuerySet[PlanRoster]:
    """The courier rosters the caller may read: a volunteer only their own."""
    kinds = sheet_kinds_for(scope)
    if "courier" not in kinds:
        return PlanRoster.objects.none()
    rosters = plan.rosters.select_related("compound", "volunteer").order_by("compound__code", "number")
    if scope.role == Role.VOLUNTEER:
        return rosters.filter(volunteer_id=scope.user_id)
    assert scope.region_path is not None
    return rosters.filter(compound__path__startswith=scope.region_path)


def courier_roster_get(*, scope: Scope, plan: DayPlan, roster_id: int) -> PlanRoster:
    roster = courier_rosters(scope=scope, plan=plan).filter(pk=roster_id).first()
    if roster is None:
        raise NotFound()
    return roster


# --- goods of the plan ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Goods:
    key: str  # "c<id>" or "k<id>"
    name: str
    unit: str
    cold: bool = False  # needs a cold-chain vehicle (a kit: any of its goods does)


@dataclass(frozen=True)
class GoodsRow:
    """One household's allocated quantity of one item from one supermarket."""

    supermarket_id: int
    household_id: int
    compound_id: int
    building: str
    goods: Goods
    quantity: int


@dataclass(frozen=True)
class GoodsLine:
    name: str
    unit: str
    quantity: int


def _goods_rows(*, plan: DayPlan, compound_ids: Iterable[int], supermarket_id: int | None = None) -> list[GoodsRow]:
    """Allocated goods (units > 0) of the plan's runs for households of the given compounds."""
    lines = AllocationLine.objects.filter(
        run_id__in=plan.allocation_runs, household__compound_id__in=list(compound_ids), allocated__gt=0
    )
    if supermarket_id is not None:
        lines = lines.filter(run__supermarket_id=supermarket_id)
    raw = list(
        lines.order_by("household_id", "item_id", "id").values_list(
            "run__supermarket_id",
            "household_id",
            "household__compound_id",
            "household__unit__parent__name",
            "item__commodity_id",
            "item__kit_id",
            "allocated",
        )
    )
    commodities = {c.pk: c for c in Commodity.objects.filter(pk__in={r[4] for r in raw if r[4] is not None})}
    kits = {k.pk: k for k in Kit.objects.filter(pk__in={r[5] for r in raw if r[5] is not None})}
    goods: dict[str, Goods] = {}
    cold_kits = set(
        KitLine.objects.filter(kit_id__in=list(kits), commodity__is_cold_chain=True).values_list("kit_id", flat=True)
    )
    for commodity in commodities.values():
        goods[f"c{commodity.pk}"] = Goods(f"c{commodity.pk}", commodity.name, commodity.unit, commodity.is_cold_chain)
    for kit in kits.values():
        goods[f"k{kit.pk}"] = Goods(f"k{kit.pk}", kit.name, _("package"), kit.pk in cold_kits)
    # Several tiers of one household and item are separate lines; the sheet adds them up.
    summed: dict[tuple[int, int, int, str, str], int] = defaultdict(int)
    for supermarket, household, compound, building, commodity_id, kit_id, allocated in raw:
        key = f"c{commodity_id}" if commodity_id is not None else f"k{kit_id}"
        summed[(supermarket, household, compound, building or "", key)] += allocated
    return [
        GoodsRow(supermarket, household, compound, building, goods[key], quantity)
        for (supermarket, household, compound, building, key), quantity in summed.items()
    ]


def _stop_rows(stop: PlanStop, by_compound: dict[int, list[GoodsRow]]) -> list[GoodsRow]:
    """The goods one stop carries: all its compound's, or, when the compound comes in several drops,
    its households' chilled goods (a cold-chain drop) or their other goods (any other drop)."""
    rows = by_compound.get(stop.compound_id, [])
    if not stop.household_ids:
        return rows
    carried = set(stop.household_ids)
    return [row for row in rows if row.household_id in carried and row.goods.cold == stop.cold_chain]


def _goods_lines(rows: Iterable[GoodsRow]) -> list[GoodsLine]:
    totals: dict[Goods, int] = defaultdict(int)
    for row in rows:
        totals[row.goods] += row.quantity
    return [
        GoodsLine(goods.name, goods.unit, quantity)
        for goods, quantity in sorted(totals.items(), key=lambda item: (item[0].name, item[0].key))
    ]


def _parcels(rows: Iterable[GoodsRow]) -> int:
    return len({(row.household_id, row.supermarket_id) for row in rows})


def _by_compound(rows: Iterable[GoodsRow]) -> dict[int, list[GoodsRow]]:
    grouped: dict[int, list[GoodsRow]] = defaultdict(list)
    for row in rows:
        grouped[row.compound_id].append(row)
    return grouped


def _by_building(rows: Iterable[GoodsRow]) -> list[tuple[str, list[GoodsRow]]]:
    grouped: dict[str, list[GoodsRow]] = defaultdict(list)
    for row in rows:
        grouped[row.building].append(row)
    return sorted(grouped.items(), key=lambda item: _natural_key(item[0]))


def _gate_text(stop: PlanStop) -> str:
    if stop.latitude is None or stop.longitude is None:
        return ""
    return f"{stop.latitude:.5f}, {stop.longitude:.5f}"


def _window_text(stop: PlanStop) -> str:
    return f"{stop.window_open:%H:%M}–{stop.window_close:%H:%M}"


# --- route sheets ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteSheetStop:
    trip: int
    sequence: int
    compound: str
    compound_code: str
    gate: str
    window: str
    eta: time | None
    departs: time | None
    households: int
    parcels: int
    kg: float
    m3: float
    on_board_kg: float | None
    cold_chain: bool


@dataclass(frozen=True)
class RouteSheet:
    route_id: int
    plan_id: int
    delivery_date: date
    subdistrict: str
    vehicle: str
    vehicle_type: str
    payload_kg: float
    volume_m3: float
    cold_chain_vehicle: bool
    driver: str
    driver_phone: str
    depot: str
    depot_code: str
    starts: time
    ends: time
    trips: int
    distance_km: float
    duration_min: float
    stops: list[RouteSheetStop]
    households: int
    parcels: int
    kg: float
    m3: float

    @property
    def utilisation(self) -> float:
        return self.kg / (self.payload_kg * self.trips) if self.payload_kg and self.trips else 0.0


def _drivers_on(day: date, vehicle_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """The driver named on each vehicle's green pass valid that day (latest pass first); phone masked."""
    tz = timezone.get_current_timezone()
    starts = datetime.combine(day, time.min, tzinfo=tz)
    ends = datetime.combine(day, time.max, tzinfo=tz)
    drivers: dict[int, tuple[str, str]] = {}
    for green_pass in (
        GreenPass.objects.filter(
            vehicle_id__in=list(vehicle_ids),
            status=GreenPassStatus.ACTIVE,
            valid_from__lte=ends,
            valid_until__gte=starts,
        )
        .select_related("driver")
        .order_by("vehicle_id", "-valid_from", "-pk")
    ):
        drivers.setdefault(green_pass.vehicle_id, (green_pass.driver.name, mask_phone(green_pass.driver.phone)))
    return drivers


def route_sheets_build(*, plan: DayPlan, routes: Iterable[PlanRoute]) -> list[RouteSheet]:
    """Route sheets for the given routes of a plan, in the order given."""
    routes = list(routes)
    stops = list(
        PlanStop.objects.filter(route__in=routes).select_related("compound").order_by("route_id", "trip", "sequence")
    )
    rows = _by_compound(_goods_rows(plan=plan, compound_ids={stop.compound_id for stop in stops}))
    by_route: dict[int, list[PlanStop]] = defaultdict(list)
    for stop in stops:
        by_route[stop.route_id or 0].append(stop)
    drivers = _drivers_on(plan.delivery_date, [route.vehicle_id for route in routes])
    sheets = []
    for route in routes:
        lines = [
            RouteSheetStop(
                trip=stop.trip or 1,
                sequence=stop.sequence or 0,
                compound=stop.compound.name,
                compound_code=stop.compound.code,
                gate=_gate_text(stop),
                window=_window_text(stop),
                eta=stop.arrival,
                departs=stop.departure,
                households=stop.households,
                parcels=_parcels(rows.get(stop.compound_id, [])),
                kg=stop.demand_kg,
                m3=stop.volume_m3,
                on_board_kg=stop.on_board_kg,
                cold_chain=stop.cold_chain,
            )
            for stop in by_route[route.pk]
        ]
        driver, phone = drivers.get(route.vehicle_id, ("", ""))
        sheets.append(
            RouteSheet(
                route_id=route.pk,
                plan_id=plan.pk,
                delivery_date=plan.delivery_date,
                subdistrict=route.part.subdistrict.name,
                vehicle=route.vehicle.plate,
                vehicle_type=route.vehicle.get_vehicle_type_display(),
                payload_kg=route.payload_kg,
                volume_m3=float(route.vehicle.volume_m3),
                cold_chain_vehicle=route.vehicle.is_cold_chain,
                driver=driver,
                driver_phone=phone,
                depot=route.depot.name,
                depot_code=route.depot.code,
                starts=route.starts,
                ends=route.ends,
                trips=route.trips,
                distance_km=route.distance_km,
                duration_min=route.duration_min,
                stops=lines,
                households=sum(line.households for line in lines),
                parcels=sum(line.parcels for line in lines),
                kg=round(sum(line.kg for line in lines), 3),
                m3=round(sum(line.m3 for line in lines), 3),
            )
        )
    return sheets


# --- pick lists -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PickListKey:
    route_id: int
    trip: int
    supermarket_id: int
    vehicle: str
    supermarket: str
    stops: int


@dataclass(frozen=True)
class PickBuilding:
    building: str
    parcels: int
    lines: list[GoodsLine]


@dataclass(frozen=True)
class PickCompound:
    sequence: int
    compound: str
    compound_code: str
    eta: time | None
    purchase_order_id: int | None
    parcels: int
    buildings: list[PickBuilding]


@dataclass(frozen=True)
class PickList:
    route_id: int
    plan_id: int
    delivery_date: date
    trip: int
    trips: int
    supermarket_id: int
    supermarket: str
    vehicle: str
    depot: str
    compounds: list[PickCompound]
    totals: list[GoodsLine]
    parcels: int


def _pick_routes(scope: Scope, plan: DayPlan) -> QuerySet[PlanRoute]:
    routes = plan.routes.select_related("vehicle", "depot").order_by("vehicle__plate")
    if scope.role in REGION_SHEET_KINDS:
        return routes.filter(part__subdistrict__path__startswith=scope.region_path or "")
    return routes


def _routed_stops(routes: Iterable[PlanRoute]) -> list[PlanStop]:
    return list(
        PlanStop.objects.filter(route__in=list(routes))
        .select_related("compound")
        .order_by("route_id", "trip", "sequence")
    )


def pick_list_keys(*, scope: Scope, plan: DayPlan) -> list[PickListKey]:
    """Every (vehicle, trip, supermarket) load the caller may read a pick list of."""
    if "pick" not in sheet_kinds_for(scope):
        return []
    supermarket_id = scope.organisation_id if scope.role == Role.SUPPLIER else None
    routes = {route.pk: route for route in _pick_routes(scope, plan)}
    stops = _routed_stops(routes.values())
    rows = _by_compound(
        _goods_rows(plan=plan, compound_ids={s.compound_id for s in stops}, supermarket_id=supermarket_id)
    )
    counted: dict[tuple[int, int, int], int] = defaultdict(int)
    for stop in stops:
        assert stop.route_id is not None
        for supermarket in sorted({row.supermarket_id for row in _stop_rows(stop, rows)}):
            counted[(stop.route_id, stop.trip or 1, supermarket)] += 1
    names = dict(Organisation.objects.filter(pk__in={key[2] for key in counted}).values_list("pk", "name"))
    keys = [
        PickListKey(route_id, trip, supermarket, routes[route_id].vehicle.plate, names[supermarket], count)
        for (route_id, trip, supermarket), count in counted.items()
    ]
    return sorted(keys, key=lambda key: (key.vehicle, key.trip, key.supermarket, key.supermarket_id))


def pick_list_get(*, scope: Scope, plan: DayPlan, route_id: int, trip: int, supermarket_id: int) -> PickList:
    """One supermarket's pick list for one vehicle trip, by compound (in driving order) and building."""
    if "pick" not in sheet_kinds_for(scope):
        raise NotFound()
    if scope.role == Role.SUPPLIER and supermarket_id != scope.organisation_id:
        raise NotFound()
    route = _pick_routes(scope, plan).filter(pk=route_id).first()
    if route is None:
        raise NotFound()
    stops = [stop for stop in _routed_stops([route]) if (stop.trip or 1) == trip]
    rows = _by_compound(
        _goods_rows(plan=plan, compound_ids={s.compound_id for s in stops}, supermarket_id=supermarket_id)
    )
    stops = [stop for stop in stops if _stop_rows(stop, rows)]
    if not stops:
        raise NotFound()
    orders = dict(
        PurchaseOrder.objects.filter(
            supermarket_id=supermarket_id,
            delivery_date=plan.delivery_date,
            compound_id__in=[stop.compound_id for stop in stops],
        ).values_list("compound_id", "pk")
    )
    supermarket = Organisation.objects.get(pk=supermarket_id)
    compounds = []
    for stop in stops:
        compound_rows = _stop_rows(stop, rows)
        compounds.append(
            PickCompound(
                sequence=stop.sequence or 0,
                compound=stop.compound.name,
                compound_code=stop.compound.code,
                eta=stop.arrival,
                purchase_order_id=orders.get(stop.compound_id),
                parcels=_parcels(compound_rows),
                buildings=[
                    PickBuilding(building, _parcels(building_rows), _goods_lines(building_rows))
                    for building, building_rows in _by_building(compound_rows)
                ],
            )
        )
    every_row = [row for stop in stops for row in _stop_rows(stop, rows)]
    return PickList(
        route_id=route.pk,
        plan_id=plan.pk,
        delivery_date=plan.delivery_date,
        trip=trip,
        trips=route.trips,
        supermarket_id=supermarket_id,
        supermarket=supermarket.name,
        vehicle=route.vehicle.plate,
        depot=route.depot.name,
        compounds=compounds,
        totals=_goods_lines(every_row),
        parcels=_parcels(every_row),
    )


# --- gate checklists ------------------------------------------------------------------------------


@dataclass(frozen=True)
class GateRow:
    building: str
    supermarket: str
    name: str
    unit: str
    quantity: int
    parcels: int


@dataclass(frozen=True)
class GateChecklist:
    plan_id: int
    delivery_date: date
    compound_id: int
    compound: str
    compound_code: str
    gate: str
    window: str
    vehicle: str
    trip: int | None
    eta: time | None
    unrouted_reason: str
    households: int
    parcels: int
    kg: float
    m3: float
    rows: list[GateRow]


def gate_checklist_build(*, plan: DayPlan, stop: PlanStop) -> GateChecklist:
    """What a compound's gate should receive, per building, with room for the count on arrival."""
    rows = _goods_rows(plan=plan, compound_ids=[stop.compound_id])
    names = dict(Organisation.objects.filter(pk__in={row.supermarket_id for row in rows}).values_list("pk", "name"))
    checklist_rows = []
    for building, building_rows in _by_building(rows):
        by_supermarket: dict[int, list[GoodsRow]] = defaultdict(list)
        for row in building_rows:
            by_supermarket[row.supermarket_id].append(row)
        for supermarket_id in sorted(by_supermarket, key=lambda pk: (names[pk], pk)):
            supermarket_rows = by_supermarket[supermarket_id]
            parcels = _parcels(supermarket_rows)
            for line in _goods_lines(supermarket_rows):
                checklist_rows.append(
                    GateRow(building, names[supermarket_id], line.name, line.unit, line.quantity, parcels)
                )
    # A compound delivered in several drops expects every drop's vehicle.
    drops = list(
        plan.stops_planned.filter(compound_id=stop.compound_id).select_related("route__vehicle").order_by("drop")
    )
    arrivals = [d.arrival for d in drops if d.arrival is not None]
    return GateChecklist(
        plan_id=plan.pk,
        delivery_date=plan.delivery_date,
        compound_id=stop.compound_id,
        compound=stop.compound.name,
        compound_code=stop.compound.code,
        gate=_gate_text(stop),
        window=_window_text(stop),
        vehicle=", ".join(d.route.vehicle.plate for d in drops if d.route is not None),
        trip=stop.trip if len(drops) == 1 else None,
        eta=min(arrivals) if arrivals else None,
        unrouted_reason="; ".join(sorted({d.unassigned_reason for d in drops if d.unassigned_reason})),
        households=sum(d.households for d in drops),
        parcels=_parcels(rows),
        kg=round(sum(d.demand_kg for d in drops), 3),
        m3=round(sum(d.volume_m3 for d in drops), 3),
        rows=checklist_rows,
    )


# --- courier lists --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CourierStop:
    position: int
    building: str
    unit: str
    floor: int | str
    room: str
    head: str
    phone: str
    parcels: int
    kg: float
    goods: str


@dataclass(frozen=True)
class CourierList:
    roster_id: int
    plan_id: int
    delivery_date: date
    compound: str
    compound_code: str
    number: int
    volunteer: str
    unstaffed_reason: str
    gate_eta: time | None
    stops: list[CourierStop] = field(default_factory=list)

    @property
    def households(self) -> int:
        return len(self.stops)

    @property
    def parcels(self) -> int:
        return sum(stop.parcels for stop in self.stops)

    @property
    def kg(self) -> float:
        return round(sum(stop.kg for stop in self.stops), 3)


def courier_list_build(*, plan: DayPlan, roster: PlanRoster) -> CourierList:
    """One courier's households in walking order; names and phones always masked."""
    household_ids = [int(stop["household"]) for stop in roster.stops]
    households = Household.objects.in_bulk(household_ids)
    rows: dict[int, list[GoodsRow]] = defaultdict(list)
    for row in _goods_rows(plan=plan, compound_ids=[roster.compound_id]):
        rows[row.household_id].append(row)
    arrival = plan.stops_planned.filter(compound_id=roster.compound_id).values_list("arrival", flat=True).first()
    stops = []
    for position, stop in enumerate(roster.stops, start=1):
        household = households.get(int(stop["household"]))
        household_rows = rows.get(int(stop["household"]), [])
        stops.append(
            CourierStop(
                position=position,
                building=str(stop.get("building", "")),
                unit=str(stop.get("unit", "")),
                floor=stop.get("floor", ""),
                room=str(stop.get("room", "")),
                head=mask_name(household.head_name) if household else "",
                phone=mask_phone(household.phone) if household else "",
                parcels=_parcels(household_rows),
                kg=float(stop.get("kg", 0.0)),
                goods="; ".join(f"{line.name} × {line.quantity}" for line in _goods_lines(household_rows)),
            )
        )
    volunteer = roster.volunteer
    return CourierList(
        roster_id=roster.pk,
        plan_id=plan.pk,
        delivery_date=plan.delivery_date,
        compound=roster.compound.name,
        compound_code=roster.compound.code,
        number=roster.number,
        volunteer=(volunteer.get_full_name() or volunteer.username) if volunteer is not None else "",
        unstaffed_reason=roster.unstaffed_reason,
        gate_eta=arrival,
        stops=stops,
    )
