"""Readers for the routing benchmark instances, and an independent solution checker.

Formats (as published on CVRPLIB):
- VRPLIB `.vrp` (the X set): `KEY : value` header lines, then NODE_COORD_SECTION,
  DEMAND_SECTION and DEPOT_SECTION; EUC_2D distances rounded to the nearest
  integer (TSPLIB `nint`). Unlimited fleet.
- Solomon `.txt`: name, a VEHICLE block (NUMBER, CAPACITY), then one row per
  node (id, x, y, demand, ready, due, service), depot first. Distances and
  travel times are Euclidean truncated to one decimal; in integers that is
  floor(10 d), with windows and service times multiplied by 10. At most
  NUMBER vehicles; objective = total distance.
- `.sol`: `Route #k: c1 c2 ...` lines (clients numbered from 1, depot 0
  omitted), then `Cost <value>`.

All quantities here are integers in the scaled units, so costs are exact.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Instance:
    name: str
    family: str  # "X" or "solomon"
    coords: list[tuple[float, float]]  # node 0 is the depot
    demand: list[int]
    capacity: int
    max_vehicles: int | None  # None: unlimited fleet
    min_routes: int | None  # the `k` of an X instance name
    distance: list[list[int]]
    # Time windows and service times in scaled units; None for the X set (no time dimension).
    ready: list[int] | None
    due: list[int] | None
    service: list[int] | None
    bks: float  # in the published unit (Solomon: one decimal)
    scale: int  # integer cost / scale = published cost

    @property
    def clients(self) -> int:
        return len(self.coords) - 1


def nint_matrix(coords: list[tuple[float, float]]) -> list[list[int]]:
    # TSPLIB nint: round half up, i.e. floor(d + 0.5), not Python's banker's rounding.
    return [[math.floor(math.dist(a, b) + 0.5) for b in coords] for a in coords]


def truncated_matrix(coords: list[tuple[float, float]]) -> list[list[int]]:
    # floor(10 d) computed on the exact squared distance's root, nudged against float noise (e.g. 10 × 5.0).
    return [[math.floor(10 * math.dist(a, b) + 1e-9) for b in coords] for a in coords]


def read_vrplib(path: Path, bks: float) -> Instance:
    header: dict[str, str] = {}
    sections: dict[str, list[list[str]]] = {}
    current: str | None = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line == "EOF":
            continue
        if line.endswith("_SECTION"):
            current = line
            sections[current] = []
        elif current is None and ":" in line:
            key, value = line.split(":", 1)
            header[key.strip()] = value.strip().strip('"')
        elif current is not None:
            sections[current].append(line.split())
    if header.get("EDGE_WEIGHT_TYPE") != "EUC_2D":
        raise ValueError(f"{path.name}: only EUC_2D instances are supported")
    dimension = int(header["DIMENSION"])
    coords = [(float(row[1]), float(row[2])) for row in sections["NODE_COORD_SECTION"]]
    demand = [int(row[1]) for row in sections["DEMAND_SECTION"]]
    depots = [int(row[0]) for row in sections["DEPOT_SECTION"] if row[0] != "-1"]
    if len(coords) != dimension or len(demand) != dimension or depots != [1]:
        raise ValueError(f"{path.name}: expected {dimension} nodes with node 1 as the only depot")
    match = re.search(r"-k(\d+)$", header["NAME"])
    return Instance(
        name=header["NAME"],
        family="X",
        coords=coords,
        demand=demand,
        capacity=int(header["CAPACITY"]),
        max_vehicles=None,
        min_routes=int(match.group(1)) if match else None,
        distance=nint_matrix(coords),
        ready=None,
        due=None,
        service=None,
        bks=bks,
        scale=1,
    )


def read_solomon(path: Path, bks: float) -> Instance:
    lines = [line.split() for line in path.read_text().splitlines()]
    lines = [fields for fields in lines if fields]
    name = lines[0][0]
    vehicle_at = next(i for i, fields in enumerate(lines) if fields[0] == "VEHICLE")
    number, capacity = int(lines[vehicle_at + 2][0]), int(lines[vehicle_at + 2][1])
    rows = [fields for fields in lines if len(fields) == 7 and all(f.replace(".", "").isdigit() for f in fields)]
    if [int(r[0]) for r in rows] != list(range(len(rows))):
        raise ValueError(f"{path.name}: customer rows must be numbered 0..n")
    coords = [(float(r[1]), float(r[2])) for r in rows]
    return Instance(
        name=name,
        family="solomon",
        coords=coords,
        demand=[int(r[3]) for r in rows],
        capacity=capacity,
        max_vehicles=number,
        min_routes=None,
        distance=truncated_matrix(coords),
        ready=[10 * int(r[4]) for r in rows],
        due=[10 * int(r[5]) for r in rows],
        service=[10 * int(r[6]) for r in rows],
        bks=bks,
        scale=10,
    )


def read_solution(path: Path) -> tuple[list[list[int]], float]:
    routes: list[list[int]] = []
    cost = math.nan
    for line in path.read_text().splitlines():
        if line.startswith("Route"):
            routes.append([int(c) for c in line.split(":", 1)[1].split()])
        elif line.startswith("Cost"):
            cost = float(line.split()[1])
    return routes, cost


def read_bks(data: Path) -> dict[str, float]:
    table: dict[str, float] = {}
    for line in (data / "bks.csv").read_text().splitlines()[1:]:
        name, value = line.split(",")[:2]
        table[name] = float(value)
    return table


def load_instances(data: Path, families: list[str], names: list[str] | None) -> list[Instance]:
    bks = read_bks(data)
    found: list[Instance] = []
    if "X" in families:
        for path in sorted((data / "X").glob("*.vrp"), key=lambda p: int(p.stem.split("-")[1][1:])):
            if names is None or path.stem in names:
                found.append(read_vrplib(path, bks[path.stem]))
    if "solomon" in families:
        for path in sorted((data / "solomon").glob("*.txt")):
            if names is None or path.stem in names:
                found.append(read_solomon(path, bks[path.stem]))
    return found


def check_solution(instance: Instance, routes: list[list[int]]) -> int:
    """Total integer distance of `routes` (client ids 1..n); raises ValueError on any infeasibility."""
    visited = sorted(c for route in routes for c in route)
    if visited != list(range(1, instance.clients + 1)):
        raise ValueError("every client must be visited exactly once")
    routes = [route for route in routes if route]
    if instance.max_vehicles is not None and len(routes) > instance.max_vehicles:
        raise ValueError(f"{len(routes)} routes > {instance.max_vehicles} vehicles")
    dist = instance.distance
    total = 0
    for route in routes:
        if sum(instance.demand[c] for c in route) > instance.capacity:
            raise ValueError(f"route {route} exceeds capacity {instance.capacity}")
        path = [0, *route, 0]
        total += sum(dist[a][b] for a, b in itertools.pairwise(path))
        if instance.ready is not None and instance.due is not None and instance.service is not None:
            clock = instance.ready[0]
            for a, b in itertools.pairwise(path):
                clock = max(clock + instance.service[a] + dist[a][b], instance.ready[b])
                if clock > instance.due[b]:
                    raise ValueError(f"route {route} reaches {b} at {clock} > due {instance.due[b]}")
    return total
