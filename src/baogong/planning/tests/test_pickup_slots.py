"""Pickup slots as pure functions: hand-checked days, then properties."""

from __future__ import annotations

import random
from datetime import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baogong.planning.pickup_slots import (
    PickupHousehold,
    PickupRules,
    Unplaced,
    UnplacedReason,
    pickup_slots_plan,
    slot_grid,
)
from baogong.planning.rosters import natural_key


def units_of(sizes: list[int], building: str = "1", first_id: int = 0) -> list[PickupHousehold]:
    """Units "1", "2", … of the given sizes, household ids counting up from `first_id`."""
    households = []
    for unit, size in enumerate(sizes, start=1):
        for _ in range(size):
            households.append(PickupHousehold(first_id + len(households), building, str(unit)))
    return households


def ids_by_slot(plan):
    return [[h.household_id for h in slot.households] for slot in plan.slots]


def test_the_grid_keeps_the_gap_and_ends_by_closing_time():
    grid = slot_grid(opens=time(9), closes=time(10), rules=PickupRules(slot_minutes=15, gap_minutes=5))

    assert grid == [(time(9, 0), time(9, 15)), (time(9, 20), time(9, 35)), (time(9, 40), time(9, 55))]


def test_spare_slots_spread_the_units_over_the_day():
    plan = pickup_slots_plan(
        households=units_of([2, 2, 2, 2, 2]), opens=time(9), closes=time(11), rules=PickupRules(capacity=5)
    )

    assert ids_by_slot(plan) == [[0, 1], [2, 3], [], [4, 5], [6, 7], [], [8, 9], []]
    assert [slot.start for slot in plan.slots][:3] == [time(9, 0), time(9, 15), time(9, 30)]
    assert plan.peak == 2
    assert plan.unplaced == ()
    assert plan.unit_windows()[("1", "3")] == (time(9, 45), time(10, 0))


def test_a_unit_split_by_the_load_takes_adjacent_slots():
    plan = pickup_slots_plan(
        households=units_of([3, 3]), opens=time(9), closes=time(9, 45), rules=PickupRules(capacity=5)
    )

    assert ids_by_slot(plan) == [[0, 1], [2, 3], [4, 5]]
    assert plan.unit_windows() == {("1", "1"): (time(9, 0), time(9, 30)), ("1", "2"): (time(9, 15), time(9, 45))}


def test_a_full_day_reports_the_last_households_instead_of_overfilling():
    households = units_of([4, 4])

    plan = pickup_slots_plan(households=households, opens=time(9), closes=time(9, 30), rules=PickupRules(capacity=3))

    assert ids_by_slot(plan) == [[0, 1, 2], [3, 4, 5]]
    assert plan.unplaced == (
        Unplaced(households[6], UnplacedReason.OPENING_HOURS_FULL),
        Unplaced(households[7], UnplacedReason.OPENING_HOURS_FULL),
    )


def test_opening_hours_shorter_than_a_slot_place_nobody():
    households = units_of([2])

    plan = pickup_slots_plan(households=households, opens=time(9), closes=time(9, 10))

    assert plan.slots == ()
    assert plan.unplaced == tuple(Unplaced(h, UnplacedReason.NO_SLOTS) for h in households)


def test_buildings_and_units_come_in_natural_order_whatever_the_input_order():
    households = [
        PickupHousehold(1, "10", "1"),
        PickupHousehold(2, "2", "10"),
        PickupHousehold(3, "2", "9"),
        PickupHousehold(4, "2", "9"),
    ]

    plan = pickup_slots_plan(households=households[::-1], opens=time(8), closes=time(8, 30))

    assert ids_by_slot(plan) == [[3, 4], [2, 1]]
    assert pickup_slots_plan(households=households, opens=time(8), closes=time(8, 30)) == plan


def test_defaults_are_fifteen_minutes_and_twenty_people():
    plan = pickup_slots_plan(households=units_of([25]), opens=time(9), closes=time(9, 15))

    assert plan.rules == PickupRules(slot_minutes=15, capacity=20, gap_minutes=0)
    assert ids_by_slot(plan) == [list(range(20))]
    assert [u.household.household_id for u in plan.unplaced] == [20, 21, 22, 23, 24]


def test_no_households_gives_empty_slots():
    plan = pickup_slots_plan(households=[], opens=time(9), closes=time(9, 30))

    assert ids_by_slot(plan) == [[], []]
    assert plan.peak == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"opens": time(10), "closes": time(10)}, "closing time must be after opening time"),
        ({"opens": time(10, 0, 30), "closes": time(11)}, "whole minutes"),
        (
            {"opens": time(9), "closes": time(10), "households": [PickupHousehold(1, "1", "1")] * 2},
            "listed twice",
        ),
    ],
)
def test_invalid_input_is_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        pickup_slots_plan(**{"households": [], **kwargs})


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({"slot_minutes": 0}, "slot_minutes"),
        ({"capacity": 0}, "capacity"),
        ({"gap_minutes": -1}, "gap_minutes"),
    ],
)
def test_rules_are_validated(rules, message):
    with pytest.raises(ValueError, match=message):
        PickupRules(**rules)


def test_rules_round_trip():
    rules = PickupRules(slot_minutes=20, capacity=8, gap_minutes=5)

    assert PickupRules.from_dict(rules.as_dict()) == rules
    assert PickupRules.from_dict({}) == PickupRules()


# --- properties ---------------------------------------------------------------------------------------------------

compounds = st.lists(
    st.tuples(st.sampled_from(["1", "2", "10"]), st.sampled_from(["1", "2", "3", "4"])), max_size=120
).map(lambda rows: [PickupHousehold(i, b, u) for i, (b, u) in enumerate(rows, start=1)])
rule_sets = st.builds(
    PickupRules, slot_minutes=st.integers(5, 30), capacity=st.integers(1, 25), gap_minutes=st.integers(0, 10)
)


def address_key(household):
    return (natural_key(household.building), natural_key(household.unit))


@settings(max_examples=300, deadline=None)
@given(
    households=compounds,
    rules=rule_sets,
    opens=st.integers(6 * 60, 10 * 60),
    hours=st.integers(1, 300),
    seed=st.integers(0, 1000),
)
def test_pickup_properties(households, rules, opens, hours, seed):
    opening, closing = time(opens // 60, opens % 60), time((opens + hours) // 60, (opens + hours) % 60)
    plan = pickup_slots_plan(households=households, opens=opening, closes=closing, rules=rules)

    placed = [h for slot in plan.slots for h in slot.households]
    assert sorted(h.household_id for h in placed + [u.household for u in plan.unplaced]) == sorted(
        h.household_id for h in households
    )
    assert all(len(slot.households) <= rules.capacity for slot in plan.slots)
    if plan.unplaced:
        assert all(len(slot.households) == rules.capacity for slot in plan.slots)
        assert all(address_key(u.household) >= address_key(placed[-1]) for u in plan.unplaced if placed)
    if plan.slots:
        assert plan.peak == -(-len(placed) // len(plan.slots))

    assert [address_key(h) for h in placed] == sorted(address_key(h) for h in placed)
    slots_of_unit: dict[tuple[str, str], set[int]] = {}
    for slot in plan.slots:
        for h in slot.households:
            slots_of_unit.setdefault((h.building, h.unit), set()).add(slot.number)
    for numbers in slots_of_unit.values():
        assert max(numbers) - min(numbers) + 1 == len(numbers)

    for before, after in zip(plan.slots, plan.slots[1:], strict=False):
        gap = (after.start.hour * 60 + after.start.minute) - (before.end.hour * 60 + before.end.minute)
        assert gap == rules.gap_minutes
    if plan.slots:
        assert plan.slots[0].start == opening
        assert plan.slots[-1].end <= closing

    shuffled = list(households)
    random.Random(seed).shuffle(shuffled)
    assert pickup_slots_plan(households=shuffled, opens=opening, closes=closing, rules=rules) == plan
