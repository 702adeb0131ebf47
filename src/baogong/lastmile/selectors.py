"""Reads of the last mile: a courier's rosters and packages, pickup households, delivery times.

Rosters come from finished day plans. The courier page lists the rosters of
the newest finished plan of each area; a courier may act on any package on a
roster of theirs in any finished plan of that day, so actions queued on a
phone before the day was re-planned still sync (and meet a clear conflict if
the package went to someone else who delivered it first).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, time
from math import ceil
from typing import TYPE_CHECKING

from django.db.models import QuerySet

from baogong.core.errors import NotFound
from baogong.core.masking import mask_phone
from baogong.core.scoping import Scope
from baogong.orders.models import DeliveryMode, Order, OrderLine, OrderStatus
from baogong.orders.selectors import order_list
from baogong.planning.models import DayPlan, DayPlanStatus, PlanPickupSlot, PlanRoster
from baogong.regions.models import Household

from .models import FINAL_OUTCOMES, DeliveryEvent, Outcome

if TYPE_CHECKING:
    from baogong.accounts.models import User

# Orders that never reach a door: nothing to deliver.
NOT_DELIVERABLE = (OrderStatus.CANCELLED, OrderStatus.SHORT)


@dataclass(frozen=True)
class PackageView:
    order_id: int
    status: str
    status_label: str
    goods: list[str]
    amount_due: str
    payment_due: bool
    # The outcome recorded so far ("" = none yet); final outcomes end the package's day.
    outcome: str
    outcome_label: str

    @property
    def is_final(self) -> bool:
        return self.outcome in FINAL_OUTCOMES

    @property
    def can_act(self) -> bool:
        return not self.is_final and self.status == OrderStatus.VERIFIED


@dataclass(frozen=True)
class StopView:
    household_id: int
    building: str
    unit: str
    floor: int
    room: str
    phone: str
    packages: list[PackageView]


@dataclass(frozen=True)
class RosterView:
    roster_id: int
    compound_id: int
    compound_name: str
    number: int
    delivery_date: date
    stops: list[StopView] = field(default_factory=list)

    @property
    def households(self) -> int:
        return len(self.stops)


def _finished_rosters(*, delivery_date: date) -> QuerySet[PlanRoster]:
    return PlanRoster.objects.filter(plan__delivery_date=delivery_date, plan__status=DayPlanStatus.DONE)


def _current_plan_ids(*, delivery_date: date) -> set[int]:
    """The newest finished plan of each area for the day (a re-run supersedes the earlier one)."""
    newest: dict[int, int] = {}
    plans = DayPlan.objects.filter(delivery_date=delivery_date, status=DayPlanStatus.DONE).order_by("pk")
    for plan_id, area_id in plans.values_list("pk", "area_id"):
        newest[area_id] = plan_id
    return set(newest.values())


def courier_household_ids(*, actor: User, delivery_date: date) -> set[int]:
    """Households on any roster of `actor` in a finished plan of the day."""
    ids: set[int] = set()
    for stops in _finished_rosters(delivery_date=delivery_date).filter(volunteer=actor).values_list("stops", flat=True):
        ids.update(int(stop["household"]) for stop in stops)
    return ids


def _goods(lines: list[OrderLine]) -> list[str]:
    names = []
    for line in lines:
        goods = line.kit or line.commodity
        quantity = line.confirmed_quantity if line.confirmed_quantity is not None else line.quantity
        names.append(f"{goods.name if goods is not None else ''} × {quantity}")
    return names


def _package(order: Order, outcome: str) -> PackageView:
    return PackageView(
        order_id=order.pk,
        status=order.status,
        status_label=str(OrderStatus(order.status).label),
        goods=_goods(list(order.lines.all())),
        amount_due=f"{order.amount_due:.2f}",
        payment_due=order.payment_status == "due" and order.amount_due > 0,
        outcome=outcome,
        outcome_label=str(Outcome(outcome).label) if outcome else "",
    )


def package_outcomes(*, order_ids: list[int]) -> dict[int, str]:
    """The outcome that stands per order: a final one wins over "not reached"."""
    outcomes: dict[int, str] = {}
    for order_id, outcome in DeliveryEvent.objects.filter(order_id__in=order_ids).values_list("order_id", "outcome"):
        if outcome in FINAL_OUTCOMES or order_id not in outcomes:
            outcomes[order_id] = outcome
    return outcomes


def courier_rosters(*, scope: Scope, actor: User, delivery_date: date) -> list[RosterView]:
    """The actor's rosters of the day in walking order, phones masked, with each household's packages."""
    rosters = list(
        _finished_rosters(delivery_date=delivery_date)
        .filter(volunteer=actor, plan_id__in=_current_plan_ids(delivery_date=delivery_date))
        .select_related("compound")
        .order_by("compound__name", "number")
    )
    household_ids = [int(stop["household"]) for roster in rosters for stop in roster.stops]
    orders = (
        order_list(scope=scope, delivery_date=delivery_date)
        .filter(household_id__in=household_ids, delivery_mode=DeliveryMode.DOOR)
        .exclude(status__in=NOT_DELIVERABLE)
        .prefetch_related("lines__kit", "lines__commodity")
        .order_by("pk")
    )
    by_household: dict[int, list[Order]] = defaultdict(list)
    for order in orders:
        by_household[order.household_id].append(order)
    outcomes = package_outcomes(order_ids=[o.pk for group in by_household.values() for o in group])
    # Only households the scope can see get a phone at all (masked for every courier).
    phones = dict(Household.objects.filter(pk__in=list(by_household)).values_list("pk", "phone"))
    views = []
    for roster in rosters:
        stops = [
            StopView(
                household_id=int(stop["household"]),
                building=str(stop.get("building", "")),
                unit=str(stop.get("unit", "")),
                floor=int(stop.get("floor") or 0),
                room=str(stop.get("room", "")),
                phone=mask_phone(phones.get(int(stop["household"]), "")),
                packages=[_package(o, outcomes.get(o.pk, "")) for o in by_household.get(int(stop["household"]), [])],
            )
            for stop in roster.stops
            if int(stop["household"]) in by_household
        ]
        views.append(
            RosterView(
                roster_id=roster.pk,
                compound_id=roster.compound_id,
                compound_name=roster.compound.name,
                number=roster.number,
                delivery_date=delivery_date,
                stops=stops,
            )
        )
    return views


# --- pickup ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlotTimes:
    starts: time
    ends: time


def pickup_slot_of(*, household_id: int, compound_id: int, delivery_date: date) -> SlotTimes | None:
    """The household's slot in the newest finished plan of the day, if the day is planned."""
    slots = PlanPickupSlot.objects.filter(
        compound_id=compound_id, plan_id__in=_current_plan_ids(delivery_date=delivery_date)
    ).order_by("-plan_id", "number")
    for starts, ends, households in slots.values_list("starts", "ends", "households"):
        if any(int(entry["household"]) == household_id for entry in households):
            return SlotTimes(starts=starts, ends=ends)
    return None


def pickup_orders(*, scope: Scope, household_id: int, delivery_date: date) -> list[Order]:
    """A household's pickup orders of the day that the scope can see (none = not found for the caller)."""
    return list(
        order_list(scope=scope, delivery_date=delivery_date, household_id=household_id)
        .filter(delivery_mode=DeliveryMode.PICKUP)
        .exclude(status__in=NOT_DELIVERABLE)
        .prefetch_related("lines__kit", "lines__commodity")
        .order_by("pk")
    )


def pickup_packages(*, orders: list[Order]) -> list[PackageView]:
    outcomes = package_outcomes(order_ids=[o.pk for o in orders])
    return [_package(o, outcomes.get(o.pk, "")) for o in orders]


def resident_pickup_days(*, scope: Scope, today: date) -> list[tuple[date, list[Order]]]:
    """A resident's pickup orders from today on, grouped by delivery day."""
    if scope.household_id is None:
        raise NotFound()
    days: dict[date, list[Order]] = defaultdict(list)
    orders = (
        order_list(scope=scope)
        .filter(delivery_mode=DeliveryMode.PICKUP, delivery_date__gte=today)
        .exclude(status__in=NOT_DELIVERABLE)
        .order_by("delivery_date", "pk")
    )
    for order in orders:
        days[order.delivery_date].append(order)
    return sorted(days.items())


# --- delivery times -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryTimes:
    compound_id: int
    delivery_date: date
    households: int
    median_s: float
    p90_s: int


def _nearest_rank(values: list[int], fraction: float) -> int:
    ordered = sorted(values)
    return ordered[max(0, ceil(fraction * len(ordered)) - 1)]


def delivery_times(*, scope: Scope, delivery_date: date, compound_id: int | None = None) -> list[DeliveryTimes]:
    """Cut-off-to-door time per compound: median and 90th percentile (nearest rank) over households.

    A household's time is its last package's: it is served when everything it ordered is at its door.
    """
    events = DeliveryEvent.objects.filter(
        delivery_date=delivery_date,
        outcome__in=[Outcome.DELIVERED, Outcome.HANDED_OVER],
        order__in=order_list(scope=scope, delivery_date=delivery_date).values("pk"),
    )
    if compound_id is not None:
        events = events.filter(compound_id=compound_id)
    per_household: dict[int, dict[int, int]] = defaultdict(dict)
    for compound, household, seconds in events.values_list("compound_id", "household_id", "seconds_from_cutoff"):
        if seconds is not None:
            per_household[compound][household] = max(seconds, per_household[compound].get(household, 0))
    return [
        DeliveryTimes(
            compound_id=compound,
            delivery_date=delivery_date,
            households=len(times),
            median_s=float(statistics.median(times.values())),
            p90_s=_nearest_rank(list(times.values()), 0.9),
        )
        for compound, times in sorted(per_household.items())
    ]
