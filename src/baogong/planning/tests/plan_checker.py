"""An independent feasibility check of a routing plan.

Shares no code with the adapter: it replays every route from the problem's
own numbers (kilograms, cubic metres, minutes, time-of-day) and the travel
matrix, and lists every rule the plan breaks. An empty list means feasible.
"""

from __future__ import annotations

from datetime import time

from baogong.planning.distances import TravelMatrix
from baogong.planning.routing import RoutingPlan, RoutingProblem

EPS = 1e-6


def secs(value: time | None, default: int) -> int:
    return default if value is None else value.hour * 3600 + value.minute * 60 + value.second


def plan_violations(problem: RoutingProblem, travel: TravelMatrix, plan: RoutingPlan) -> list[str]:
    problems: list[str] = []
    depot_at = {d.id: i for i, d in enumerate(problem.depots)}
    depots = {d.id: d for d in problem.depots}
    vehicles = {v.id: v for v in problem.vehicles}
    stops = {s.id: s for s in problem.stops}
    stop_at = {s.id: len(problem.depots) + i for i, s in enumerate(problem.stops)}

    seen = [visit.stop_id for route in plan.routes for trip in route.trips for visit in trip.stops]
    seen += [u.stop_id for u in plan.unassigned]
    if sorted(seen) != sorted(stops):
        problems.append(f"stops not covered exactly once: {sorted(seen)} vs {sorted(stops)}")
    used = [route.vehicle_id for route in plan.routes]
    if len(set(used)) != len(used) or not set(used) <= set(vehicles):
        problems.append(f"vehicles used twice or unknown: {used}")

    total_cost = 0.0
    for route in plan.routes:
        vehicle = vehicles[route.vehicle_id]
        depot = depots[vehicle.depot_id]
        home = depot_at[vehicle.depot_id]
        where = f"vehicle {vehicle.id}"
        if not route.trips or any(not trip.stops for trip in route.trips):
            problems.append(f"{where}: empty route or trip")
            continue
        if len(route.trips) > vehicle.max_trips:
            problems.append(f"{where}: {len(route.trips)} trips > {vehicle.max_trips}")
        start = secs(route.starts, 0)
        if start < max(secs(vehicle.shift_start, 0), secs(depot.opens, 0)):
            problems.append(f"{where}: starts {route.starts} before its shift or the depot opens")
        clock = start
        metres = 0
        loading = round(depot.loading_minutes * 60)
        for number, trip in enumerate(route.trips):
            if trip.depot_id != vehicle.depot_id:
                problems.append(f"{where}: trip {number} loads at {trip.depot_id}, not its home depot")
            clock += loading
            if secs(trip.departs, 0) != clock:
                problems.append(f"{where}: trip {number} departs {trip.departs}, replay says {clock} s")
            on_board_kg = sum(stops[v.stop_id].demand_kg for v in trip.stops)
            on_board_m3 = sum(stops[v.stop_id].volume_m3 for v in trip.stops)
            if on_board_kg > vehicle.payload_kg + EPS:
                problems.append(f"{where}: trip {number} carries {on_board_kg} kg > {vehicle.payload_kg}")
            if on_board_m3 > vehicle.volume_m3 + EPS:
                problems.append(f"{where}: trip {number} carries {on_board_m3} m³ > {vehicle.volume_m3}")
            here = home
            for visit in trip.stops:
                stop = stops[visit.stop_id]
                there = stop_at[stop.id]
                if stop.needs_cold_chain and not vehicle.cold_chain:
                    problems.append(f"{where}: chilled stop {stop.id} on an ordinary vehicle")
                if abs(visit.load_kg - on_board_kg) > 1e-3 or abs(visit.load_m3 - on_board_m3) > 1e-3:
                    problems.append(f"{where}: load at {stop.id} reported {visit.load_kg}/{visit.load_m3}")
                metres += travel.distance_m[here][there]
                clock += travel.duration_s[here][there]
                if secs(visit.arrival, 0) != clock:
                    problems.append(f"{where}: arrival at {stop.id} reported {visit.arrival}, replay {clock} s")
                clock = max(clock, secs(stop.window_open, 0))
                if secs(visit.service_start, 0) != clock:
                    problems.append(f"{where}: service at {stop.id} reported {visit.service_start}, replay {clock}")
                if clock > secs(stop.window_close, 24 * 3600):
                    problems.append(f"{where}: reaches {stop.id} at {clock} s, after its window closes")
                clock += round(stop.service_minutes * 60)
                on_board_kg -= stop.demand_kg
                on_board_m3 -= stop.volume_m3
                here = there
            metres += travel.distance_m[here][home]
            clock += travel.duration_s[here][home]
            if secs(trip.returns, 0) != clock:
                problems.append(f"{where}: trip {number} returns {trip.returns}, replay {clock} s")
        if secs(route.ends, 0) != clock:
            problems.append(f"{where}: ends {route.ends}, replay {clock} s")
        if clock > min(secs(vehicle.shift_end, 24 * 3600), secs(depot.closes, 24 * 3600)):
            problems.append(f"{where}: back at {clock} s, after its shift or the depot closes")
        if vehicle.max_shift_minutes is not None and clock - start > vehicle.max_shift_minutes * 60:
            problems.append(f"{where}: on duty {(clock - start) / 60} min > {vehicle.max_shift_minutes}")
        if abs(route.distance_km - metres / 1000) > 1e-3:
            problems.append(f"{where}: {route.distance_km} km reported, replay {metres / 1000}")
        cost = vehicle.fixed_cost + metres / 1000 * vehicle.cost_per_km
        if abs(route.cost - cost) > 0.01:
            problems.append(f"{where}: cost {route.cost} reported, replay {cost}")
        total_cost += cost
    if abs(plan.cost - total_cost) > 0.01 * max(1, len(plan.routes)):
        problems.append(f"plan cost {plan.cost} reported, replay {total_cost}")
    return problems
