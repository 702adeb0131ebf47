"""Scoped reads of stock points, their balances and their ledger.

Points come from `stock_point_list` / `stock_point_get`; balances and
movements are read only for a point the caller obtained that way, so a point
outside the scope answers 404 on every sub-resource too.
"""

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Path, Query, Router

from baogong.core.schemas import LIST_ERRORS, MAX_ID, READ_ERRORS, paginated
from baogong.core.scoping import scope_of

from .models import StockBalance, StockPoint
from .schemas import (
    StockBalanceOut,
    StockMovementFilter,
    StockMovementPage,
    StockPointFilter,
    StockPointOut,
    StockPointPage,
)
from .selectors import stock_balance_list, stock_movement_list, stock_point_get, stock_point_list

router = Router(tags=["stock"])


@router.get("/points", response={200: StockPointPage, **LIST_ERRORS}, summary="Stock points in scope")
def points_list(request: HttpRequest, filters: Query[StockPointFilter]) -> dict[str, Any]:
    queryset = stock_point_list(scope=scope_of(request.user)).order_by("code")
    return paginated(queryset, filters)


@router.get("/points/{point_id}", response={200: StockPointOut, **READ_ERRORS}, summary="One stock point")
def points_get(request: HttpRequest, point_id: int = Path(..., ge=1, le=MAX_ID)) -> StockPoint:
    point = stock_point_get(scope=scope_of(request.user), point_id=point_id)
    return point


@router.get(
    "/points/{point_id}/balances",
    response={200: list[StockBalanceOut], **READ_ERRORS},
    summary="On-hand of a stock point by commodity and lot",
)
def points_balances(request: HttpRequest, point_id: int = Path(..., ge=1, le=MAX_ID)) -> QuerySet[StockBalance]:
    point = stock_point_get(scope=scope_of(request.user), point_id=point_id)
    return stock_balance_list(point=point)


@router.get(
    "/points/{point_id}/movements",
    response={200: StockMovementPage, **READ_ERRORS},
    summary="Ledger of a stock point, newest first",
)
def points_movements(
    request: HttpRequest, filters: Query[StockMovementFilter], point_id: int = Path(..., ge=1, le=MAX_ID)
) -> dict[str, Any]:
    point = stock_point_get(scope=scope_of(request.user), point_id=point_id)
    return paginated(stock_movement_list(point=point), filters)
