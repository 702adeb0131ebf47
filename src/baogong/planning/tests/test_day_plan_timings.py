"""Phase timings of a day plan: recorded per part and for the plan, and adding up."""

from __future__ import annotations

import time

import pytest

from baogong.core.models import AuditLog
from baogong.orders.tests.factories import DAY
from baogong.planning.day_plan import PART_PHASES, day_plan_solve, day_plan_timings
from baogong.planning.models import DayPlanStatus
from baogong.planning.tests.day_plan_world import build_plan_world

pytestmark = pytest.mark.django_db

TINY = 0.3


@pytest.fixture
def pw():
    return build_plan_world()


def test_every_part_records_its_phases_and_the_plan_adds_them_up(pw):
    started = time.perf_counter()
    plan = day_plan_solve(actor=pw.command, delivery_date=DAY, time_limit_s=TINY)
    wall = time.perf_counter() - started

    assert plan.status == DayPlanStatus.DONE
    parts = list(plan.parts.order_by("pk"))
    assert len(parts) == 2
    for part in parts:
        timings = part.solver["timings"]
        assert sorted(timings) == sorted(PART_PHASES)
        assert all(isinstance(value, float) and value >= 0 for value in timings.values())
        # Every part here has stops and a vehicle, so the solver ran; it stops at the limit at the latest.
        assert 0 < timings["routing_s"] <= TINY + 2.0
        assert part.solver["runtime_s"] <= timings["routing_s"]
    start = AuditLog.objects.get(action="day_plan.allocated", target_id=str(plan.pk))
    assert sorted(start.payload["timings"]) == ["allocation_s", "allocation_work_s", "split_s"]

    timings = day_plan_timings(plan=plan)

    assert timings.parts_timed == 2
    assert timings.allocation_s == start.payload["timings"]["allocation_s"]
    assert timings.split_s == start.payload["timings"]["split_s"]
    assert timings.allocation_work_s == round(sum(a.seconds for a in plan.allocations.all()), 3)
    assert 0 < timings.allocation_work_s <= timings.allocation_s
    assert timings.allocation_s is not None
    assert timings.allocation_s > 0
    for phase in PART_PHASES:
        assert getattr(timings, phase) == pytest.approx(sum(p.solver["timings"][phase] for p in parts), abs=1e-3)
    per_part = [sum(p.solver["timings"][phase] for phase in PART_PHASES) for p in parts]
    assert timings.slowest_part_s == pytest.approx(max(per_part), abs=1e-3)
    # The parts ran one after another in this process, so their phases fit inside the call.
    assert timings.allocation_s + timings.split_s + sum(per_part) <= wall


def test_a_failed_part_is_left_out_of_the_timings(pw, monkeypatch):
    from baogong.planning import day_plan

    calls = []

    def flaky(part):
        calls.append(part.pk)
        if len(calls) == 1:
            raise RuntimeError("solver crashed")
        return real(part)

    real = day_plan._part_compute
    monkeypatch.setattr(day_plan, "_part_compute", flaky)

    plan = day_plan_solve(actor=pw.command, delivery_date=DAY, time_limit_s=TINY)

    assert (plan.status, plan.parts_failed) == (DayPlanStatus.FAILED, 1)
    failed = plan.parts.get(pk=calls[0])
    assert failed.solver == {}
    timings = day_plan_timings(plan=plan)
    assert timings.parts_timed == 1
    done = plan.parts.get(status=DayPlanStatus.DONE)
    assert timings.routing_s == done.solver["timings"]["routing_s"]
