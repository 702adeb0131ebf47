"""Courier rosters: a compound's deliveries split into walks of at most N households (P1: one courier per 10).

Pure computation over dataclasses (no Django), shared by the planner, the
command line and the property tests.

Walking order. Deliveries are sorted by building, unit, floor, room (natural
order, so "2" < "10" and "3号楼" < "12号楼"), then household id. A roster is
always a contiguous run of that order, so its stops are already the walk.

Floors. When a delivery has no floor, it is read from the room number
(`floor_from_room`): "12-03" or "12/03" → 12 (the part before the
separator); otherwise the first run of digits, minus its last two digits
("1203" → 12, "503" → 5); one or two digits ("7", "02") → floor 1, the
ground-floor numbering of low-rise blocks; no digits at all → floor 0, walked
first because the courier asks at the unit door.

Splitting (`contiguous_partition`). A unit is never split across rosters
unless it alone holds more than N households; an oversized unit splits
between floors/rooms in walking order. Among the splits that respect that,
the planner takes, in this order of priority:

1. the fewest rosters (couriers are what is short);
2. the fewest rosters that span two buildings;
3. the fewest cuts inside an oversized unit;
4. the most even sizes (least sum of squares: 23 households → 8/8/7, not 10/10/3);

ties go to the split with the larger rosters first. An exact dynamic
programme over the walk does this in O(households × N).

Volunteers. Rosters are staffed in order; each goes to the available
volunteer with the fewest households so far who still has room for it
(`max_households`, default N: one roster each), ties by pool order. A
roster nobody can take stays in the plan, unstaffed, with the reason —
households are never dropped.
"""

from __future__ import annotations

import functools
import heapq
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = [
    "DEFAULT_MAX_HOUSEHOLDS",
    "Delivery",
    "Roster",
    "RosterPlan",
    "RosterRules",
    "RosterStop",
    "Unstaffed",
    "UnstaffedReason",
    "Volunteer",
    "contiguous_partition",
    "floor_from_room",
    "natural_key",
    "rosters_build",
]

DEFAULT_MAX_HOUSEHOLDS = 10

_DIGITS = re.compile(r"(\d+)")
_FLOOR_SEPARATED = re.compile(r"^\D*(\d+)\s*[-/_ ]\s*\d+")


# Building, unit and room names repeat across a compound (every unit has a "101"), so the keys are
# computed once per distinct name; the cache is bounded and the results immutable.
@functools.lru_cache(maxsize=65_536)
def natural_key(text: str) -> tuple[tuple[str | int, ...], str]:
    """Sort key that orders embedded numbers by value; the raw text breaks ties ("01" vs "1")."""
    parts: list[str | int] = []
    for index, part in enumerate(_DIGITS.split(text.strip())):
        # split() alternates text/number, so position parity keeps str and int comparisons apart.
        parts.append(int(part) if index % 2 else part)
    return tuple(parts), text


def floor_from_room(room: str) -> int:
    """The floor a room number implies; the rule is in the module docstring."""
    separated = _FLOOR_SEPARATED.match(room)
    if separated:
        return int(separated.group(1))
    digits = _DIGITS.search(room)
    if digits is None:
        return 0
    number = digits.group(1)
    return int(number[:-2]) if len(number) > 2 else 1


@dataclass(frozen=True)
class RosterRules:
    max_households: int = DEFAULT_MAX_HOUSEHOLDS

    def __post_init__(self) -> None:
        if self.max_households < 1:
            raise ValueError("max_households must be at least 1")

    def as_dict(self) -> dict[str, Any]:
        return {"max_households": self.max_households}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RosterRules:
        return cls(max_households=int(data.get("max_households", DEFAULT_MAX_HOUSEHOLDS)))


@dataclass(frozen=True)
class Delivery:
    """One household's goods for the day, at its door."""

    household_id: int
    building: str
    unit: str
    room: str
    floor: int | None = None
    packages: int = 1
    weight_kg: float = 0.0


@dataclass(frozen=True)
class Volunteer:
    volunteer_id: int
    max_households: int | None = None
    available: bool = True


@dataclass(frozen=True)
class RosterStop:
    household_id: int
    building: str
    unit: str
    floor: int
    room: str
    packages: int
    weight_kg: float


@dataclass(frozen=True)
class Roster:
    number: int
    stops: tuple[RosterStop, ...]
    volunteer_id: int | None

    @property
    def households(self) -> int:
        return len(self.stops)

    @property
    def packages(self) -> int:
        return sum(stop.packages for stop in self.stops)

    @property
    def weight_kg(self) -> float:
        return sum(stop.weight_kg for stop in self.stops)

    @property
    def buildings(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(stop.building for stop in self.stops))


class UnstaffedReason(StrEnum):
    NO_VOLUNTEER_AVAILABLE = "no_volunteer_available"
    ROSTER_TOO_LARGE = "roster_too_large"
    POOL_EXHAUSTED = "pool_exhausted"


@dataclass(frozen=True)
class Unstaffed:
    roster_number: int
    households: int
    reason: UnstaffedReason


@dataclass(frozen=True)
class RosterPlan:
    rosters: tuple[Roster, ...]
    unstaffed: tuple[Unstaffed, ...]
    rules: RosterRules

    @property
    def households(self) -> int:
        return sum(roster.households for roster in self.rosters)

    def load_of(self, volunteer_id: int) -> int:
        return sum(r.households for r in self.rosters if r.volunteer_id == volunteer_id)


def contiguous_partition(
    *, sizes: Sequence[int], buildings: Sequence[int], units: Sequence[int], capacity: int
) -> list[tuple[int, int]]:
    """Split a walk of atoms into runs of total size <= capacity; returns [start, end) index pairs.

    `buildings[i]` and `units[i]` are ordinals of atom i's building and unit
    (equal ordinals are contiguous in the walk). The cost of a split is
    compared as (runs, runs spanning buildings, cuts inside a unit, sum of
    squared run sizes); every part is additive, so the programme is exact.
    """
    count = len(sizes)
    if any(size < 1 or size > capacity for size in sizes):
        raise ValueError("every atom must hold between 1 and capacity households")
    infinite = (count + 1, 0, 0, 0)
    best: list[tuple[int, int, int, int]] = [(0, 0, 0, 0)] + [infinite] * count
    start_of = [0] * (count + 1)
    for end in range(1, count + 1):
        cut = 1 if end < count and units[end] == units[end - 1] else 0
        total = 0
        spans = 0
        start = end - 1
        # Scanning from the shortest last run makes ties go to larger earlier runs.
        while start >= 0 and total + sizes[start] <= capacity:
            total += sizes[start]
            if start < end - 1 and buildings[start] != buildings[start + 1]:
                spans = 1
            prior = best[start]
            candidate = (prior[0] + 1, prior[1] + spans, prior[2] + cut, prior[3] + total * total)
            if candidate < best[end]:
                best[end] = candidate
                start_of[end] = start
            start -= 1
    runs: list[tuple[int, int]] = []
    end = count
    while end > 0:
        runs.append((start_of[end], end))
        end = start_of[end]
    runs.reverse()
    return runs


def _walk_key(delivery: Delivery, floor: int) -> tuple[Any, ...]:
    return (
        natural_key(delivery.building),
        natural_key(delivery.unit),
        floor,
        natural_key(delivery.room),
        delivery.household_id,
    )


def _validate(deliveries: Iterable[Delivery], volunteers: Iterable[Volunteer]) -> None:
    seen: set[int] = set()
    for delivery in deliveries:
        if delivery.household_id in seen:
            raise ValueError(f"household {delivery.household_id} has two deliveries")
        if delivery.packages < 0 or delivery.weight_kg < 0:
            raise ValueError(f"household {delivery.household_id}: packages and weight must not be negative")
        seen.add(delivery.household_id)
    ids: set[int] = set()
    for volunteer in volunteers:
        if volunteer.volunteer_id in ids:
            raise ValueError(f"volunteer {volunteer.volunteer_id} is in the pool twice")
        if volunteer.max_households is not None and volunteer.max_households < 0:
            raise ValueError(f"volunteer {volunteer.volunteer_id}: max_households must not be negative")
        ids.add(volunteer.volunteer_id)


def _stops_in_walking_order(deliveries: Sequence[Delivery]) -> list[RosterStop]:
    keyed = []
    for delivery in deliveries:
        floor = delivery.floor if delivery.floor is not None else floor_from_room(delivery.room)
        stop = RosterStop(
            delivery.household_id,
            delivery.building,
            delivery.unit,
            floor,
            delivery.room,
            delivery.packages,
            delivery.weight_kg,
        )
        keyed.append((_walk_key(delivery, floor), stop))
    keyed.sort(key=lambda pair: pair[0])
    return [stop for _, stop in keyed]


def _atoms(stops: Sequence[RosterStop], capacity: int) -> tuple[list[int], list[int], list[int]]:
    """A unit that fits in one roster is one atom; an oversized unit is one atom per household."""
    sizes: list[int] = []
    buildings: list[int] = []
    units: list[int] = []
    index = 0
    building_ordinal = unit_ordinal = -1
    previous: tuple[str, str] | None = None
    while index < len(stops):
        address = (stops[index].building, stops[index].unit)
        if previous is None or address[0] != previous[0]:
            building_ordinal += 1
        unit_ordinal += 1
        previous = address
        end = index
        while end < len(stops) and (stops[end].building, stops[end].unit) == address:
            end += 1
        size = end - index
        pieces = [size] if size <= capacity else [1] * size
        for piece in pieces:
            sizes.append(piece)
            buildings.append(building_ordinal)
            units.append(unit_ordinal)
        index = end
    return sizes, buildings, units


def _staff(
    runs: Sequence[Sequence[RosterStop]], volunteers: Sequence[Volunteer], rules: RosterRules
) -> tuple[list[int | None], list[Unstaffed]]:
    pool = [v for v in volunteers if v.available]
    limits = [v.max_households if v.max_households is not None else rules.max_households for v in pool]
    # Volunteers by (households so far, pool order): the first one popped with room for a roster is the
    # one the rule picks. Those without room for this roster go back for the next, smaller ones.
    queue = [(0, i) for i in range(len(pool)) if limits[i] > 0]
    heapq.heapify(queue)
    assigned: list[int | None] = []
    unstaffed: list[Unstaffed] = []
    for number, run in enumerate(runs, start=1):
        size = len(run)
        passed: list[tuple[int, int]] = []
        chosen = None
        while queue:
            load, i = heapq.heappop(queue)
            if load + size <= limits[i]:
                chosen = i
                break
            passed.append((load, i))
        for entry in passed:
            heapq.heappush(queue, entry)
        if chosen is not None:
            load += size
            if load < limits[chosen]:
                heapq.heappush(queue, (load, chosen))
            assigned.append(pool[chosen].volunteer_id)
            continue
        assigned.append(None)
        if not pool:
            reason = UnstaffedReason.NO_VOLUNTEER_AVAILABLE
        elif all(limit < size for limit in limits):
            reason = UnstaffedReason.ROSTER_TOO_LARGE
        else:
            reason = UnstaffedReason.POOL_EXHAUSTED
        unstaffed.append(Unstaffed(number, size, reason))
    return assigned, unstaffed


def rosters_build(
    *, deliveries: Sequence[Delivery], volunteers: Sequence[Volunteer], rules: RosterRules | None = None
) -> RosterPlan:
    """One compound's courier rosters, in walking order, staffed from its volunteer pool."""
    rules = rules or RosterRules()
    _validate(deliveries, volunteers)
    stops = _stops_in_walking_order(deliveries)
    sizes, buildings, units = _atoms(stops, rules.max_households)
    atom_runs = contiguous_partition(sizes=sizes, buildings=buildings, units=units, capacity=rules.max_households)
    runs: list[list[RosterStop]] = []
    offset = 0
    for start, end in atom_runs:
        households = sum(sizes[start:end])
        runs.append(stops[offset : offset + households])
        offset += households
    assigned, unstaffed = _staff(runs, volunteers, rules)
    rosters = tuple(
        Roster(number, tuple(run), volunteer_id)
        for number, (run, volunteer_id) in enumerate(zip(runs, assigned, strict=True), start=1)
    )
    return RosterPlan(rosters, tuple(unstaffed), rules)
