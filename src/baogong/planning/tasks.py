"""Background tasks of the planner (Django Tasks API): one per supermarket, then one per subdistrict of a plan."""

from __future__ import annotations

from django_tasks import task

from .day_plan import day_plan_allocation_solve, day_plan_part_solve


@task()
def day_plan_allocation_task(allocation_id: int) -> str:
    """Allocate one supermarket of a day plan; the last allocation of the plan queues its subdistricts."""
    solved = day_plan_allocation_solve(allocation_id=allocation_id)
    if solved is None:
        return "already claimed"
    allocation, part_ids = solved
    for part_id in part_ids:
        day_plan_part_task.enqueue(part_id)
    return allocation.status


@task()
def day_plan_part_task(part_id: int) -> str:
    """Solve one subdistrict of a day plan; any number of workers on any machine may run these."""
    part = day_plan_part_solve(part_id=part_id)
    return "already claimed" if part is None else part.status
