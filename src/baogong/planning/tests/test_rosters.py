"""Courier rosters as pure functions: hand-checked compounds, then properties."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baogong.planning.rosters import (
    Delivery,
    RosterRules,
    Unstaffed,
    UnstaffedReason,
    Volunteer,
    floor_from_room,
    natural_key,
    rosters_build,
)


def households_of(plan):
    return [[stop.household_id for stop in roster.stops] for roster in plan.rosters]


def tower(building: str, unit: str, count: int, first_id: int, per_floor: int = 2) -> list[Delivery]:
    """`count` households on consecutive floors, `per_floor` rooms each, rooms like "1203"."""
    return [
        Delivery(first_id + i, building, unit, f"{i // per_floor + 1}{i % per_floor + 1:02d}") for i in range(count)
    ]


@pytest.mark.parametrize(
    ("room", "floor"),
    [
        ("1203", 12),
        ("503", 5),
        ("0101", 1),
        ("12-03", 12),
        ("3/1", 3),
        ("A栋1203", 12),
        ("7", 1),
        ("02", 1),
        ("阁楼", 0),
        ("", 0),
    ],
)
def test_floor_from_room(room, floor):
    assert floor_from_room(room) == floor


def test_natural_key_orders_numbers_by_value():
    assert sorted(["10", "2", "3号楼", "12号楼", "1", "01"], key=natural_key) == [
        "01",
        "1",
        "2",
        "3号楼",
        "10",
        "12号楼",
    ]


def test_an_oversized_unit_splits_evenly_in_walking_order():
    plan = rosters_build(deliveries=tower("1", "1", 23, 1), volunteers=[])

    assert [roster.households for roster in plan.rosters] == [8, 8, 7]
    assert [roster.number for roster in plan.rosters] == [1, 2, 3]
    assert households_of(plan) == [list(range(1, 9)), list(range(9, 17)), list(range(17, 24))]
    assert [stop.room for stop in plan.rosters[2].stops] == ["901", "902", "1001", "1002", "1101", "1102", "1201"]
    assert [stop.floor for stop in plan.rosters[2].stops] == [9, 9, 10, 10, 11, 11, 12]


def test_units_stay_whole_even_when_that_leaves_rosters_uneven():
    deliveries = tower("1", "A", 4, 1) + tower("1", "B", 4, 5) + tower("1", "C", 4, 9)

    plan = rosters_build(deliveries=deliveries, volunteers=[])

    assert households_of(plan) == [[1, 2, 3, 4, 5, 6, 7, 8], [9, 10, 11, 12]]


def test_small_buildings_share_a_roster_only_when_it_saves_a_courier():
    shared = rosters_build(deliveries=tower("1", "1", 3, 1) + tower("2", "1", 4, 4), volunteers=[])
    separate = rosters_build(deliveries=tower("1", "1", 6, 1) + tower("2", "1", 6, 7), volunteers=[])

    assert households_of(shared) == [[1, 2, 3, 4, 5, 6, 7]]
    assert shared.rosters[0].buildings == ("1", "2")
    assert households_of(separate) == [[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12]]


def test_walking_order_is_building_unit_floor_room_whatever_the_input_order():
    deliveries = [
        Delivery(1, "10", "1", "101"),
        Delivery(2, "2", "2", "301"),
        Delivery(3, "2", "1", "1202"),
        Delivery(4, "2", "1", "1201"),
        Delivery(5, "2", "1", "Z", floor=3),
        Delivery(6, "2", "1", "201", packages=3, weight_kg=4.5),
    ]

    plan = rosters_build(deliveries=deliveries, volunteers=[])
    reversed_plan = rosters_build(deliveries=deliveries[::-1], volunteers=[])

    assert households_of(plan) == [[6, 5, 4, 3, 2, 1]]
    assert [stop.floor for stop in plan.rosters[0].stops] == [2, 3, 12, 12, 3, 1]
    assert plan.rosters[0].packages == 8
    assert plan.rosters[0].weight_kg == 4.5
    assert reversed_plan == plan


def test_max_households_is_configurable():
    plan = rosters_build(deliveries=tower("1", "1", 9, 1), volunteers=[], rules=RosterRules(max_households=4))

    assert [roster.households for roster in plan.rosters] == [3, 3, 3]


def test_volunteers_take_rosters_by_fewest_households_first():
    deliveries = tower("1", "A", 4, 1) + tower("1", "B", 4, 5) + tower("1", "C", 4, 9) + tower("2", "D", 7, 101)
    pool = [Volunteer(1, max_households=30), Volunteer(2, max_households=30), Volunteer(3, available=False)]

    plan = rosters_build(deliveries=deliveries, volunteers=pool)

    assert [roster.households for roster in plan.rosters] == [8, 4, 7]
    assert [roster.volunteer_id for roster in plan.rosters] == [1, 2, 2]
    assert plan.unstaffed == ()
    assert (plan.load_of(1), plan.load_of(2), plan.load_of(3)) == (8, 11, 0)


def test_by_default_a_volunteer_takes_one_roster_and_the_rest_are_reported_unstaffed():
    plan = rosters_build(deliveries=tower("1", "1", 40, 1), volunteers=[Volunteer(5), Volunteer(6)])

    assert [roster.volunteer_id for roster in plan.rosters] == [5, 6, None, None]
    assert plan.unstaffed == (
        Unstaffed(3, 10, UnstaffedReason.POOL_EXHAUSTED),
        Unstaffed(4, 10, UnstaffedReason.POOL_EXHAUSTED),
    )
    assert plan.households == 40


@pytest.mark.parametrize(
    ("pool", "reason"),
    [
        ([], UnstaffedReason.NO_VOLUNTEER_AVAILABLE),
        ([Volunteer(1, available=False)], UnstaffedReason.NO_VOLUNTEER_AVAILABLE),
        ([Volunteer(1, max_households=5)], UnstaffedReason.ROSTER_TOO_LARGE),
    ],
)
def test_unstaffed_reasons(pool, reason):
    plan = rosters_build(deliveries=tower("1", "1", 8, 1), volunteers=pool)

    assert plan.unstaffed == (Unstaffed(1, 8, reason),)
    assert plan.rosters[0].volunteer_id is None


def test_an_empty_compound_has_no_rosters():
    plan = rosters_build(deliveries=[], volunteers=[Volunteer(1)])

    assert plan.rosters == ()
    assert plan.unstaffed == ()


@pytest.mark.parametrize(
    ("deliveries", "pool", "message"),
    [
        ([Delivery(1, "1", "1", "101"), Delivery(1, "1", "1", "102")], [], "household 1 has two deliveries"),
        ([Delivery(1, "1", "1", "101", packages=-1)], [], "must not be negative"),
        ([], [Volunteer(2), Volunteer(2)], "volunteer 2 is in the pool twice"),
        ([], [Volunteer(2, max_households=-1)], "max_households must not be negative"),
    ],
)
def test_invalid_input_is_rejected(deliveries, pool, message):
    with pytest.raises(ValueError, match=message):
        rosters_build(deliveries=deliveries, volunteers=pool)


def test_rules_reject_an_empty_roster_size_and_round_trip():
    with pytest.raises(ValueError, match="max_households"):
        RosterRules(max_households=0)
    assert RosterRules.from_dict(RosterRules(max_households=7).as_dict()) == RosterRules(max_households=7)
    assert RosterRules.from_dict({}) == RosterRules(max_households=10)


# --- properties ---------------------------------------------------------------------------------------------------

addresses = st.tuples(st.sampled_from(["1", "2", "10"]), st.sampled_from(["1", "2", "3"]), st.integers(1, 33))
compounds = st.lists(addresses, max_size=60, unique=True).map(
    lambda rows: [Delivery(i, b, u, f"{floor}{i % 4 + 1:02d}") for i, (b, u, floor) in enumerate(rows, start=1)]
)
pools = st.lists(st.tuples(st.one_of(st.none(), st.integers(0, 25)), st.booleans()), max_size=8).map(
    lambda rows: [Volunteer(i, limit, available) for i, (limit, available) in enumerate(rows, start=1)]
)


def walk_key(stop):
    return (natural_key(stop.building), natural_key(stop.unit), stop.floor, natural_key(stop.room), stop.household_id)


def minimal_roster_count(deliveries, cap):
    """Greedy packing of the walk's atoms (whole units, or households of oversized units) is optimal in count."""
    unit_sizes: dict[tuple[str, str], int] = {}
    for d in sorted(deliveries, key=lambda d: (natural_key(d.building), natural_key(d.unit))):
        unit_sizes[(d.building, d.unit)] = unit_sizes.get((d.building, d.unit), 0) + 1
    count, room = 0, 0
    for size in unit_sizes.values():
        for atom in [size] if size <= cap else [1] * size:
            if atom > room:
                count, room = count + 1, cap
            room -= atom
    return count


@settings(max_examples=200, deadline=None)
@given(deliveries=compounds, pool=pools, cap=st.integers(1, 12), seed=st.integers(0, 1000))
def test_roster_properties(deliveries, pool, cap, seed):
    rules = RosterRules(max_households=cap)
    plan = rosters_build(deliveries=deliveries, volunteers=pool, rules=rules)

    placed = [stop.household_id for roster in plan.rosters for stop in roster.stops]
    assert sorted(placed) == sorted(d.household_id for d in deliveries)
    assert all(1 <= roster.households <= cap for roster in plan.rosters)
    assert len(plan.rosters) == minimal_roster_count(deliveries, cap)

    walk = [stop for roster in plan.rosters for stop in roster.stops]
    assert walk == sorted(walk, key=walk_key)

    rosters_of_unit: dict[tuple[str, str], list[int]] = {}
    for roster in plan.rosters:
        for stop in roster.stops:
            numbers = rosters_of_unit.setdefault((stop.building, stop.unit), [])
            if roster.number not in numbers:
                numbers.append(roster.number)
    for (building, unit), numbers in rosters_of_unit.items():
        size = sum(1 for d in deliveries if (d.building, d.unit) == (building, unit))
        if size <= cap:
            assert len(numbers) == 1
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))

    by_id = {v.volunteer_id: v for v in pool}
    for volunteer_id in {r.volunteer_id for r in plan.rosters} - {None}:
        volunteer = by_id[volunteer_id]
        assert volunteer.available
        limit = volunteer.max_households if volunteer.max_households is not None else cap
        assert plan.load_of(volunteer_id) <= limit
    assert [u.roster_number for u in plan.unstaffed] == [r.number for r in plan.rosters if r.volunteer_id is None]

    shuffled = list(deliveries)
    random.Random(seed).shuffle(shuffled)
    assert rosters_build(deliveries=shuffled, volunteers=pool, rules=rules) == plan


@settings(max_examples=100, deadline=None)
@given(size=st.integers(1, 80), cap=st.integers(1, 12))
def test_one_unit_splits_into_the_fewest_rosters_within_one_household_of_each_other(size, cap):
    plan = rosters_build(deliveries=tower("1", "1", size, 1), volunteers=[], rules=RosterRules(max_households=cap))

    sizes = [roster.households for roster in plan.rosters]
    assert len(sizes) == -(-size // cap)
    assert max(sizes) - min(sizes) <= 1
    assert sizes == sorted(sizes, reverse=True)
