from __future__ import annotations

from datetime import time

import pytest
from django.core.exceptions import ImproperlyConfigured

from baogong.orders.tests.factories import DAY
from baogong.planning.day_plan import day_plan_solve
from baogong.planning.day_rules import DEFAULTS, day_rules, day_rules_build, day_rules_check
from baogong.planning.models import DayPlanPart, PlanPickupSlot, PlanRoster, PlanStop
from baogong.planning.tests.day_plan_world import build_plan_world


def test_defaults_are_the_documented_day():
    rules = day_rules_build({})

    assert rules.as_dict() == DEFAULTS
    assert (rules.gate_opens, rules.gate_closes, rules.max_trips) == (time(7), time(18), 3)
    assert (rules.rosters.max_households, rules.pickup.capacity) == (10, 20)


def test_strings_from_the_environment_are_parsed():
    rules = day_rules_build(
        {"gate_opens": "06:30", "max_trips": "2", "unloading_minutes": "7.5", "courier_households": "8"}
    )

    assert (rules.gate_opens, rules.max_trips, rules.unloading_minutes, rules.rosters.max_households) == (
        time(6, 30),
        2,
        7.5,
        8,
    )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"gate_opens": "7am"}, "PLANNING_DAY['gate_opens'] must be a time like 07:00, not '7am'"),
        ({"max_trips": "two"}, "PLANNING_DAY['max_trips'] must be a whole number, not 'two'"),
        ({"max_trips": "0"}, "PLANNING_DAY['max_trips'] must be between 1 and 10, not 0"),
        ({"courier_households": "2.5"}, "PLANNING_DAY['courier_households'] must be a whole number, not '2.5'"),
        ({"loading_minutes": "-1"}, "PLANNING_DAY['loading_minutes'] must be between 0 and 240, not -1.0"),
        ({"gate_opens": "18:00", "gate_closes": "07:00"}, "PLANNING_DAY: gate_opens must be before gate_closes"),
        ({"shift_starts": "21:00"}, "PLANNING_DAY: shift_starts must be before shift_ends"),
        (
            {"shift_starts": "19:00", "shift_ends": "23:00"},
            "PLANNING_DAY: the drivers' shift must overlap the gates' opening hours",
        ),
        ({"gates": "07:00"}, "PLANNING_DAY has unknown keys: gates"),
    ],
)
def test_bad_values_name_the_setting(values, message):
    with pytest.raises(ImproperlyConfigured) as caught:
        day_rules_build(values)

    assert str(caught.value) == message


def test_the_system_check_reports_bad_settings(settings):
    settings.PLANNING_DAY = {"max_trips": "0"}

    errors = day_rules_check()

    assert [(e.id, e.msg) for e in errors] == [
        ("baogong.E010", "PLANNING_DAY['max_trips'] must be between 1 and 10, not 0")
    ]
    settings.PLANNING_DAY = {}
    assert day_rules_check() == []
    assert day_rules() == day_rules_build({})


@pytest.mark.django_db
def test_the_plan_follows_the_configured_day_and_records_it(settings):
    settings.PLANNING_DAY = {"gate_opens": "08:00", "gate_closes": "16:00", "courier_households": "5"}
    pw = build_plan_world()

    plan = day_plan_solve(actor=pw.command, delivery_date=DAY, time_limit_s=0.3)

    stops = list(PlanStop.objects.filter(plan=plan))
    assert {(s.window_open, s.window_close) for s in stops} == {(time(8), time(16))}
    assert all(s.arrival is None or time(8) <= s.arrival <= time(16) for s in stops)
    # A1's 14 households now walk in rosters of at most 5.
    assert sorted(
        r.household_count for r in PlanRoster.objects.filter(plan=plan, compound=pw.ow.world.regions["A1"])
    ) == [
        4,
        5,
        5,
    ]
    assert all(slot.starts >= time(8) for slot in PlanPickupSlot.objects.filter(plan=plan))
    recorded = [part.solver["rules"] for part in DayPlanPart.objects.filter(plan=plan)]
    assert recorded == [day_rules_build(settings.PLANNING_DAY).as_dict()] * 2
