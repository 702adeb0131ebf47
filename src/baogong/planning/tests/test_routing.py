from __future__ import annotations

import itertools
import math
from dataclasses import replace
from datetime import time

import pytest

from baogong.core.errors import ValidationFailed
from baogong.planning.distances import GeoPoint, GreatCircleSource, PrecomputedMatrix, TravelMatrix
from baogong.planning.routing import (
    INFEASIBLE_COST,
    Budget,
    Depot,
    RoutingPlan,
    RoutingProblem,
    Stop,
    UnassignedReason,
    UnassignedStop,
    Vehicle,
    routing_solve,
)
from baogong.planning.tests.plan_checker import plan_violations

# Around People's Square; 0.01° is about 1.1 km north-south and 0.95 km east-west.
LAT, LON = 31.2304, 121.4737
SOURCE = GreatCircleSource(detour_factor=1.3, speed_kmh=25)


def depot(depot_id: str = "D", dlat: float = 0.0, dlon: float = 0.0, **kwargs) -> Depot:
    return Depot(id=depot_id, lat=LAT + dlat, lon=LON + dlon, **kwargs)


def vehicle(vehicle_id: str = "V1", **kwargs) -> Vehicle:
    fields = {"depot_id": "D", "payload_kg": 1000.0, "volume_m3": 10.0, "shift_start": time(6), "shift_end": time(22)}
    fields.update(kwargs)
    return Vehicle(id=vehicle_id, **fields)


def stop(stop_id: str, dlat: float, dlon: float, **kwargs) -> Stop:
    fields = {"demand_kg": 100.0, "volume_m3": 1.0, "service_minutes": 10.0}
    fields.update(kwargs)
    return Stop(id=stop_id, lat=LAT + dlat, lon=LON + dlon, **fields)


def problem(depots, vehicles, stops, **kwargs) -> RoutingProblem:
    fields = {"distances": SOURCE, "time_limit_s": 1.0, "seed": 1}
    fields.update(kwargs)
    return RoutingProblem(depots=depots, vehicles=vehicles, stops=stops, **fields)


def travel_of(routing: RoutingProblem) -> TravelMatrix:
    points = [GeoPoint(d.lat, d.lon) for d in routing.depots] + [GeoPoint(s.lat, s.lon) for s in routing.stops]
    return routing.distances.matrix(points)


def solve_checked(routing: RoutingProblem) -> RoutingPlan:
    plan = routing_solve(problem=routing)
    assert plan_violations(routing, travel_of(routing), plan) == []
    return plan


def visits(plan: RoutingPlan) -> dict[str, list[list[str]]]:
    return {route.vehicle_id: [[v.stop_id for v in trip.stops] for trip in route.trips] for route in plan.routes}


def time_plus(value: time, *, minutes: int) -> time:
    total = value.hour * 60 + value.minute + minutes
    return time(total // 60, total % 60, value.second)


def served_by(plan: RoutingPlan) -> dict[str, list[str]]:
    return {vid: sorted(s for trip in trips for s in trip) for vid, trips in visits(plan).items()}


RING = [(0.02, 0.0), (0.015, 0.02), (-0.01, 0.025), (-0.02, -0.005), (0.0, -0.03), (0.01, -0.015)]


def brute_force_metres(travel: TravelMatrix, demands: list[float], capacity: float, fleet: int) -> int:
    """Cheapest split of every stop order into at most `fleet` capacity-feasible routes from depot 0."""
    best = math.inf
    n = len(demands)
    for order in itertools.permutations(range(1, n + 1)):
        for cuts in range(fleet):
            for points in itertools.combinations(range(1, n), cuts):
                bounds = [0, *points, n]
                routes = [order[a:b] for a, b in itertools.pairwise(bounds)]
                if any(sum(demands[i - 1] for i in r) > capacity for r in routes):
                    continue
                metres = 0
                for r in routes:
                    path = [0, *r, 0]
                    metres += sum(travel.distance_m[a][b] for a, b in itertools.pairwise(path))
                best = min(best, metres)
    return int(best)


class TestOptimum:
    def test_six_stops_two_vehicles_match_brute_force(self):
        # Given six stops of 100-300 kg around one depot and two 600-kg vehicles
        demands = [100.0, 300.0, 200.0, 250.0, 150.0, 200.0]
        stops = [stop(f"S{i}", *RING[i], demand_kg=d) for i, d in enumerate(demands)]
        routing = problem([depot()], [vehicle("V1", payload_kg=600), vehicle("V2", payload_kg=600)], stops)
        # When solved
        plan = solve_checked(routing)
        # Then the distance equals the optimum found by enumeration
        optimum = brute_force_metres(travel_of(routing), demands, 600, 2)
        assert round(plan.distance_km * 1000) == optimum
        assert plan.unassigned == []
        assert plan.cost == pytest.approx(optimum / 1000, abs=0.01)
        assert plan.stats.optional_stops is False

    def test_precomputed_integer_matrix_is_used_as_given(self):
        # Given a matrix where going round 1 → 2 → 3 is cheap only in one direction
        distance = [[0, 10, 50, 50], [50, 0, 10, 50], [50, 50, 0, 10], [10, 50, 50, 0]]
        travel = TravelMatrix(distance_m=distance, duration_s=[[0] * 4 for _ in range(4)])
        stops = [stop(f"S{i}", 0, 0, demand_kg=1) for i in range(1, 4)]
        routing = problem([depot()], [vehicle()], stops, distances=PrecomputedMatrix(travel))
        # When solved, then the plan follows the cheap direction: 40 m in all
        plan = solve_checked(routing)
        assert visits(plan) == {"V1": [["S1", "S2", "S3"]]}
        assert plan.distance_km == 0.04


class TestConstraints:
    def test_weight_and_volume_both_bind_and_are_never_exceeded(self):
        # Given four heavy-but-small and four light-but-bulky stops, and 500 kg / 4 m³ vehicles:
        # two of each fill a vehicle exactly in both dimensions
        ring = [(0.02 * math.cos(k * math.pi / 4), 0.02 * math.sin(k * math.pi / 4)) for k in range(8)]
        heavy = [stop(f"H{i}", *ring[2 * i], demand_kg=240, volume_m3=0.1) for i in range(4)]
        bulky = [stop(f"B{i}", *ring[2 * i + 1], demand_kg=10, volume_m3=1.9) for i in range(4)]
        fleet = [vehicle(f"V{i}", payload_kg=500, volume_m3=4) for i in range(4)]
        # When solved
        plan = solve_checked(problem([depot()], fleet, heavy + bulky))
        # Then two vehicles carry everything, each loaded to the limit in both dimensions
        assert plan.unassigned == []
        assert len(plan.routes) == 2
        for route in plan.routes:
            (trip,) = route.trips
            assert trip.load_kg == 500
            assert trip.load_m3 == pytest.approx(4.0)

    @pytest.mark.parametrize(
        ("chilled", "expected"),
        [
            (True, {"VAN": ["DRY1", "DRY2"], "COLD": ["ICE"]}),
            (False, {"VAN": ["DRY1", "DRY2", "ICE"]}),
        ],
    )
    def test_chilled_stops_only_on_cold_chain_vehicles(self, chilled, expected):
        # Given a cheap ordinary van that could carry everything, and a dearer cold-chain van with room for one stop
        fleet = [
            vehicle("VAN", payload_kg=1000, cost_per_km=1.0),
            vehicle("COLD", payload_kg=100, cold_chain=True, cost_per_km=2.0),
        ]
        stops = [stop("DRY1", *RING[0]), stop("ICE", *RING[1], needs_cold_chain=chilled), stop("DRY2", *RING[2])]
        # When solved
        plan = solve_checked(problem([depot()], fleet, stops))
        # Then the chilled stop, and only it, goes on the cold-chain van; unchilled, the van takes all three
        assert served_by(plan) == expected

    def test_gate_time_windows_set_the_order(self):
        # Given three stops on a line whose windows ask for the far one first
        stops = [
            stop("NEAR", 0.01, 0, window_open=time(10), window_close=time(10, 30)),
            stop("MID", 0.02, 0, window_open=time(9), window_close=time(9, 30)),
            stop("FAR", 0.03, 0, window_open=time(8), window_close=time(8, 30)),
        ]
        routing = problem([depot()], [vehicle(shift_start=time(7))], stops)
        # When solved
        plan = solve_checked(routing)
        # Then the visits follow the windows and each service starts inside its window
        assert visits(plan) == {"V1": [["FAR", "MID", "NEAR"]]}
        trip = plan.routes[0].trips[0]
        windows = [(s.window_open, s.window_close) for s in stops[::-1]]
        assert all(o <= v.service_start <= c for v, (o, c) in zip(trip.stops, windows, strict=True))
        assert trip.stops[2].service_start == time(10)  # the window opens after any earlier arrival

    def test_shift_length_splits_the_work_between_drivers(self):
        # Given 6 stops × 60 min service and 4-hour shifts
        stops = [stop(f"S{i}", *RING[i], service_minutes=60) for i in range(6)]
        fleet = [vehicle(f"V{i}", max_shift_minutes=240) for i in range(3)]
        # When solved
        plan = solve_checked(problem([depot()], fleet, stops))
        # Then no route exceeds four hours, and so at least two vehicles are used
        assert plan.unassigned == []
        assert all(route.duration_min <= 240 for route in plan.routes)
        assert len(plan.routes) == 2

    def test_several_trips_when_one_load_cannot_carry_everything(self):
        # Given one 300-kg van allowed three trips and 800 kg to deliver
        stops = [stop(f"S{i}", *RING[i], demand_kg=d) for i, d in enumerate([200, 150, 150, 100, 100, 100])]
        routing = problem([depot(loading_minutes=15)], [vehicle(payload_kg=300, max_trips=3)], stops)
        # When solved
        plan = solve_checked(routing)
        # Then it comes back to reload: three trips, nothing left behind, 15 min loading before each trip
        assert plan.unassigned == []
        (route,) = plan.routes
        assert len(route.trips) == 3
        assert sum(trip.load_kg for trip in route.trips) == 800
        assert max(trip.load_kg for trip in route.trips) <= 300
        assert route.trips[1].departs == time_plus(route.trips[0].returns, minutes=15)
        assert all(trip.depot_id == "D" for trip in route.trips)

    def test_a_single_trip_leaves_what_does_not_fit_unassigned(self):
        # Given the same van allowed one trip only
        stops = [stop(f"S{i}", *RING[i], demand_kg=d) for i, d in enumerate([200, 150, 150, 100, 100, 100])]
        plan = solve_checked(problem([depot()], [vehicle(payload_kg=300, max_trips=1)], stops))
        # Then it carries a full load and the rest is reported as beyond the fleet
        (route,) = plan.routes
        assert route.trips[0].load_kg == 300.0
        served = {v.stop_id for v in route.trips[0].stops}
        assert {u.stop_id for u in plan.unassigned} == {f"S{i}" for i in range(6)} - served
        assert {u.reason for u in plan.unassigned} == {UnassignedReason.FLEET_EXHAUSTED}
        assert plan.stats.optional_stops is True  # capacity plainly short: straight to optional stops

    def test_time_shortage_falls_back_to_optional_stops(self):
        # Given enough payload but a 3-hour shift for six one-hour deliveries
        stops = [stop(f"S{i}", *RING[i], service_minutes=60) for i in range(6)]
        plan = solve_checked(problem([depot()], [vehicle(max_shift_minutes=180)], stops))
        # Then the van does what fits in its shift and the rest is reported as beyond the fleet
        (route,) = plan.routes
        assert len(route.trips[0].stops) == 2
        assert [u.reason for u in plan.unassigned] == [UnassignedReason.FLEET_EXHAUSTED] * 4
        assert plan.stats.optional_stops is True
        assert plan.stats.runtime_s <= 1.1

    def test_depots_serve_their_own_neighbourhoods(self):
        # Given two depots 11 km apart, each with one van, and two stops beside each
        west, east = depot("WEST"), depot("EAST", dlon=0.12)
        fleet = [vehicle("VW", depot_id="WEST"), vehicle("VE", depot_id="EAST")]
        stops = [stop("W1", 0.005, 0), stop("W2", -0.005, 0), stop("E1", 0.005, 0.12), stop("E2", -0.005, 0.12)]
        plan = solve_checked(problem([west, east], fleet, stops))
        assert served_by(plan) == {"VW": ["W1", "W2"], "VE": ["E1", "E2"]}


class TestUnassigned:
    def test_each_unservable_stop_has_its_reason(self):
        # Given an ordinary 500-kg / 3-m³ van working 08:00-12:00
        fleet = [vehicle(payload_kg=500, volume_m3=3, shift_start=time(8), shift_end=time(12))]
        stops = [
            stop("OK", *RING[0]),
            stop("CHILLED", *RING[1], needs_cold_chain=True),
            stop("HEAVY", *RING[2], demand_kg=501),
            stop("BULKY", *RING[3], volume_m3=3.5),
            stop("EVENING", *RING[4], window_open=time(18), window_close=time(19)),
        ]
        # When solved
        plan = solve_checked(problem([depot()], fleet, stops))
        # Then only OK is delivered and every other stop says why not
        assert visits(plan) == {"V1": [["OK"]]}
        assert plan.unassigned == [
            UnassignedStop("CHILLED", UnassignedReason.NEEDS_COLD_CHAIN),
            UnassignedStop("HEAVY", UnassignedReason.TOO_HEAVY),
            UnassignedStop("BULKY", UnassignedReason.TOO_BULKY),
            UnassignedStop("EVENING", UnassignedReason.OUTSIDE_HOURS),
        ]

    def test_no_vehicles_leaves_every_stop_unassigned(self):
        plan = routing_solve(problem=problem([depot()], [], [stop("A", *RING[0])]))
        assert plan.routes == []
        assert plan.unassigned == [UnassignedStop("A", UnassignedReason.NO_VEHICLE)]
        assert plan.cost == 0.0

    def test_no_stops_gives_an_empty_plan(self):
        plan = routing_solve(problem=problem([depot()], [vehicle()], []))
        assert (plan.routes, plan.unassigned, plan.cost) == ([], [], 0.0)


def thirty_stops_four_vans() -> tuple[list[Vehicle], list[Stop]]:
    """Four 400 kg vans with two trips each, and 30 stops of 50-128 kg around the depot."""
    stops = [
        stop(f"S{i}", 0.05 * math.sin(i * 2.1), 0.05 * math.cos(i * 1.3), demand_kg=50 + 13 * (i % 7))
        for i in range(30)
    ]
    return [vehicle(f"V{i}", payload_kg=400, max_trips=2) for i in range(4)], stops


class TestDeterminism:
    def test_same_seed_same_plan(self):
        # Given a 30-stop instance solved twice with an iteration limit (not wall-clock)
        routing = problem([depot()], *thirty_stops_four_vans(), time_limit_s=30, max_iterations=300, seed=7)
        first, second = routing_solve(problem=routing), routing_solve(problem=routing)
        assert plan_violations(routing, travel_of(routing), first) == []
        assert first.routes == second.routes
        assert first.unassigned == second.unassigned
        assert first.stats.iterations == second.stats.iterations == 300
        assert first.stats.stalled is False

    def test_stall_ends_the_search_long_before_the_time_limit(self):
        # Given 30 stops and a 30 s limit, but a stop after 200 iterations without a better plan
        routing = problem([depot()], *thirty_stops_four_vans(), time_limit_s=30, stall_iterations=200, seed=7)
        plan = routing_solve(problem=routing)
        again = routing_solve(problem=routing)
        assert plan_violations(routing, travel_of(routing), plan) == []
        assert plan.unassigned == []
        # It stopped on the stall, not on the clock: reproducibly, after at least the stall itself.
        assert (plan.stats.stalled, plan.stats.runtime_s < 30) == (True, True)
        assert plan.stats.iterations >= 200
        assert (again.routes, again.stats.iterations) == (plan.routes, plan.stats.iterations)


class TestBudget:
    def test_stall_counts_only_after_a_feasible_best(self):
        budget = Budget(seconds=60, iterations=None, give_up=None, stall=3)
        # An infeasible best (the sentinel) never stalls; the first feasible one starts the count.
        assert [budget(INFEASIBLE_COST) for _ in range(10)] == [False] * 10
        assert [budget(500), budget(500), budget(500), budget(500)] == [False, False, False, True]
        assert (budget.stalled, budget.done, budget.improved_at) == (True, 14, 11)

    def test_an_improvement_restarts_the_count(self):
        budget = Budget(seconds=60, iterations=None, give_up=None, stall=2)
        assert [budget(900), budget(900), budget(800), budget(800), budget(800)] == [False, False, False, False, True]

    def test_without_stall_only_the_limits_stop(self):
        budget = Budget(seconds=60, iterations=5, give_up=None)
        assert [budget(100) for _ in range(6)] == [False] * 5 + [True]
        assert budget.stalled is False


class TestValidation:
    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"stops": [stop("A", 0, 0), stop("A", 0, 0)]}, "stops"),
            ({"vehicles": [vehicle(depot_id="NOWHERE")]}, "vehicles[0].depot_id"),
            ({"vehicles": [vehicle(payload_kg=0)]}, "vehicles[0].payload_kg"),
            ({"vehicles": [vehicle(max_trips=0)]}, "vehicles[0].max_trips"),
            ({"vehicles": [vehicle(shift_start=time(10), shift_end=time(9))]}, "vehicles[0].shift_end"),
            ({"stops": [stop("A", 0, 0, demand_kg=-1)]}, "stops[0].demand_kg"),
            ({"stops": [stop("A", 0, 0, window_open=time(9), window_close=time(8))]}, "stops[0].window_close"),
            ({"stops": [Stop(id="A", lat=95, lon=0, demand_kg=1)]}, "stops[0].lat"),
            ({"depots": []}, "depots"),
            ({"time_limit_s": 0}, "time_limit_s"),
            ({"stall_iterations": 0}, "stall_iterations"),
        ],
    )
    def test_bad_input_names_the_field(self, change, field):
        routing = replace(problem([depot()], [vehicle()], [stop("A", 0, 0)]), **change)
        with pytest.raises(ValidationFailed) as caught:
            routing_solve(problem=routing)
        assert caught.value.field == field

    def test_precomputed_matrix_of_the_wrong_size_is_refused(self):
        travel = TravelMatrix(distance_m=[[0]], duration_s=[[0]])
        with pytest.raises(ValueError, match="precomputed matrix has 1 points, the problem has 2"):
            routing_solve(
                problem=problem([depot()], [vehicle()], [stop("A", 0, 0)], distances=PrecomputedMatrix(travel))
            )


def test_solves_run_with_pyvrps_defaults_for_small_problems_and_the_tuned_parameters_for_large(monkeypatch):
    import pyvrp

    from baogong.planning import routing

    used = []
    solve = pyvrp.solve

    def recording_solve(data, **kwargs):
        used.append((data.num_clients, kwargs["params"]))
        return solve(data, **kwargs)

    monkeypatch.setattr(pyvrp, "solve", recording_solve)
    # A grid of 300 small drops 0.001° apart around the depot: a few vehicles serve them all.
    grid = [
        stop(f"G{i}", (i // 20 - 7) * 0.001, (i % 20 - 10) * 0.001, demand_kg=10.0, volume_m3=0.1, service_minutes=1.0)
        for i in range(300)
    ]
    fleet = [vehicle(f"V{i}") for i in range(4)]

    solve_checked(problem([depot()], [vehicle()], [stop(f"S{i}", dlat, dlon) for i, (dlat, dlon) in enumerate(RING)]))
    solve_checked(problem([depot()], fleet, grid, max_iterations=20))
    solve_checked(problem([depot()], fleet, grid[:299], max_iterations=20))

    assert [(clients, params) for clients, params in used] == [
        (6, routing.SMALL_PROBLEM_PARAMS),
        (300, routing.LARGE_PROBLEM_PARAMS),
        (299, routing.SMALL_PROBLEM_PARAMS),
    ]
    assert [(p.neighbourhood.num_neighbours, p.ils.history_length) for _, p in used] == [
        (50, 300),
        (20, 100),
        (50, 300),
    ]
