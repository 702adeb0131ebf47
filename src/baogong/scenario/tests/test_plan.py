"""The pure planning helpers."""

from __future__ import annotations

import random

import pytest

from baogong.scenario.parameters import preset_get
from baogong.scenario.plan import allocate, allocate_bounded, scenario_plan


def test_allocate_keeps_the_total_and_proportions():
    assert allocate(10, [1.0, 1.0, 2.0]) == [3, 2, 5] or allocate(10, [1.0, 1.0, 2.0]) == [2, 3, 5]
    parts = allocate(120, [1.0] * 40, random.Random(1))
    assert parts == [3] * 40


def test_allocate_bounded_respects_bounds_and_total():
    rng = random.Random(7)
    weights = [rng.lognormvariate(6, 1.2) for _ in range(500)]
    parts = allocate_bounded(300_000, weights, 60, 4000)
    assert sum(parts) == 300_000
    assert min(parts) >= 60
    assert max(parts) <= 4000


def test_allocate_bounded_refuses_an_impossible_split():
    with pytest.raises(ValueError, match="cannot split"):
        allocate_bounded(100, [1.0, 1.0], 60, 4000)


def test_county_plan_has_the_shape_of_the_county_model():
    preset = preset_get(name="county")
    plan = scenario_plan(preset, seed=1, first_region_id=1)
    subdistricts = plan.subdistricts()
    assert len(subdistricts) == 14
    assert sum(1 for s in subdistricts if not s.is_rural) == 4
    communities = plan.communities()
    assert sum(1 for c in communities if not c.is_rural) == 40
    assert sum(1 for c in communities if c.is_rural) == 180
    compounds = plan.compounds()
    assert len(compounds) == 300
    assert sum(c.households for c in compounds) == 188_700
    assert sum(c.volunteers for c in compounds) == 18_870
    assert all(60 <= c.households <= 4000 for c in compounds)
    assert all(c.backup is not None and c.backup != c.supermarket for c in compounds)
    assert len(plan.supermarkets) == 20


def test_city_plan_has_sixteen_district_roots():
    preset = preset_get(name="city")
    plan = scenario_plan(preset, seed=1, first_region_id=1)
    assert len(plan.roots) == 16
    assert len(plan.subdistricts()) == 215
    assert len(plan.communities()) == 6100
    compounds = plan.compounds()
    assert len(compounds) == 13_000
    assert sum(c.households for c in compounds) == 10_580_000
    # Inner districts have no towns.
    assert not any(s.is_rural for root in plan.roots[:7] for s in root.subdistricts)
