"""Background tasks of the planner (Django Tasks API): one task per subdistrict of a day plan."""

from __future__ import annotations

from django_tasks import task

from .day_plan import day_plan_part_solve


@task()
def day_plan_part_task(part_id: int) -> str:
    """Solve one subdistrict of a day plan; any number of workers on any machine may run these."""
    part = day_plan_part_solve(part_id=part_id)
    return "already claimed" if part is None else part.status
