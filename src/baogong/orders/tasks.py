"""Background tasks of the ordering system (Django Tasks API)."""

from __future__ import annotations

from datetime import date

from django_tasks import task

from .services import purchase_orders_consolidate


@task()
def orders_consolidate_task(delivery_date: str) -> list[int]:
    """Run at or after cut-off: make the day's purchase orders. Takes an ISO date (task arguments are JSON)."""
    made = purchase_orders_consolidate(delivery_date=date.fromisoformat(delivery_date))
    return [purchase_order.pk for purchase_order in made]
