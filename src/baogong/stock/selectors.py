"""Scoped reads of stock points, balances and the ledger, and the ledger check."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Min, QuerySet, Sum

from baogong.catalog.models import Commodity
from baogong.core.errors import NotFound
from baogong.core.scoping import Scope

from .models import StockBalance, StockMovement, StockPoint


def stock_point_list(*, scope: Scope) -> QuerySet[StockPoint]:
    if scope.role == "supplier" and scope.organisation_id is not None:
        return StockPoint.objects.filter(organisation_id=scope.organisation_id).select_related("region")
    if scope.sees_all_stock_in_region and scope.region_path is not None:
        queryset = StockPoint.objects.all()
        if scope.region_path:
            queryset = queryset.filter(region__path__startswith=scope.region_path)
        return queryset.select_related("region")
    return StockPoint.objects.none()


def stock_point_get(*, scope: Scope, point_id: int) -> StockPoint:
    point = stock_point_list(scope=scope).filter(pk=point_id).first()
    if point is None:
        raise NotFound()
    return point


def stock_balance_list(*, point: StockPoint) -> QuerySet[StockBalance]:
    """Balances of a point the caller already obtained through `stock_point_get`."""
    return (
        StockBalance.objects.filter(point=point, on_hand__gt=0)
        .select_related("commodity")
        .order_by("commodity__category", "commodity__code", "expires_on", "lot")
    )


def stock_movement_list(*, point: StockPoint) -> QuerySet[StockMovement]:
    return (
        StockMovement.objects.filter(point=point)
        .select_related("commodity", "actor", "counterparty")
        .order_by("-created_at", "-id")
    )


@dataclass(frozen=True)
class CategoryStock:
    category: str
    units: int
    weight_kg: float


def stock_on_hand_by_category(*, scope: Scope) -> list[CategoryStock]:
    """On-hand across the scope's stock points, by commodity category (units and kg)."""
    points = stock_point_list(scope=scope)
    rows: dict[str, list[float]] = {}
    balances = (
        StockBalance.objects.filter(point__in=points.values("pk"), on_hand__gt=0)
        .values("commodity__category", "commodity__weight_kg")
        .annotate(units=Sum("on_hand"))
        .order_by()
    )
    for row in balances:
        entry = rows.setdefault(row["commodity__category"], [0, 0.0])
        entry[0] += row["units"]
        entry[1] += float(row["commodity__weight_kg"]) * row["units"]
    return [CategoryStock(category=c, units=int(v[0]), weight_kg=round(v[1], 1)) for c, v in sorted(rows.items())]


@dataclass(frozen=True)
class CategorySupply:
    """On-hand of a category and, for food, how many days it feeds the residents in scope."""

    category: str
    units: int
    weight_kg: float
    daily_kg_per_person: Decimal | None
    days_of_supply: float | None
    # The reserve norm for the category (grain and oil 15+, pork 3+, storable vegetables 7+ days).
    target_days: int | None = None

    @property
    def tonnes(self) -> float:
        return self.weight_kg / 1000

    @property
    def below_target(self) -> bool:
        return (
            self.target_days is not None and self.days_of_supply is not None and self.days_of_supply < self.target_days
        )


def stock_supply_by_category(*, scope: Scope, residents: int) -> list[CategorySupply]:
    """`stock_on_hand_by_category` plus days of supply for the categories eaten per head.

    days = kg on hand / (residents x daily kg per person), where the daily
    ration of a category is the sum over its commodities (the catalogue splits
    a category's per-capita demand over them, e.g. fresh + frozen pork). The
    target is the lowest reserve norm among the category's commodities: the
    floor the plans set (grain and oil 15+, pork 3+, storable vegetables 7+).
    """
    rations = dict(
        Commodity.objects.filter(daily_kg_per_person__isnull=False)
        .values("category")
        .annotate(ration=Sum("daily_kg_per_person"))
        .order_by()
        .values_list("category", "ration")
    )
    targets = dict(
        Commodity.objects.filter(reserve_days_target__isnull=False)
        .values("category")
        .annotate(target=Min("reserve_days_target"))
        .order_by()
        .values_list("category", "target")
    )
    rows = []
    for stock in stock_on_hand_by_category(scope=scope):
        ration = rations.get(stock.category)
        days = None
        if ration and residents > 0:
            days = round(stock.weight_kg / (residents * float(ration)), 1)
        rows.append(
            CategorySupply(
                category=stock.category,
                units=stock.units,
                weight_kg=stock.weight_kg,
                daily_kg_per_person=ration,
                days_of_supply=days,
                target_days=targets.get(stock.category),
            )
        )
    return rows


@dataclass(frozen=True)
class LedgerMismatch:
    balance_id: int
    point_code: str
    commodity_code: str
    lot: str
    on_hand: int
    ledger_sum: int


def stock_ledger_mismatches() -> list[LedgerMismatch]:
    """Every balance whose cached on-hand differs from the sum of its ledger rows.

    A count row carries the difference, so the sum of all rows is the on-hand
    whatever mix of movements happened. Empty means the books agree.
    """
    sums = dict(
        StockMovement.objects.values("balance_id")
        .annotate(total=Sum("quantity"))
        .order_by()
        .values_list("balance_id", "total")
    )
    mismatches = []
    balances = StockBalance.objects.select_related("point", "commodity").order_by("pk")
    for balance in balances.iterator(chunk_size=5000):
        total = sums.get(balance.pk, 0) or 0
        if total != balance.on_hand:
            mismatches.append(
                LedgerMismatch(
                    balance_id=balance.pk,
                    point_code=balance.point.code,
                    commodity_code=balance.commodity.code,
                    lot=balance.lot,
                    on_hand=balance.on_hand,
                    ledger_sum=total,
                )
            )
    return mismatches
