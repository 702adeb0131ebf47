"""Pickup slots for controlled (not sealed) compounds: who comes to the distribution point when.

Pure computation over dataclasses (no Django). Residents pick up in order of
building and unit, one person per household (domain brief §8), and the point
must never hold more than `capacity` people at once.

The day's grid. Slots of `slot_minutes` start at opening time, each followed
by at least `gap_minutes` of clearance, and a slot must end by closing time;
so people of two slots are never at the point together and a slot's count is
the number of people there at once.

Placement (`pickup_slots_plan`):

1. Households are sorted by building, unit (natural order), household id.
2. If more households than the grid holds (slots × capacity), the first ones
   in that order are placed and the rest reported with the reason, never
   squeezed into a full slot. An opening shorter than one slot places nobody.
3. Spread: the per-slot load is the lowest the day allows, ceil(placed ÷ slots);
   the walk is cut into runs of at most that load with the roster programme
   (`rosters.contiguous_partition`): fewest runs, then fewest runs spanning
   buildings, then fewest cuts inside a unit, then even sizes.
4. Runs take slots in order. A unit cut between two runs keeps them in
   adjacent slots; the slots left over go as empty clearance slots evenly
   between the other runs (and after the last), so the day is used end to end.

So a unit's households share one slot or a run of consecutive slots, buildings
come in order, and no slot exceeds the cap. Deterministic for any input order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import time
from enum import StrEnum
from typing import Any

from baogong.planning.rosters import contiguous_partition, natural_key

__all__ = [
    "PickupHousehold",
    "PickupPlan",
    "PickupRules",
    "PickupSlot",
    "Unplaced",
    "UnplacedReason",
    "pickup_slots_plan",
    "slot_grid",
]


@dataclass(frozen=True)
class PickupRules:
    slot_minutes: int = 15
    capacity: int = 20
    gap_minutes: int = 0

    def __post_init__(self) -> None:
        if self.slot_minutes < 1:
            raise ValueError("slot_minutes must be at least 1")
        if self.capacity < 1:
            raise ValueError("capacity must be at least 1")
        if self.gap_minutes < 0:
            raise ValueError("gap_minutes must not be negative")

    def as_dict(self) -> dict[str, Any]:
        return {"slot_minutes": self.slot_minutes, "capacity": self.capacity, "gap_minutes": self.gap_minutes}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PickupRules:
        defaults = cls()
        return cls(
            slot_minutes=int(data.get("slot_minutes", defaults.slot_minutes)),
            capacity=int(data.get("capacity", defaults.capacity)),
            gap_minutes=int(data.get("gap_minutes", defaults.gap_minutes)),
        )


@dataclass(frozen=True)
class PickupHousehold:
    household_id: int
    building: str
    unit: str


@dataclass(frozen=True)
class PickupSlot:
    number: int
    start: time
    end: time
    households: tuple[PickupHousehold, ...]


class UnplacedReason(StrEnum):
    NO_SLOTS = "no_slots"
    OPENING_HOURS_FULL = "opening_hours_full"


@dataclass(frozen=True)
class Unplaced:
    household: PickupHousehold
    reason: UnplacedReason


@dataclass(frozen=True)
class PickupPlan:
    slots: tuple[PickupSlot, ...]
    unplaced: tuple[Unplaced, ...]
    rules: PickupRules

    @property
    def peak(self) -> int:
        return max((len(slot.households) for slot in self.slots), default=0)

    def unit_windows(self) -> dict[tuple[str, str], tuple[time, time]]:
        """(building, unit) → (first slot start, last slot end): what the notice to a unit says."""
        windows: dict[tuple[str, str], tuple[time, time]] = {}
        for slot in self.slots:
            for household in slot.households:
                address = (household.building, household.unit)
                first = windows.get(address, (slot.start, slot.end))[0]
                windows[address] = (first, slot.end)
        return windows


def _minutes(moment: time) -> int:
    return moment.hour * 60 + moment.minute


def _time(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)


def slot_grid(*, opens: time, closes: time, rules: PickupRules) -> list[tuple[time, time]]:
    if closes <= opens:
        raise ValueError("closing time must be after opening time")
    if opens.second or opens.microsecond or closes.second or closes.microsecond:
        raise ValueError("opening hours are whole minutes")
    grid: list[tuple[time, time]] = []
    start = _minutes(opens)
    while start + rules.slot_minutes <= _minutes(closes):
        grid.append((_time(start), _time(start + rules.slot_minutes)))
        start += rules.slot_minutes + rules.gap_minutes
    return grid


def _ordinals(keys: Sequence[object]) -> list[int]:
    ordinals: list[int] = []
    for index, key in enumerate(keys):
        ordinals.append(0 if index == 0 else ordinals[-1] + (key != keys[index - 1]))
    return ordinals


def pickup_slots_plan(
    *, households: Sequence[PickupHousehold], opens: time, closes: time, rules: PickupRules | None = None
) -> PickupPlan:
    """One controlled compound's pickup slots for a day; the rules are in the module docstring."""
    rules = rules or PickupRules()
    if len({h.household_id for h in households}) != len(households):
        raise ValueError("a household is listed twice")
    grid = slot_grid(opens=opens, closes=closes, rules=rules)
    ordered = sorted(households, key=lambda h: (natural_key(h.building), natural_key(h.unit), h.household_id))
    if not grid:
        unplaced = tuple(Unplaced(h, UnplacedReason.NO_SLOTS) for h in ordered)
        return PickupPlan((), unplaced, rules)
    room = len(grid) * rules.capacity
    placed, overflow = ordered[:room], ordered[room:]
    members: list[list[PickupHousehold]] = [[] for _ in grid]
    if placed:
        load = -(-len(placed) // len(grid))
        units = _ordinals([(h.building, h.unit) for h in placed])
        runs = contiguous_partition(
            sizes=[1] * len(placed),
            buildings=_ordinals([h.building for h in placed]),
            units=units,
            capacity=load,
        )
        open_ends = [k for k, (_, end) in enumerate(runs) if end == len(placed) or units[end] != units[end - 1]]
        spare = len(grid) - len(runs)
        gap_after = [0] * len(runs)
        for i, k in enumerate(open_ends):
            gap_after[k] = (i + 1) * spare // len(open_ends) - i * spare // len(open_ends)
        cursor = 0
        for k, (start, end) in enumerate(runs):
            members[cursor] = placed[start:end]
            cursor += 1 + gap_after[k]
    slots = tuple(
        PickupSlot(number, start, end, tuple(group))
        for number, ((start, end), group) in enumerate(zip(grid, members, strict=True), start=1)
    )
    unplaced = tuple(Unplaced(h, UnplacedReason.OPENING_HOURS_FULL) for h in overflow)
    return PickupPlan(slots, unplaced, rules)
