"""Scoped reads of day plans: the plan, its route sheets, rosters, pickup slots and map data."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from baogong.accounts.models import Role
from baogong.core.errors import NotFound
from baogong.core.scoping import Scope

from .models import DayPlan, PlanPickupSlot, PlanRoster, PlanRoute, PlanStop

# Plans are the command office's and the subdistrict offices' work; nobody else sees them.
PLAN_ROLES = frozenset({Role.COMMAND, Role.SUBDISTRICT})


def day_plan_list(*, scope: Scope) -> QuerySet[DayPlan]:
    """Plans of areas inside the caller's region, for the command office and subdistrict offices only."""
    if scope.role not in PLAN_ROLES or scope.region_path is None:
        return DayPlan.objects.none()
    return (
        DayPlan.objects.filter(area__path__startswith=scope.region_path)
        .select_related("area")
        .order_by("-delivery_date", "-id")
    )


def day_plan_get(*, scope: Scope, plan_id: int) -> DayPlan:
    plan = day_plan_list(scope=scope).filter(pk=plan_id).first()
    if plan is None:
        raise NotFound()
    return plan


def day_plan_routes(*, plan: DayPlan) -> list[PlanRoute]:
    """Route sheets: each vehicle's stops in driving order."""
    return list(
        plan.routes.select_related("vehicle", "depot", "part__subdistrict")
        .prefetch_related(
            Prefetch("stops", queryset=PlanStop.objects.select_related("compound").order_by("trip", "sequence"))
        )
        .order_by("vehicle__plate")
    )


def day_plan_unrouted(*, plan: DayPlan) -> QuerySet[PlanStop]:
    return plan.stops_planned.filter(route__isnull=True).select_related("compound").order_by("compound__code")


def day_plan_rosters(*, plan: DayPlan) -> QuerySet[PlanRoster]:
    return plan.rosters.select_related("compound", "volunteer").order_by("compound__code", "number")


def day_plan_pickup_slots(*, plan: DayPlan) -> QuerySet[PlanPickupSlot]:
    return plan.pickup_slots.select_related("compound").order_by("compound__code", "number")


def day_plan_map_data(*, plan: DayPlan) -> dict[str, Any]:
    """Depots, gates and route polylines for the map (JSON-safe)."""
    routes = day_plan_routes(plan=plan)
    depots: dict[int, dict[str, Any]] = {}
    lines = []
    for route in routes:
        depot = route.depot
        lat = depot.latitude if depot.latitude is not None else None
        lon = depot.longitude if depot.longitude is not None else None
        if lat is not None and lon is not None:
            depots[depot.pk] = {"name": depot.name, "lat": lat, "lon": lon}
        trips: dict[int, list[list[float]]] = {}
        for stop in route.stops.all():
            if stop.latitude is None or stop.longitude is None:
                continue
            trips.setdefault(stop.trip or 1, []).append([stop.latitude, stop.longitude])
        for points in trips.values():
            ends = [[lat, lon]] if lat is not None and lon is not None else []
            lines.append({"vehicle": route.vehicle.plate, "points": ends + points + ends})
    gates = [
        {
            "name": stop.compound.name,
            "lat": stop.latitude,
            "lon": stop.longitude,
            "kg": stop.demand_kg,
            "routed": stop.route_id is not None,
        }
        for stop in plan.stops_planned.select_related("compound").order_by("compound__code")
        if stop.latitude is not None and stop.longitude is not None
    ]
    return {"depots": list(depots.values()), "gates": gates, "routes": lines}
