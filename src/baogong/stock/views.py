"""Stock point pages: what each point holds and its ledger."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from baogong.core.pages import page_view
from baogong.core.scoping import scope_of

from . import selectors

PAGE_SIZE = 50


@require_GET
@page_view
def stock_point_list(request: HttpRequest) -> HttpResponse:
    points = selectors.stock_point_list(scope=scope_of(request.user)).order_by("kind", "name", "pk")
    page = Paginator(points, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "stock/stock_point_list.html", {"page": page})


@require_GET
@page_view
def stock_point_detail(request: HttpRequest, point_id: int) -> HttpResponse:
    point = selectors.stock_point_get(scope=scope_of(request.user), point_id=point_id)
    ledger = Paginator(selectors.stock_movement_list(point=point), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"point": point, "balances": list(selectors.stock_balance_list(point=point)), "page": ledger}
    return render(request, "stock/stock_point_detail.html", context)
