"""The allocation rules as pure functions: hand-computed cases, then properties."""

from __future__ import annotations

import itertools
import random
from datetime import datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baogong.planning.allocation import (
    AllocationRules,
    Basket,
    Claim,
    ItemDemand,
    Rounding,
    Rule,
    StandardPackage,
    Tier,
    allocate,
    allocate_item,
    package_conversions_propose,
)

T0 = datetime(2030, 4, 11, 6, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
RULES = AllocationRules()


def claims_of(*specs: tuple[int, int], tier: Tier = Tier.GENERAL, first_id: int = 1) -> tuple[Claim, ...]:
    """Claims from (household size, ordered), ordered a minute apart in the order given."""
    return tuple(
        Claim(first_id + i, tier, weight, ordered, T0 + timedelta(minutes=i))
        for i, (weight, ordered) in enumerate(specs)
    )


def run(supply: int, claims: tuple[Claim, ...], rules: AllocationRules = RULES):
    return allocate_item(demand=ItemDemand("commodity:1", supply, claims), rules=rules)


def table(result) -> list[tuple[int, int, Fraction, Rule, Rounding]]:
    return [(r.claim.household_id, r.allocated, r.share, r.rule, r.rounding) for r in result.results]


# --- hand-computed cases --------------------------------------------------------------------------


def test_ten_units_among_sizes_one_to_four_ordering_five_each_go_one_unit_per_person():
    result = run(10, claims_of((1, 5), (2, 5), (3, 5), (4, 5)))

    assert table(result) == [
        (1, 1, Fraction(1), Rule.FAIR_SHARE, Rounding.EXACT),
        (2, 2, Fraction(2), Rule.FAIR_SHARE, Rounding.EXACT),
        (3, 3, Fraction(3), Rule.FAIR_SHARE, Rounding.EXACT),
        (4, 4, Fraction(4), Rule.FAIR_SHARE, Rounding.EXACT),
    ]
    assert (result.supply, result.demand, result.allocated, result.unmet) == (10, 20, 10, 10)


def test_seven_units_give_the_single_person_the_floor_and_round_by_largest_remainder():
    # Level 2/3: shares 1 (floor over 2/3), 4/3, 2, 8/3; 6 whole units, the 7th to the largest remainder 2/3.
    result = run(7, claims_of((1, 5), (2, 5), (3, 5), (4, 5)))

    assert table(result) == [
        (1, 1, Fraction(1), Rule.FLOOR, Rounding.EXACT),
        (2, 1, Fraction(4, 3), Rule.FAIR_SHARE, Rounding.DOWN),
        (3, 2, Fraction(2), Rule.FAIR_SHARE, Rounding.EXACT),
        (4, 3, Fraction(8, 3), Rule.FAIR_SHARE, Rounding.UP),
    ]
    assert [r.floor for r in result.results] == [1, 1, 1, 1]


def test_small_orders_are_capped_and_the_rest_is_shared_by_size():
    # Level 7/5: sizes 1 and 4 ordered less than their share (1 < 7/5, 2 < 28/5); 14/5 and 21/5 remain.
    result = run(10, claims_of((1, 1), (2, 5), (3, 5), (4, 2)))

    assert table(result) == [
        (1, 1, Fraction(1), Rule.CAPPED, Rounding.EXACT),
        (2, 3, Fraction(14, 5), Rule.FAIR_SHARE, Rounding.UP),
        (3, 4, Fraction(21, 5), Rule.FAIR_SHARE, Rounding.DOWN),
        (4, 2, Fraction(2), Rule.CAPPED, Rounding.EXACT),
    ]


def test_enough_supply_serves_everyone_in_full_and_leaves_the_rest():
    result = run(50, claims_of((1, 5), (4, 2)))

    assert table(result) == [
        (1, 5, Fraction(5), Rule.IN_FULL, Rounding.EXACT),
        (2, 2, Fraction(2), Rule.IN_FULL, Rounding.EXACT),
    ]
    assert (result.allocated, result.unmet) == (7, 0)


def test_vulnerable_household_is_served_in_full_before_the_fair_share():
    claims = (Claim(1, Tier.GENERAL, 4, 5, T0), Claim(2, Tier.VULNERABLE, 1, 3, T0 + timedelta(minutes=5)))

    result = run(5, claims)

    assert [(r.claim.household_id, r.allocated, r.rule, r.prioritised) for r in result.results] == [
        (2, 3, Rule.IN_FULL, True),
        (1, 2, Rule.FAIR_SHARE, False),
    ]


def test_priority_tiers_follow_the_configured_order():
    claims = (Claim(1, Tier.RELIEF, 2, 4, T0), Claim(2, Tier.VULNERABLE, 2, 4, T0))

    relief_first = run(4, claims)
    vulnerable_first = run(4, claims, AllocationRules(priority_tiers=(Tier.VULNERABLE, Tier.RELIEF)))

    assert [(r.claim.household_id, r.allocated, r.rule) for r in relief_first.results] == [
        (1, 4, Rule.IN_FULL),
        (2, 0, Rule.EXHAUSTED),
    ]
    assert [(r.claim.household_id, r.allocated, r.rule) for r in vulnerable_first.results] == [
        (2, 4, Rule.IN_FULL),
        (1, 0, Rule.EXHAUSTED),
    ]


def test_without_priority_tiers_vulnerable_households_share_like_everyone():
    claims = (Claim(1, Tier.VULNERABLE, 1, 5, T0), Claim(2, Tier.GENERAL, 3, 5, T0))

    result = run(4, claims, AllocationRules(priority_tiers=()))

    assert [(r.claim.household_id, r.allocated, r.rule, r.prioritised) for r in result.results] == [
        (1, 1, Rule.FAIR_SHARE, False),
        (2, 3, Rule.FAIR_SHARE, False),
    ]


def test_a_short_priority_tier_is_shared_fairly_within_itself():
    # Three relief households of sizes 1, 2, 3, one kit each, two kits: no floor (3 > 2), level 1/3.
    claims = (*claims_of((1, 1), (2, 1), (3, 1), tier=Tier.RELIEF), Claim(9, Tier.GENERAL, 1, 1, T0))

    result = run(2, claims)

    assert table(result) == [
        (1, 0, Fraction(1, 3), Rule.FAIR_SHARE, Rounding.DOWN),
        (2, 1, Fraction(2, 3), Rule.FAIR_SHARE, Rounding.UP),
        (3, 1, Fraction(1), Rule.CAPPED, Rounding.EXACT),
        (9, 0, Fraction(0), Rule.EXHAUSTED, Rounding.EXACT),
    ]


def test_floor_gives_everyone_one_unit_when_supply_allows_it():
    claims = claims_of((1, 4), (1, 4), (1, 4), (9, 4))

    with_floor = run(4, claims)
    without_floor = run(4, claims, AllocationRules(floor_units=0))

    assert [(r.allocated, r.rule) for r in with_floor.results] == [(1, Rule.FLOOR)] * 4
    # Level 1/3: shares 1/3, 1/3, 1/3, 3; the spare unit goes to the earliest order of the tied remainders.
    assert [r.allocated for r in without_floor.results] == [1, 0, 0, 3]


def test_floor_is_dropped_when_supply_cannot_give_everyone_one():
    # Three units for four households: level 1/4, shares 1/4, 1/4, 1/4, 9/4; all remainders 1/4, earliest wins.
    result = run(3, claims_of((1, 4), (1, 4), (1, 4), (9, 4)))

    assert [(r.allocated, r.floor, r.rule) for r in result.results] == [
        (1, 0, Rule.FAIR_SHARE),
        (0, 0, Rule.FAIR_SHARE),
        (0, 0, Rule.FAIR_SHARE),
        (2, 0, Rule.FAIR_SHARE),
    ]


def test_floor_never_exceeds_what_was_ordered():
    # Floor 3 but household 1 ordered 1: its floor is 1, and it gets exactly that.
    result = run(5, claims_of((1, 1), (1, 9)), AllocationRules(floor_units=3))

    assert [(r.allocated, r.floor) for r in result.results] == [(1, 1), (4, 3)]


def test_ties_go_to_the_earlier_order_then_the_lower_household_id():
    claims = (
        Claim(7, Tier.GENERAL, 1, 2, T0 + timedelta(minutes=2)),
        Claim(5, Tier.GENERAL, 1, 2, T0 + timedelta(minutes=1)),
        Claim(6, Tier.GENERAL, 1, 2, T0 + timedelta(minutes=1)),
    )

    result = run(2, claims)

    assert [(r.claim.household_id, r.allocated) for r in result.results] == [(5, 1), (6, 1), (7, 0)]


def test_no_supply_at_all_is_reported_as_such():
    result = run(0, claims_of((1, 2), (2, 2)))

    assert [(r.allocated, r.rule) for r in result.results] == [(0, Rule.NO_SUPPLY), (0, Rule.NO_SUPPLY)]
    assert result.unmet == 4


def test_the_same_input_in_any_order_gives_the_same_allocation():
    claims = list(claims_of((1, 3), (2, 3), (3, 3), (4, 3), (2, 1), (5, 7)))
    expected = table(run(9, tuple(claims)))

    for seed in range(5):
        random.Random(seed).shuffle(claims)
        assert table(run(9, tuple(claims))) == expected


def test_allocate_handles_items_independently_in_key_order_with_run_totals():
    items = [
        ItemDemand("kit:2", 1, claims_of((1, 1), (2, 1))),
        ItemDemand("commodity:9", 10, claims_of((3, 4))),
    ]

    allocation = allocate(items=items, rules=RULES)

    assert [(i.item, i.supply, i.demand, i.allocated, i.unmet) for i in allocation.items] == [
        ("commodity:9", 10, 4, 4, 0),
        ("kit:2", 1, 2, 1, 1),
    ]
    assert (allocation.supply, allocation.demand, allocation.allocated, allocation.unmet) == (11, 6, 5, 1)


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ((Claim(1, Tier.GENERAL, 0, 1),), "weight and ordered must be at least 1"),
        ((Claim(1, Tier.GENERAL, 1, 0),), "weight and ordered must be at least 1"),
        ((Claim(1, Tier.GENERAL, 1, 1), Claim(1, Tier.GENERAL, 2, 2)), "two claims in tier general"),
    ],
)
def test_bad_claims_are_refused(claims, message):
    with pytest.raises(ValueError, match=message):
        run(5, claims)


def test_rules_survive_storage():
    rules = AllocationRules(
        priority_tiers=(Tier.VULNERABLE,), floor_units=2, order_statuses=("placed", "confirmed"), pick_line_capacity=40
    )

    assert AllocationRules.from_dict(rules.as_dict()) == rules
    assert rules.as_dict() == {
        "priority_tiers": ["vulnerable"],
        "floor_units": 2,
        "order_statuses": ["placed", "confirmed"],
        "carry_over": True,
        "pick_line_capacity": 40,
        "convert_vulnerable": False,
    }


# --- properties -----------------------------------------------------------------------------------

claim_specs = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=8),  # persons
        st.integers(min_value=1, max_value=12),  # ordered
        st.sampled_from([Tier.GENERAL, Tier.GENERAL, Tier.VULNERABLE, Tier.RELIEF]),
        st.integers(min_value=0, max_value=5),  # minutes after T0
    ),
    min_size=1,
    max_size=25,
)


def claims_from(specs) -> tuple[Claim, ...]:
    return tuple(
        Claim(i + 1, tier, weight, ordered, T0 + timedelta(minutes=minute))
        for i, (weight, ordered, tier, minute) in enumerate(specs)
    )


def pools_of(result, rules: AllocationRules) -> list[list]:
    order = [*rules.priority_tiers, None]
    pools: list[list] = [[] for _ in order]
    for r in result.results:
        index = order.index(r.claim.tier) if r.claim.tier in rules.priority_tiers else len(order) - 1
        pools[index].append(r)
    return [pool for pool in pools if pool]


@settings(max_examples=150, deadline=None)
@given(specs=claim_specs, supply=st.integers(min_value=0, max_value=150), floor_units=st.integers(0, 3))
def test_allocation_properties(specs, supply, floor_units):
    rules = AllocationRules(floor_units=floor_units)
    claims = claims_from(specs)
    demand = sum(c.ordered for c in claims)

    result = run(supply, claims, rules)

    assert result.allocated == sum(r.allocated for r in result.results) == min(supply, demand)
    for r in result.results:
        assert 0 <= r.allocated <= r.claim.ordered
        assert abs(r.allocated - r.share) < 1
        assert r.share <= r.claim.ordered
    pools = pools_of(result, rules)
    for earlier, later in itertools.pairwise(pools):
        if any(r.allocated for r in later):
            assert all(r.allocated == r.claim.ordered for r in earlier)
    for pool in pools:
        pool_supply = sum(r.allocated for r in pool)
        assert sum(r.share for r in pool) == pool_supply
        if pool_supply == sum(r.claim.ordered for r in pool):
            continue
        floors = [min(floor_units, r.claim.ordered) for r in pool]
        if pool_supply > 0 and sum(floors) <= pool_supply:
            assert all(r.allocated >= f for r, f in zip(pool, floors, strict=True))
        # Max-min on the continuous shares: a household that could still gain has a ratio share/persons at
        # least as high as anyone's who could give something up (everyone above their floor).
        for i in pool:
            if i.share >= i.claim.ordered:
                continue
            for j in pool:
                if j.share > j.floor:
                    assert j.share * i.claim.weight <= i.share * j.claim.weight


@settings(max_examples=60, deadline=None)
@given(specs=claim_specs, supply=st.integers(min_value=0, max_value=150), seed=st.integers(0, 1000))
def test_allocation_is_deterministic_whatever_the_input_order(specs, supply, seed):
    claims = list(claims_from(specs))
    expected = sorted(table(run(supply, tuple(claims))))

    random.Random(seed).shuffle(claims)

    assert sorted(table(run(supply, tuple(claims)))) == expected


# --- P1: standard packages when packing capacity is short -----------------------------------------

MIX = StandardPackage("kit:1", (("commodity:1", 1), ("commodity:2", 2)))
GREENS = StandardPackage("kit:2", (("commodity:2", 3), ("commodity:3", 1), ("commodity:4", 1)))


def basket(household_id: int, *items: str, minute: int = 0, **kwargs) -> Basket:
    return Basket(household_id, tuple((item, 1) for item in items), ordered_at=T0 + timedelta(minutes=minute), **kwargs)


def test_no_conversion_when_the_pick_lines_fit():
    proposal = package_conversions_propose(
        baskets=[basket(1, "commodity:1", "commodity:2")], packages=[MIX], pick_line_capacity=2
    )

    assert (proposal.lines_before, proposal.lines_after, proposal.conversions, proposal.still_over) == (2, 2, (), 0)


def test_biggest_savings_convert_first_then_the_latest_orders():
    baskets = [
        basket(1, "commodity:1", "commodity:2", minute=0),
        basket(2, "commodity:1", "commodity:2", minute=5),
        basket(3, "commodity:2", "commodity:3", "commodity:4", minute=9),
        basket(4, "commodity:9", package_lines=1),
    ]

    proposal = package_conversions_propose(baskets=baskets, packages=[MIX, GREENS], pick_line_capacity=6)

    assert [(c.household_id, c.package, c.replaced, c.lines_saved) for c in proposal.conversions] == [
        (3, "kit:2", (("commodity:2", 1), ("commodity:3", 1), ("commodity:4", 1)), 2),
        (2, "kit:1", (("commodity:1", 1), ("commodity:2", 1)), 1),
    ]
    assert (proposal.lines_before, proposal.lines_after, proposal.still_over) == (9, 6, 0)


def test_vulnerable_households_keep_their_items_unless_the_rules_allow():
    baskets = [basket(1, "commodity:1", "commodity:2", vulnerable=True)]

    kept = package_conversions_propose(baskets=baskets, packages=[MIX], pick_line_capacity=0)
    converted = package_conversions_propose(
        baskets=baskets, packages=[MIX], pick_line_capacity=0, convert_vulnerable=True
    )

    assert (kept.conversions, kept.still_over) == ((), 2)
    assert [c.household_id for c in converted.conversions] == [1]
    assert converted.lines_after == 1
