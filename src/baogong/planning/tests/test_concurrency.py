"""A day plan's last two allocations finishing at the same moment, on real connections.

Each allocation task adds itself to the plan's counter; the one that brings it
to the total splits the fleet and creates the parts. Run from two threads at a
barrier (a SQLite file in WAL, or PostgreSQL), exactly one of them must do
that, every time: never neither (a plan left allocating) and never both (each
subdistrict planned twice).
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from baogong.core.models import AuditLog
from baogong.orders.tests.factories import DAY
from baogong.orders.tests.test_concurrency import concurrent_database  # noqa: F401 - fixture
from baogong.planning.day_plan import day_plan_allocation_solve, day_plan_start
from baogong.planning.models import DayPlanStatus
from baogong.planning.tests.day_plan_world import build_plan_world

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

RUNS = 5


def allocate_at_once(allocation_ids: list[int]) -> tuple[list[list[int]], list[BaseException]]:
    """Run the allocations from one thread each, released together; the part ids each returned, and errors."""
    barrier = threading.Barrier(len(allocation_ids))
    returned: list[list[int]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def allocate(allocation_id: int) -> None:
        try:
            barrier.wait()
            solved = day_plan_allocation_solve(allocation_id=allocation_id)
            with lock:
                returned.append([] if solved is None else solved[1])
        except BaseException as error:  # reported by the test; a thread must not swallow it
            with lock:
                errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=allocate, args=(pk,)) for pk in allocation_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return returned, errors


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
        returned, errors = allocate_at_once(allocation_ids)

        assert errors == []
        plan.refresh_from_db()
        part_ids = sorted(plan.parts.values_list("pk", flat=True))
        assert sorted(returned, key=len) == [[], part_ids]
        assert len(part_ids) == plan.parts_total == 2
        assert (plan.status, plan.allocations_finished) == (DayPlanStatus.QUEUED, 2)
        assert AuditLog.objects.filter(action="day_plan.allocated", target_id=str(plan.pk)).count() == 1
