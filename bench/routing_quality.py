"""Benchmark: routing quality of the project's PyVRP adapter against best-known solutions and OR-Tools.

    python bench/routing_quality.py                          # X and Solomon, 60 s per instance
    python bench/routing_quality.py --sets solomon --time-limit 30
    python bench/routing_quality.py --instances X-n101-k25,C101 --time-limit 10
    python bench/routing_quality.py --sets X --against defaults  # the planner's PyVRP parameters vs PyVRP's own
    python bench/routing_quality.py --sets X --against variant --variant max_perturbations=20
                                    # the planner's large-problem parameters vs the same with one changed

For every instance the two solvers run at the same time, each in its own
process pinned to its own core, with the same wall-clock limit:
- ours: `baogong.planning.routing.routing_solve` — the same adapter and
  solver configuration the planner uses — fed the instance's integer matrix
  through `PrecomputedMatrix` (integer distances as metres, Solomon's scaled
  times as seconds, demands as kilograms, 1 per metre per vehicle);
- OR-Tools routing with PATH_CHEAPEST_ARC then GUIDED_LOCAL_SEARCH. Its fleet
  must be finite: the X set's `k` plus 10 % (at least 2) spare vehicles;
  Solomon's VEHICLE NUMBER. On Solomon every visit is droppable at a large
  penalty, because its first-solution heuristic otherwise fails on tight
  windows; a solution that drops visits counts as a failure.

Both answers are verified by one independent checker (bench/vrp_instances.py)
that recomputes the cost with the CVRPLIB conventions; BKS comes from
`bks.csv`. Needs the `bench` extra (ortools).
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import statistics
import sys
import time as clock
from dataclasses import dataclass
from datetime import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from vrp_instances import Instance, check_solution, load_instances  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "benchmarks" / "vrp"
DROP_PENALTY = 10_000_000


@dataclass(frozen=True)
class Outcome:
    solver: str
    routes: list[list[int]] | None
    seconds: float
    note: str = ""


def pin_to_core(core: int) -> None:
    if hasattr(os, "sched_setaffinity") and core < (os.cpu_count() or 1):
        os.sched_setaffinity(0, {core})


def clock_time(seconds: int) -> time:
    return time(seconds // 3600, seconds // 60 % 60, seconds % 60)


def setup_django() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "baogong.config.settings.test")
    django.setup()


def solve_ours(instance: Instance, time_limit: float, seed: int) -> Outcome:
    setup_django()
    from baogong.planning.distances import PrecomputedMatrix, TravelMatrix
    from baogong.planning.routing import Depot, RoutingProblem, Stop, Vehicle, routing_solve

    timed = instance.ready is not None and instance.due is not None and instance.service is not None
    n = instance.clients
    durations = instance.distance if timed else [[0] * (n + 1) for _ in range(n + 1)]
    horizon = instance.due[0] if instance.due is not None else None
    fleet = instance.max_vehicles if instance.max_vehicles is not None else n
    depot = Depot(id="0", lat=0.0, lon=0.0, closes=clock_time(horizon) if horizon is not None else None)
    vehicles = [
        Vehicle(
            id=f"v{k}",
            depot_id="0",
            payload_kg=instance.capacity,
            volume_m3=1.0,
            shift_start=time(0),
            shift_end=clock_time(horizon) if horizon is not None else None,
            cost_per_km=1.0,
        )
        for k in range(fleet)
    ]
    stops = [
        Stop(
            id=str(c),
            lat=0.0,
            lon=0.0,
            demand_kg=instance.demand[c],
            service_minutes=instance.service[c] / 60 if instance.service is not None else 0.0,
            window_open=clock_time(instance.ready[c]) if instance.ready is not None else None,
            window_close=clock_time(instance.due[c]) if instance.due is not None else None,
        )
        for c in range(1, n + 1)
    ]
    travel = TravelMatrix(distance_m=instance.distance, duration_s=durations)
    problem = RoutingProblem(
        depots=[depot],
        vehicles=vehicles,
        stops=stops,
        distances=PrecomputedMatrix(travel),
        time_limit_s=time_limit,
        seed=seed,
    )
    started = clock.perf_counter()
    plan = routing_solve(problem=problem)
    seconds = clock.perf_counter() - started
    if plan.unassigned:
        return Outcome("ours", None, seconds, f"{len(plan.unassigned)} stops unassigned")
    routes = [[int(v.stop_id) for trip in route.trips for v in trip.stops] for route in plan.routes]
    return Outcome("ours", routes, seconds)


def solve_ortools(instance: Instance, time_limit: float) -> Outcome:
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    n = instance.clients
    if instance.max_vehicles is not None:
        fleet = instance.max_vehicles
    else:
        k = instance.min_routes or math.ceil(sum(instance.demand) / instance.capacity)
        fleet = k + max(2, math.ceil(0.1 * k))
    manager = pywrapcp.RoutingIndexManager(n + 1, fleet, 0)
    model = pywrapcp.RoutingModel(manager)
    dist = instance.distance

    def distance(i: int, j: int) -> int:
        return dist[manager.IndexToNode(i)][manager.IndexToNode(j)]

    arc = model.RegisterTransitCallback(distance)
    model.SetArcCostEvaluatorOfAllVehicles(arc)

    def demand(i: int) -> int:
        return instance.demand[manager.IndexToNode(i)]

    model.AddDimensionWithVehicleCapacity(
        model.RegisterUnaryTransitCallback(demand), 0, [instance.capacity] * fleet, True, "load"
    )
    if instance.ready is not None and instance.due is not None and instance.service is not None:
        ready, due, service = instance.ready, instance.due, instance.service

        def travel(i: int, j: int) -> int:
            a, b = manager.IndexToNode(i), manager.IndexToNode(j)
            return service[a] + dist[a][b]

        horizon = due[0]
        model.AddDimension(model.RegisterTransitCallback(travel), horizon, horizon, False, "time")
        times = model.GetDimensionOrDie("time")
        for node in range(1, n + 1):
            times.CumulVar(manager.NodeToIndex(node)).SetRange(ready[node], due[node])
            model.AddDisjunction([manager.NodeToIndex(node)], DROP_PENALTY)
        for vehicle in range(fleet):
            times.CumulVar(model.Start(vehicle)).SetRange(ready[0], due[0])
            times.CumulVar(model.End(vehicle)).SetRange(ready[0], due[0])
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(int(time_limit * 1000))
    started = clock.perf_counter()
    solution = model.SolveWithParameters(params)
    seconds = clock.perf_counter() - started
    if solution is None:
        return Outcome("ortools", None, seconds, "no solution")
    routes: list[list[int]] = []
    for vehicle in range(fleet):
        index = solution.Value(model.NextVar(model.Start(vehicle)))
        route = []
        while not model.IsEnd(index):
            route.append(manager.IndexToNode(index))
            index = solution.Value(model.NextVar(index))
        if route:
            routes.append(route)
    return Outcome("ortools", routes, seconds)


def solve_with_pyvrp_defaults(instance: Instance, time_limit: float, seed: int) -> Outcome:
    """The same adapter with PyVRP's own default parameters instead of the planner's."""
    import pyvrp

    setup_django()
    from baogong.planning import routing

    routing.LARGE_PROBLEM_PARAMS = routing.SMALL_PROBLEM_PARAMS = pyvrp.SolveParams()
    return solve_ours(instance, time_limit, seed)


VARIANT_KEYS = ("neighbours", "history", "min_perturbations", "max_perturbations", "exhaustive_on_best")


def parse_variant(text: str) -> dict[str, int]:
    """`key=value,...` over VARIANT_KEYS, integers (exhaustive_on_best 0 or 1)."""
    values: dict[str, int] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        key, _, value = item.partition("=")
        boolean = key == "exhaustive_on_best"
        if key not in VARIANT_KEYS or not value.strip().isdigit() or (boolean and value.strip() not in ("0", "1")):
            expected = f"{', '.join(VARIANT_KEYS)}=<integer>, exhaustive_on_best 0 or 1"
            raise argparse.ArgumentTypeError(f"--variant: {item!r}; expected {expected}")
        values[key] = int(value)
    return values


def solve_with_variant(instance: Instance, time_limit: float, seed: int, variant: dict[str, int]) -> Outcome:
    """The same adapter with the planner's large-problem parameters changed as `variant` says.

    Like the planner's own, the variant applies from LARGE_PROBLEM_CLIENTS clients up; smaller
    instances run with the planner's small-problem parameters on both sides.
    """
    import dataclasses

    import pyvrp
    from pyvrp.search import NeighbourhoodParams, PerturbationParams

    setup_django()
    from baogong.planning import routing

    base = routing.LARGE_PROBLEM_PARAMS
    routing.LARGE_PROBLEM_PARAMS = pyvrp.SolveParams(
        ils=dataclasses.replace(
            base.ils,
            history_length=variant.get("history", base.ils.history_length),
            exhaustive_on_best=bool(variant.get("exhaustive_on_best", base.ils.exhaustive_on_best)),
        ),
        penalty=base.penalty,
        neighbourhood=NeighbourhoodParams(
            weight_wait_time=base.neighbourhood.weight_wait_time,
            num_neighbours=variant.get("neighbours", base.neighbourhood.num_neighbours),
            symmetric_proximity=base.neighbourhood.symmetric_proximity,
        ),
        operators=base.operators,
        perturbation=PerturbationParams(
            min_perturbations=variant.get("min_perturbations", base.perturbation.min_perturbations),
            max_perturbations=variant.get("max_perturbations", base.perturbation.max_perturbations),
        ),
    )
    return solve_ours(instance, time_limit, seed)


def run_one(job: tuple[str, Instance, float, int, int, dict[str, int]]) -> Outcome:
    solver, instance, time_limit, seed, core, variant = job
    pin_to_core(core)
    try:
        if solver == "ours":
            return solve_ours(instance, time_limit, seed)
        if solver == "defaults":
            return solve_with_pyvrp_defaults(instance, time_limit, seed)
        if solver == "variant":
            return solve_with_variant(instance, time_limit, seed, variant)
        return solve_ortools(instance, time_limit)
    except Exception as exc:  # a crash in one solver must not lose the other's result
        return Outcome(solver, None, 0.0, f"{type(exc).__name__}: {exc}")


def verified_cost(instance: Instance, outcome: Outcome) -> tuple[float | None, str]:
    if outcome.routes is None:
        return None, outcome.note
    try:
        return check_solution(instance, outcome.routes) / instance.scale, ""
    except ValueError as exc:
        return None, f"infeasible: {exc}"


def gap(cost: float | None, bks: float) -> float | None:
    return None if cost is None else 100 * (cost - bks) / bks


def cell(value: float | None, digits: int = 2, suffix: str = "") -> str:
    return "failed" if value is None else f"{value:.{digits}f}{suffix}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with X/, solomon/ and bks.csv")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per instance and solver")
    parser.add_argument("--instances", default="", help="comma-separated instance names (default: all)")
    parser.add_argument("--sets", default="X,solomon", help="comma-separated: X, solomon")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--against",
        choices=["ortools", "defaults", "variant"],
        default="ortools",
        help="the second solver: OR-Tools, the same adapter with PyVRP's default parameters, or with --variant",
    )
    parser.add_argument(
        "--variant",
        type=parse_variant,
        default={},
        help=f"with --against variant: large-problem parameters to change, key=value,... ({', '.join(VARIANT_KEYS)})",
    )
    args = parser.parse_args()
    if args.against == "variant" and not args.variant:
        parser.error("--against variant needs --variant")
    other = {"ortools": "OR-Tools", "defaults": "PyVRP defaults", "variant": "variant"}[args.against]

    names = [name for name in args.instances.split(",") if name] or None
    instances = load_instances(args.data, [s for s in args.sets.split(",") if s], names)
    if not instances:
        sys.exit("no instances found")
    print(f"time limit {args.time_limit:g} s per solver per instance, one core each, seed {args.seed}")
    if args.variant:
        print("variant: " + ", ".join(f"{key}={value}" for key, value in args.variant.items()))
    header = f"| instance | n | BKS | ours | gap % | {other} | gap % | ours / {other} |"
    print(header)
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    rows: dict[str, list[tuple[float | None, float | None, float | None]]] = {}
    context = multiprocessing.get_context("spawn")
    for instance in instances:
        jobs = [
            ("ours", instance, args.time_limit, args.seed, 0, {}),
            (args.against, instance, args.time_limit, args.seed, 1, args.variant),
        ]
        with context.Pool(2) as pool:
            ours_outcome, other_outcome = pool.map(run_one, jobs)
        ours, ours_note = verified_cost(instance, ours_outcome)
        theirs, theirs_note = verified_cost(instance, other_outcome)
        ratio = ours / theirs if ours is not None and theirs is not None else None
        rows.setdefault(instance.family, []).append((gap(ours, instance.bks), gap(theirs, instance.bks), ratio))
        digits = 0 if instance.scale == 1 else 1
        notes = "; ".join(f"{who}: {note}" for who, note in (("ours", ours_note), (other, theirs_note)) if note)
        print(
            f"| {instance.name} | {instance.clients} | {instance.bks:.{digits}f} | {cell(ours, digits)} | "
            f"{cell(gap(ours, instance.bks))} | {cell(theirs, digits)} | {cell(gap(theirs, instance.bks))} | "
            f"{cell(ratio, 4)} |" + (f" {notes}" if notes else ""),
            flush=True,
        )
    for family, results in rows.items():
        ours_gaps = [r[0] for r in results if r[0] is not None]
        their_gaps = [r[1] for r in results if r[1] is not None]
        ratios = [r[2] for r in results if r[2] is not None]
        print(
            f"| mean {family} ({len(results)}) | | | | {cell(statistics.fmean(ours_gaps) if ours_gaps else None)} "
            f"({len(ours_gaps)} solved) | | {cell(statistics.fmean(their_gaps) if their_gaps else None)} "
            f"({len(their_gaps)} solved) | {cell(statistics.fmean(ratios) if ratios else None, 4)} |"
        )


if __name__ == "__main__":
    main()
