"""Scoped reads of allocation runs: the run, its per-household explanation, unmet demand, carry-over."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, QuerySet, Sum

from baogong.accounts.models import Role
from baogong.core.errors import NotFound
from baogong.core.scoping import Scope

from .models import AllocationCarryOver, AllocationItem, AllocationLine, AllocationRun, PackageConversion

# Roles that see the runs of supermarkets in their region subtree.
RUN_REGION_ROLES = frozenset({Role.COMMAND, Role.SUBDISTRICT, Role.COMMUNITY})


def allocation_run_list(*, scope: Scope, delivery_date: date | None = None) -> QuerySet[AllocationRun]:
    """Runs a supplier's staff ran for their supermarket; planners see supermarkets within their area."""
    runs = AllocationRun.objects.select_related("supermarket")
    if scope.role == Role.SUPPLIER and scope.organisation_id is not None:
        runs = runs.filter(supermarket_id=scope.organisation_id)
    elif scope.role in RUN_REGION_ROLES and scope.region_path is not None:
        runs = runs.filter(supermarket__region__path__startswith=scope.region_path)
    else:
        return AllocationRun.objects.none()
    if delivery_date is not None:
        runs = runs.filter(delivery_date=delivery_date)
    return runs.order_by("-delivery_date", "-id")


def allocation_run_get(*, scope: Scope, run_id: int) -> AllocationRun:
    run = allocation_run_list(scope=scope).filter(pk=run_id).first()
    if run is None:
        raise NotFound()
    return run


def allocation_run_current(*, scope: Scope, supermarket_id: int, delivery_date: date) -> AllocationRun | None:
    return (
        allocation_run_list(scope=scope, delivery_date=delivery_date)
        .filter(supermarket_id=supermarket_id, is_current=True)
        .first()
    )


@dataclass(frozen=True)
class LineExplanation:
    """One row of a run's explanation: a household's claim on an item (ids only, no personal data)."""

    household_id: int
    item: str
    tier: str
    weight: int
    ordered: int
    allocated: int
    unmet: int
    rule: str
    reason: str


def allocation_lines_of(*, run: AllocationRun) -> QuerySet[AllocationLine]:
    return run.lines.select_related("item__commodity", "item__kit").order_by("item_id", "household_id", "tier")


def allocation_explain(*, run: AllocationRun) -> list[LineExplanation]:
    return [
        LineExplanation(
            household_id=line.household_id,
            item=line.item.goods_name,
            tier=line.tier,
            weight=line.weight,
            ordered=line.ordered,
            allocated=line.allocated,
            unmet=line.unmet,
            rule=line.rule,
            reason=line.explanation,
        )
        for line in allocation_lines_of(run=run)
    ]


def allocation_items_of(*, run: AllocationRun) -> QuerySet[AllocationItem]:
    return run.items.select_related("commodity", "kit").order_by("id")


def allocation_unmet_by_item(*, run: AllocationRun) -> QuerySet[AllocationItem]:
    """Items the run could not cover in full, largest shortfall first."""
    return allocation_items_of(run=run).filter(unmet__gt=0).order_by("-unmet", "id")


def allocation_conversions_of(*, run: AllocationRun) -> QuerySet[PackageConversion]:
    return run.conversions.select_related("package", "run").order_by("id")


@dataclass(frozen=True)
class CarriedDemand:
    commodity_id: int | None
    kit_id: int | None
    households: int
    quantity: int


def allocation_carry_over_for(*, scope: Scope, supermarket_id: int, delivery_date: date) -> list[CarriedDemand]:
    """Demand carried into `delivery_date` by the current run of the day before, per item."""
    runs = allocation_run_list(scope=scope).filter(supermarket_id=supermarket_id, is_current=True)
    rows = (
        AllocationCarryOver.objects.filter(run__in=runs, for_date=delivery_date)
        .values("item__commodity_id", "item__kit_id")
        .annotate(quantity=Sum("quantity"), households=Count("household_id"))
        .order_by("item__commodity_id", "item__kit_id")
    )
    return [
        CarriedDemand(
            commodity_id=row["item__commodity_id"],
            kit_id=row["item__kit_id"],
            households=row["households"],
            quantity=row["quantity"],
        )
        for row in rows
    ]
