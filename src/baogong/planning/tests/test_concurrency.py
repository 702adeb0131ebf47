"""A day plan's last two allocations finishing at the same moment, on real connections.

Each allocation task adds itself to the plan's counter; the one that brings it
to the total splits the fleet and creates the parts. Run from two threads at a
barrier (a SQLite file in WAL, or PostgreSQL), exactly one of them must do
that, every time: never neither (a plan left allocating) and never both (each
subdistrict planned twice).
"""

from __future__ import annotations

import pytest

from baogong.core.models import AuditLog
from baogong.core.tests.concurrency import run_concurrently
from baogong.orders.tests.factories import DAY
from baogong.orders.tests.test_concurrency import concurrent_database  # noqa: F401 - fixture
from baogong.planning.day_plan import day_plan_allocation_solve, day_plan_start
from baogong.planning.models import DayPlanStatus
from baogong.planning.tests.day_plan_world import build_plan_world

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

RUNS = 5


def allocate_at_once(allocation_ids: list[int]) -> list[list[int]]:
    """Run the allocations from one thread each, released together; the part ids each returned."""
    returned: list[list[int]] = []

    def allocate(index: int) -> None:
        solved = day_plan_allocation_solve(allocation_id=allocation_ids[index])
        returned.append([] if solved is None else solved[1])

    # Any exception, an ApplicationError included, fails the test.
    assert run_concurrently(len(allocation_ids), len(allocation_ids), allocate) == ["ok"] * len(allocation_ids)
    return returned


def test_exactly_one_of_two_simultaneous_last_allocations_creates_the_parts(
    concurrent_database,  # noqa: F811
    settings,
):
    # Queue the plan's tasks as rows instead of running them at once: the threads below run the allocations.
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    pw = build_plan_world()
    for _run in range(RUNS):
        plan = day_plan_start(actor=pw.command, delivery_date=DAY, time_limit_s=0.2)
        allocation_ids = list(plan.allocations.order_by("pk").values_list("pk", flat=True))
        assert len(allocation_ids) == 2
        returned = allocate_at_once(allocation_ids)

        plan.refresh_from_db()
        part_ids = sorted(plan.parts.values_list("pk", flat=True))
        assert sorted(returned, key=len) == [[], part_ids]
        assert len(part_ids) == plan.parts_total == 2
        assert (plan.status, plan.allocations_finished) == (DayPlanStatus.QUEUED, 2)
        assert AuditLog.objects.filter(action="day_plan.allocated", target_id=str(plan.pk)).count() == 1
