"""Vehicle routing behind a typed adapter over PyVRP.

Dataclasses in (`RoutingProblem`), dataclasses out (`RoutingPlan`); nothing
here touches models, so the planner, the command line and the benchmarks all
feed the same code. `routing_solve` is the only entry point.

How the real problem maps onto PyVRP 0.14 (pinned: its 0.x API changes
between minor releases):

- Depots, time windows at compound gates, shift windows, shift length, fixed
  and per-km costs are native (`Depot`, `Client.tw_*`, `VehicleType.tw_*`,
  `shift_duration`, `fixed_cost`, `unit_distance_cost`).
- Payload (kg) and volume (m³) are two load dimensions. Amounts are whole
  kilograms and litres; demands are rounded up and capacities down, so a
  plan that fits in integers fits in reality. Coarse units on purpose:
  PyVRP's penalty bounds are tuned for amounts of that size.
- Costs are integers per metre. When every vehicle has the same per-km
  price one unit per metre is enough; otherwise the cheapest vehicle pays
  10 per metre so price ratios survive rounding. Costs in the plan are
  recomputed in yuan from distances.
- Cold chain: open-source PyVRP has no vehicle-client compatibility, so a
  third load dimension counts chilled stops. Only cold-chain vehicles have
  capacity in it (room for every chilled stop); any other vehicle has zero, so
  a chilled stop on an ordinary vehicle is excess load, which a feasible
  solution never has. Ordinary stops still ride on cold-chain vehicles.
  The dimension is left out when no stop needs cold chain.
- Several trips per day: native multi-trip (`reload_depots` = the vehicle's
  home depot, `max_reloads` = max_trips - 1); loading time at the depot is
  the depot's service duration, paid at the start of every trip.
- Vehicles with identical attributes become one vehicle type with a count,
  which the solver handles better than many single vehicles; routes are
  matched back to vehicle ids in input order.
- Stops that no vehicle could ever serve (too heavy, too bulky, chilled with
  no cold-chain vehicle, window unreachable within any shift) are reported
  before solving, with that reason.
- The rest are first solved as required clients: that is the fast path
  (measured: optional clients halve PyVRP's iterations per second). If no
  feasible plan has turned up after a quarter of the budget, or the fleet's
  total capacity is plainly short, the remaining budget goes to a second run
  where stops are optional with a prize far above any route's cost of
  serving them: the solver then serves everyone it can and drops a stop only
  when the fleet has no room or time left (`fleet_exhausted`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import time
from importlib.metadata import version
from time import perf_counter as time_now

import numpy as np
import pyvrp
from django.db import models
from django.utils.translation import gettext_lazy as _
from pyvrp.exceptions import PenaltyBoundWarning
from pyvrp.IteratedLocalSearch import IteratedLocalSearchParams
from pyvrp.search import NeighbourhoodParams

from baogong.core.errors import ValidationFailed
from baogong.planning.distances import DistanceSource, GeoPoint, GreatCircleSource, PrecomputedMatrix, TravelMatrix

# Times are seconds since midnight; the day ends one second before midnight so
# every instant of a plan is a valid `datetime.time`.
DAY_END_S = 24 * 3600 - 1
COLD_UNIT = 10_000
# Share of the budget after which a run with every stop required, still
# without a feasible plan, gives way to the run with optional stops.
GIVE_UP = 0.25

__all__ = [
    "Depot",
    "PrecomputedMatrix",
    "Route",
    "RoutingPlan",
    "RoutingProblem",
    "SolverStats",
    "Stop",
    "StopVisit",
    "Trip",
    "UnassignedReason",
    "UnassignedStop",
    "Vehicle",
    "routing_solve",
]


# ---------------------------------------------------------------- input


@dataclass(frozen=True, slots=True)
class Depot:
    """A supermarket or warehouse vehicles load at. `loading_minutes` is paid at the start of every trip."""

    id: str
    lat: float
    lon: float
    opens: time = time(0, 0)
    closes: time | None = None
    loading_minutes: float = 0.0


@dataclass(frozen=True, slots=True)
class Vehicle:
    """One vehicle and its driver's shift. `max_shift_minutes` caps the route's duration inside the shift window."""

    id: str
    depot_id: str
    payload_kg: float
    volume_m3: float
    cold_chain: bool = False
    shift_start: time = time(0, 0)
    shift_end: time | None = None
    max_shift_minutes: float | None = None
    max_trips: int = 1
    cost_per_km: float = 1.0
    fixed_cost: float = 0.0


@dataclass(frozen=True, slots=True)
class Stop:
    """A compound gate to deliver to, with the window the gate accepts vehicles in."""

    id: str
    lat: float
    lon: float
    demand_kg: float
    volume_m3: float = 0.0
    needs_cold_chain: bool = False
    service_minutes: float = 0.0
    window_open: time | None = None
    window_close: time | None = None


@dataclass(frozen=True, slots=True)
class RoutingProblem:
    """One routing run.

    `distances` defaults to great circle × detour factor; pass a road-matrix
    source, or a `PrecomputedMatrix` over the depots then the stops in input
    order. The search stops at `time_limit_s`, or earlier at `max_iterations`
    (set it when the result must not depend on machine speed), or once a
    feasible best solution has not improved for `stall_iterations`.
    """

    depots: Sequence[Depot]
    vehicles: Sequence[Vehicle]
    stops: Sequence[Stop]
    distances: DistanceSource = field(default_factory=GreatCircleSource)
    time_limit_s: float = 10.0
    seed: int = 0
    max_iterations: int | None = None
    stall_iterations: int | None = None


# ---------------------------------------------------------------- output


class UnassignedReason(models.TextChoices):
    NO_VEHICLE = "no_vehicle", _("no vehicle is available")
    NEEDS_COLD_CHAIN = "needs_cold_chain", _("needs a cold-chain vehicle and none is available")
    TOO_HEAVY = "too_heavy", _("heavier than any suitable vehicle's payload")
    TOO_BULKY = "too_bulky", _("larger than any suitable vehicle's load space")
    OUTSIDE_HOURS = "outside_hours", _("its time window cannot be reached within any vehicle's shift")
    FLEET_EXHAUSTED = "fleet_exhausted", _("the fleet has no capacity or time left for it")
    NO_FEASIBLE_ROUTE = "no_feasible_route", _("the solver found no feasible route for it within the time limit")


@dataclass(frozen=True, slots=True)
class StopVisit:
    """`arrival` at the gate; unloading starts at `service_start` (later if the window is not open yet).

    `load_kg` / `load_m3` are what is on board on arrival, before unloading.
    """

    stop_id: str
    arrival: time
    service_start: time
    departure: time
    load_kg: float
    load_m3: float


@dataclass(frozen=True, slots=True)
class Trip:
    depot_id: str
    departs: time
    returns: time
    load_kg: float
    load_m3: float
    stops: list[StopVisit]


@dataclass(frozen=True, slots=True)
class Route:
    vehicle_id: str
    trips: list[Trip]
    starts: time
    ends: time
    distance_km: float
    duration_min: float
    cost: float


@dataclass(frozen=True, slots=True)
class UnassignedStop:
    stop_id: str
    reason: UnassignedReason


@dataclass(frozen=True, slots=True)
class SolverStats:
    solver: str
    runtime_s: float
    iterations: int
    seed: int
    feasible: bool
    objective: int
    optional_stops: bool = False
    stalled: bool = False


@dataclass(frozen=True, slots=True)
class RoutingPlan:
    routes: list[Route]
    unassigned: list[UnassignedStop]
    cost: float
    stats: SolverStats

    @property
    def distance_km(self) -> float:
        return sum(route.distance_km for route in self.routes)


# ---------------------------------------------------------------- conversions


def seconds_of(value: time) -> int:
    return value.hour * 3600 + value.minute * 60 + value.second


def time_of(seconds: int) -> time:
    seconds = max(0, min(int(seconds), DAY_END_S))
    return time(seconds // 3600, seconds // 60 % 60, seconds % 60)


def units_up(amount: float) -> int:
    # Rounded first so that 0.3 m³ is 300 litres, not 301.
    return math.ceil(round(amount, 6))


def units_down(amount: float) -> int:
    return math.floor(round(amount, 6))


def cost_scale(vehicles: Sequence[Vehicle]) -> float:
    """Solver cost units per metre for a vehicle costing 1 yuan per km (see the module docstring)."""
    prices = {v.cost_per_km for v in vehicles}
    if len(prices) <= 1:
        return 1 / prices.pop() if prices else 1.0
    return 10 / min(prices)


def minutes_to_s(minutes: float) -> int:
    return round(minutes * 60)


# ---------------------------------------------------------------- validation


def routing_validate_problem(*, problem: RoutingProblem) -> None:
    """Reject malformed input, naming the field; nothing is solved."""
    if problem.time_limit_s <= 0:
        raise ValidationFailed(_("The time limit must be positive."), field="time_limit_s")
    if problem.max_iterations is not None and problem.max_iterations <= 0:
        raise ValidationFailed(_("The iteration limit must be positive."), field="max_iterations")
    if problem.stall_iterations is not None and problem.stall_iterations <= 0:
        raise ValidationFailed(_("The iteration limit must be positive."), field="stall_iterations")
    if not problem.depots:
        raise ValidationFailed(_("At least one depot is needed."), field="depots")
    for label, ids in (
        ("depots", [d.id for d in problem.depots]),
        ("vehicles", [v.id for v in problem.vehicles]),
        ("stops", [s.id for s in problem.stops]),
    ):
        if len(set(ids)) != len(ids):
            raise ValidationFailed(_("Ids must be unique."), field=label)
    depot_ids = {d.id for d in problem.depots}
    for index, depot in enumerate(problem.depots):
        where = f"depots[{index}]"
        check_coordinates(depot.lat, depot.lon, where)
        if depot.closes is not None and depot.closes <= depot.opens:
            raise ValidationFailed(_("A depot must close after it opens."), field=f"{where}.closes")
        if depot.loading_minutes < 0:
            raise ValidationFailed(_("Loading time cannot be negative."), field=f"{where}.loading_minutes")
    for index, vehicle in enumerate(problem.vehicles):
        where = f"vehicles[{index}]"
        if vehicle.depot_id not in depot_ids:
            raise ValidationFailed(_("Unknown depot."), field=f"{where}.depot_id")
        if vehicle.payload_kg <= 0:
            raise ValidationFailed(_("Payload must be positive."), field=f"{where}.payload_kg")
        if vehicle.volume_m3 <= 0:
            raise ValidationFailed(_("Load space must be positive."), field=f"{where}.volume_m3")
        if vehicle.shift_end is not None and vehicle.shift_end <= vehicle.shift_start:
            raise ValidationFailed(_("A shift must end after it starts."), field=f"{where}.shift_end")
        if vehicle.max_shift_minutes is not None and vehicle.max_shift_minutes <= 0:
            raise ValidationFailed(_("Shift length must be positive."), field=f"{where}.max_shift_minutes")
        if vehicle.max_trips < 1:
            raise ValidationFailed(_("A vehicle makes at least one trip."), field=f"{where}.max_trips")
        if vehicle.cost_per_km <= 0:
            raise ValidationFailed(_("The cost per km must be positive."), field=f"{where}.cost_per_km")
        if vehicle.fixed_cost < 0:
            raise ValidationFailed(_("The fixed cost cannot be negative."), field=f"{where}.fixed_cost")
    for index, stop in enumerate(problem.stops):
        where = f"stops[{index}]"
        check_coordinates(stop.lat, stop.lon, where)
        if stop.demand_kg < 0:
            raise ValidationFailed(_("Demand cannot be negative."), field=f"{where}.demand_kg")
        if stop.volume_m3 < 0:
            raise ValidationFailed(_("Volume cannot be negative."), field=f"{where}.volume_m3")
        if stop.service_minutes < 0:
            raise ValidationFailed(_("Service time cannot be negative."), field=f"{where}.service_minutes")
        if stop.window_open is not None and stop.window_close is not None and stop.window_close < stop.window_open:
            raise ValidationFailed(_("A time window must close after it opens."), field=f"{where}.window_close")


def check_coordinates(lat: float, lon: float, where: str) -> None:
    if not -90 <= lat <= 90:
        raise ValidationFailed(_("Latitude must be between -90 and 90."), field=f"{where}.lat")
    if not -180 <= lon <= 180:
        raise ValidationFailed(_("Longitude must be between -180 and 180."), field=f"{where}.lon")


# ---------------------------------------------------------------- model building


@dataclass(frozen=True, slots=True)
class VehicleClass:
    """Solver-side attributes of a vehicle; vehicles with equal classes share one PyVRP vehicle type."""

    depot: int
    payload_kg: int
    volume_l: int
    cold_chain: bool
    start_s: int
    end_s: int
    shift_s: int | None
    max_trips: int
    unit_distance_cost: int
    fixed_cost: int


def vehicle_class(vehicle: Vehicle, depot_index: int, depot: Depot, scale: float) -> VehicleClass:
    start = max(seconds_of(vehicle.shift_start), seconds_of(depot.opens))
    end = min(
        seconds_of(vehicle.shift_end) if vehicle.shift_end is not None else DAY_END_S,
        seconds_of(depot.closes) if depot.closes is not None else DAY_END_S,
    )
    return VehicleClass(
        depot=depot_index,
        payload_kg=units_down(vehicle.payload_kg),
        volume_l=units_down(vehicle.volume_m3 * 1000),
        cold_chain=vehicle.cold_chain,
        start_s=start,
        end_s=end,
        shift_s=minutes_to_s(vehicle.max_shift_minutes) if vehicle.max_shift_minutes is not None else None,
        max_trips=vehicle.max_trips,
        unit_distance_cost=max(1, round(vehicle.cost_per_km * scale)),
        fixed_cost=round(vehicle.fixed_cost * 1000 * scale),
    )


@dataclass(frozen=True, slots=True)
class StopNeeds:
    demand_kg: int
    volume_l: int
    cold: bool
    open_s: int
    close_s: int
    service_s: int


def stop_needs(stop: Stop) -> StopNeeds:
    return StopNeeds(
        demand_kg=units_up(stop.demand_kg),
        volume_l=units_up(stop.volume_m3 * 1000),
        cold=stop.needs_cold_chain,
        open_s=seconds_of(stop.window_open) if stop.window_open is not None else 0,
        close_s=seconds_of(stop.window_close) if stop.window_close is not None else DAY_END_S,
        service_s=minutes_to_s(stop.service_minutes),
    )


def unservable_reason(
    needs: StopNeeds,
    location: int,
    classes: Sequence[VehicleClass],
    loading_s: Sequence[int],
    travel: TravelMatrix,
) -> UnassignedReason | None:
    """Why no vehicle could serve this stop even alone on an otherwise empty route, or None."""
    if not classes:
        return UnassignedReason.NO_VEHICLE
    fitting = [c for c in classes if c.cold_chain or not needs.cold]
    if not fitting:
        return UnassignedReason.NEEDS_COLD_CHAIN
    fitting = [c for c in fitting if c.payload_kg >= needs.demand_kg]
    if not fitting:
        return UnassignedReason.TOO_HEAVY
    fitting = [c for c in fitting if c.volume_l >= needs.volume_l]
    if not fitting:
        return UnassignedReason.TOO_BULKY
    for c in fitting:
        out = travel.duration_s[c.depot][location]
        back = travel.duration_s[location][c.depot]
        begin = max(c.start_s + loading_s[c.depot] + out, needs.open_s)
        busy = loading_s[c.depot] + out + needs.service_s + back
        fits_shift = c.shift_s is None or busy <= c.shift_s
        if begin <= needs.close_s and begin + needs.service_s + back <= c.end_s and fits_shift:
            return None
    return UnassignedReason.OUTSIDE_HOURS


@dataclass(slots=True)
class SolverModel:
    data: pyvrp.ProblemData
    type_vehicles: list[list[Vehicle]]
    served: list[int]  # problem stop index of each PyVRP client
    has_volume: bool
    has_cold: bool
    required: bool


def build_solver_model(
    problem: RoutingProblem,
    travel: TravelMatrix,
    classes: list[VehicleClass],
    needs: list[StopNeeds],
    served: list[int],
    *,
    required: bool,
) -> SolverModel:
    depots = problem.depots
    has_volume = any(needs[i].volume_l > 0 for i in served)
    has_cold = any(needs[i].cold for i in served)

    locations = [pyvrp.Location(x=d.lon, y=d.lat, name=d.id) for d in depots]
    locations += [
        pyvrp.Location(x=problem.stops[i].lon, y=problem.stops[i].lat, name=problem.stops[i].id) for i in served
    ]
    matrix_index = list(range(len(depots))) + [len(depots) + i for i in served]
    distance = np.asarray(travel.distance_m, dtype=np.int64)[np.ix_(matrix_index, matrix_index)]
    duration = np.asarray(travel.duration_s, dtype=np.int64)[np.ix_(matrix_index, matrix_index)]

    type_of: dict[VehicleClass, int] = {}
    type_vehicles: list[list[Vehicle]] = []
    for vehicle, cls in zip(problem.vehicles, classes, strict=True):
        if cls not in type_of:
            type_of[cls] = len(type_vehicles)
            type_vehicles.append([])
        type_vehicles[type_of[cls]].append(vehicle)

    # A chilled stop weighs COLD_UNIT in the cold dimension: PyVRP's load
    # penalty per unit is capped, and one unit of excess would be cheaper than
    # a detour, so the search would settle on chilled stops in ordinary vans.
    cold_capacity = COLD_UNIT * len(served)

    def load(kg: int, litres: int, cold: int) -> list[int]:
        return [kg] + ([litres] if has_volume else []) + ([cold] if has_cold else [])

    vehicle_types = []
    for cls, index in type_of.items():
        vehicle_types.append(
            pyvrp.VehicleType(
                num_available=len(type_vehicles[index]),
                capacity=load(cls.payload_kg, cls.volume_l, cold_capacity if cls.cold_chain else 0),
                start_depot=cls.depot,
                end_depot=cls.depot,
                fixed_cost=cls.fixed_cost,
                tw_early=cls.start_s,
                tw_late=cls.end_s,
                shift_duration=cls.shift_s if cls.shift_s is not None else np.iinfo(np.int64).max,
                unit_distance_cost=cls.unit_distance_cost,
                reload_depots=[cls.depot] if cls.max_trips > 1 else [],
                max_reloads=cls.max_trips - 1,
                name=",".join(v.id for v in type_vehicles[index]),
            )
        )

    # Serving a stop never costs more than a return trip from the farthest
    # depot plus one vehicle's fixed cost; a prize well above that keeps every
    # servable stop in the plan while still letting the solver drop stops
    # the fleet cannot take.
    longest = int(distance.max()) if distance.size else 0
    worst = max((c.unit_distance_cost for c in classes), default=1) * 2 * longest
    worst += max((c.fixed_cost for c in classes), default=0)
    prize = 10 * worst + 1000

    clients = [
        pyvrp.Client(
            location=len(depots) + position,
            delivery=load(needs[i].demand_kg, needs[i].volume_l, COLD_UNIT if needs[i].cold else 0),
            service_duration=needs[i].service_s,
            tw_early=needs[i].open_s,
            tw_late=needs[i].close_s,
            prize=0 if required else prize,
            required=required,
            name=problem.stops[i].id,
        )
        for position, i in enumerate(served)
    ]
    solver_depots = [
        pyvrp.Depot(
            location=index,
            tw_early=seconds_of(d.opens),
            tw_late=seconds_of(d.closes) if d.closes is not None else DAY_END_S,
            service_duration=minutes_to_s(d.loading_minutes),
            name=d.id,
        )
        for index, d in enumerate(depots)
    ]
    # PyVRP's stub spells the matrix type `ndarray[int]`, which no real array matches.
    data = pyvrp.ProblemData(
        locations,
        clients,
        solver_depots,
        vehicle_types,
        [distance],  # type: ignore[list-item]
        [duration],  # type: ignore[list-item]
    )
    return SolverModel(
        data=data,
        type_vehicles=type_vehicles,
        served=served,
        has_volume=has_volume,
        has_cold=has_cold,
        required=required,
    )


# PyVRP reports the cost of an infeasible best solution as a huge sentinel.
INFEASIBLE_COST = 1 << 62


class Budget:
    """Stops at the time or iteration limit; early (`give_up` of either) while nothing feasible is found;
    or, with `stall`, once a feasible best has not improved for that many iterations."""

    def __init__(
        self, *, seconds: float, iterations: int | None, give_up: float | None, stall: int | None = None
    ) -> None:
        self.seconds = seconds
        self.iterations = iterations
        self.give_up = give_up
        self.stall = stall
        self.started: float | None = None
        self.done = 0
        self.gave_up = False
        self.stalled = False
        self.best = INFEASIBLE_COST
        self.improved_at = 0

    def __call__(self, best_cost: int) -> bool:
        if self.started is None:
            self.started = time_now()
        elapsed = time_now() - self.started
        self.done += 1
        if best_cost < self.best:
            self.best, self.improved_at = best_cost, self.done
        if elapsed >= self.seconds or (self.iterations is not None and self.done > self.iterations):
            return True
        if self.stall is not None and self.best < INFEASIBLE_COST and self.done - self.improved_at >= self.stall:
            self.stalled = True
            return True
        if self.give_up is not None and best_cost >= INFEASIBLE_COST:
            late = elapsed >= self.give_up * self.seconds
            if late or (self.iterations is not None and self.done > self.give_up * self.iterations):
                self.gave_up = True
                return True
        return False

    def elapsed(self) -> float:
        return 0.0 if self.started is None else time_now() - self.started


def fleet_plainly_short(classes: list[VehicleClass], needs: list[StopNeeds]) -> bool:
    """Total demand above the whole fleet's capacity over all its trips, in any dimension."""
    kg = sum(n.demand_kg for n in needs)
    litres = sum(n.volume_l for n in needs)
    cold_kg = sum(n.demand_kg for n in needs if n.cold)
    room_kg = sum(c.payload_kg * c.max_trips for c in classes)
    room_litres = sum(c.volume_l * c.max_trips for c in classes)
    cold_room_kg = sum(c.payload_kg * c.max_trips for c in classes if c.cold_chain)
    return kg > room_kg or litres > room_litres or cold_kg > cold_room_kg


# ---------------------------------------------------------------- solving


def routing_solve(*, problem: RoutingProblem) -> RoutingPlan:
    """Plan routes for one day's stops.

    Validates the input, computes the travel matrix over depots then stops,
    sets aside stops no vehicle could serve (with the reason), runs PyVRP's
    iterated local search for the time budget with the given seed, and reads
    the best solution back into trips with arrival times and on-board loads.
    """
    routing_validate_problem(problem=problem)
    points = [GeoPoint(d.lat, d.lon) for d in problem.depots] + [GeoPoint(s.lat, s.lon) for s in problem.stops]
    travel = problem.distances.matrix(points)
    if travel.size != len(points):
        raise ValidationFailed(_("The distance source returned a matrix of the wrong size."), field="distances")

    depot_index = {d.id: i for i, d in enumerate(problem.depots)}
    scale = cost_scale(problem.vehicles)
    classes = [
        vehicle_class(v, depot_index[v.depot_id], problem.depots[depot_index[v.depot_id]], scale)
        for v in problem.vehicles
    ]
    loading_s = [minutes_to_s(d.loading_minutes) for d in problem.depots]
    needs = [stop_needs(s) for s in problem.stops]

    unassigned: dict[int, UnassignedReason] = {}
    served: list[int] = []
    for index, need in enumerate(needs):
        reason = unservable_reason(need, len(problem.depots) + index, classes, loading_s, travel)
        if reason is None:
            served.append(index)
        else:
            unassigned[index] = reason

    solver_name = f"pyvrp {version('pyvrp')}"
    if not served:
        stats = SolverStats(
            solver=solver_name, runtime_s=0.0, iterations=0, seed=problem.seed, feasible=True, objective=0
        )
        return RoutingPlan(routes=[], unassigned=unassigned_list(problem, unassigned), cost=0.0, stats=stats)

    iterations = 0
    runtime = 0.0
    model: SolverModel | None = None
    result: pyvrp.Result | None = None
    if not fleet_plainly_short(classes, [needs[i] for i in served]):
        model = build_solver_model(problem, travel, classes, needs, served, required=True)
        budget = Budget(
            seconds=problem.time_limit_s,
            iterations=problem.max_iterations,
            give_up=GIVE_UP,
            stall=problem.stall_iterations,
        )
        result = run_pyvrp(model, budget, problem.seed)
        iterations, runtime = result.num_iterations, budget.elapsed()
        if not result.best.is_feasible():
            model = result = None
    if model is None or result is None:
        model = build_solver_model(problem, travel, classes, needs, served, required=False)
        left = problem.max_iterations - iterations if problem.max_iterations is not None else None
        budget = Budget(
            seconds=max(problem.time_limit_s - runtime, 0.1),
            iterations=left,
            give_up=None,
            stall=problem.stall_iterations,
        )
        result = run_pyvrp(model, budget, problem.seed)
        iterations, runtime = iterations + result.num_iterations, runtime + budget.elapsed()
    solution = result.best
    routes = read_routes(problem, model, solution, unassigned)
    for activity in solution.unplanned():
        if activity.is_client():
            unassigned[model.served[activity.idx]] = UnassignedReason.FLEET_EXHAUSTED
    stats = SolverStats(
        solver=solver_name,
        runtime_s=round(runtime, 3),
        iterations=iterations,
        optional_stops=not model.required,
        seed=problem.seed,
        feasible=solution.is_feasible(),
        objective=int(solution.distance_cost() + solution.fixed_vehicle_cost()),
        stalled=budget.stalled,
    )
    cost = round(sum(route.cost for route in routes), 2)
    return RoutingPlan(routes=routes, unassigned=unassigned_list(problem, unassigned), cost=cost, stats=stats)


# Every plan runs against a time budget, and PyVRP's defaults (50 neighbours per client, a
# late-acceptance history of 300) are tuned for long runs: on the X benchmark at 60 s per
# instance the large instances ran out of time before the search settled. A narrower
# neighbourhood makes each local search cheaper, so more iterations fit, and a shorter history
# accepts less worsening. Below LARGE_PROBLEM_CLIENTS the defaults did as well or better: on the
# X instances of up to 256 clients, and on the county day's subdistricts (about 50 drops each),
# whose searches stop on STALL_ITERATIONS and carried 1.2 % less with the large-problem
# parameters for the same routing time. Measured in docs/benchmarks.md, "Routing quality".
LARGE_PROBLEM_CLIENTS = 300
LARGE_PROBLEM_PARAMS = pyvrp.SolveParams(
    ils=IteratedLocalSearchParams(history_length=100),
    neighbourhood=NeighbourhoodParams(num_neighbours=20),
)
SMALL_PROBLEM_PARAMS = pyvrp.SolveParams()


def solve_params(data: pyvrp.ProblemData) -> pyvrp.SolveParams:
    return LARGE_PROBLEM_PARAMS if data.num_clients >= LARGE_PROBLEM_CLIENTS else SMALL_PROBLEM_PARAMS


def run_pyvrp(model: SolverModel, budget: Budget, seed: int) -> pyvrp.Result:
    with warnings.catch_warnings():
        # Raised when the fleet cannot serve everyone; the plan reports that per stop instead.
        warnings.simplefilter("ignore", PenaltyBoundWarning)
        return pyvrp.solve(
            model.data, stop=budget, seed=seed, collect_stats=False, display=False, params=solve_params(model.data)
        )


def unassigned_list(problem: RoutingProblem, unassigned: dict[int, UnassignedReason]) -> list[UnassignedStop]:
    return [UnassignedStop(stop_id=problem.stops[i].id, reason=unassigned[i]) for i in sorted(unassigned)]


def read_routes(
    problem: RoutingProblem,
    model: SolverModel,
    solution: pyvrp.Solution,
    unassigned: dict[int, UnassignedReason],
) -> list[Route]:
    """Turn PyVRP routes into our routes; an infeasible route's stops become unassigned instead."""
    next_vehicle = [0] * len(model.type_vehicles)
    routes: list[Route] = []
    for solver_route in solution.routes():
        type_index = solver_route.vehicle_type()
        vehicle = model.type_vehicles[type_index][next_vehicle[type_index]]
        next_vehicle[type_index] += 1
        if not solver_route.is_feasible():
            for activity in solver_route.schedule():
                if activity.is_client():
                    unassigned[model.served[activity.idx]] = UnassignedReason.NO_FEASIBLE_ROUTE
            continue
        routes.append(read_route(problem, model, solver_route, vehicle))
    return routes


def read_route(
    problem: RoutingProblem,
    model: SolverModel,
    solver_route: pyvrp.Route,
    vehicle: Vehicle,
) -> Route:
    # The schedule is a flat list: depot (trip 0), clients, depot (reload,
    # opening trip 1), clients, ..., end depot. Split it at depots.
    schedule = list(solver_route.schedule())
    trips_raw: list[tuple[int, int, list[pyvrp.ScheduledActivity]]] = []
    for position, activity in enumerate(schedule):
        if activity.is_depot():
            if position < len(schedule) - 1:
                trips_raw.append((activity.idx, activity.end_time, []))
        elif activity.is_client():
            trips_raw[-1][2].append(activity)
    trips: list[Trip] = []
    for number, (depot, departs, visits) in enumerate(trips_raw):
        if not visits:
            continue
        stops = [problem.stops[model.served[a.idx]] for a in visits]
        on_board_kg = sum(s.demand_kg for s in stops)
        on_board_m3 = sum(s.volume_m3 for s in stops)
        trip_load = (round(on_board_kg, 3), round(on_board_m3, 3))
        stop_visits = []
        for activity, stop in zip(visits, stops, strict=True):
            stop_visits.append(
                StopVisit(
                    stop_id=stop.id,
                    arrival=time_of(activity.start_time - activity.wait_duration),
                    service_start=time_of(activity.start_time),
                    departure=time_of(activity.end_time),
                    load_kg=round(on_board_kg, 3),
                    load_m3=round(on_board_m3, 3),
                )
            )
            on_board_kg -= stop.demand_kg
            on_board_m3 -= stop.volume_m3
        next_depot = [a for a in schedule if a.is_depot() and a.trip == number + 1]
        returns = next_depot[0].start_time if next_depot else schedule[-1].start_time
        trips.append(
            Trip(
                depot_id=problem.depots[depot].id,
                departs=time_of(departs),
                returns=time_of(returns),
                load_kg=trip_load[0],
                load_m3=trip_load[1],
                stops=stop_visits,
            )
        )
    distance_km = solver_route.distance() / 1000
    cost = vehicle.fixed_cost + distance_km * vehicle.cost_per_km
    return Route(
        vehicle_id=vehicle.id,
        trips=trips,
        starts=time_of(solver_route.start_time()),
        ends=time_of(solver_route.end_time()),
        distance_km=round(distance_km, 3),
        duration_min=round(solver_route.duration() / 60, 1),
        cost=round(cost, 2),
    )
