"""Entry pages: where an account lands, and the command dashboard."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from baogong.accounts.models import Role
from baogong.regions.selectors import compound_restricted_list

from .pages import page_view
from .scoping import scope_of
from .selectors import dashboard_get

# Roles the dashboard has something for (superusers without a role count as command);
# community and volunteer accounts land on their own area but may open it too.
DASHBOARD_ROLES = frozenset({Role.COMMAND, Role.DEPARTMENT, Role.SUBDISTRICT, Role.COMMUNITY, Role.VOLUNTEER})
PAGE_SIZE = 50


@page_view
def home(request: HttpRequest) -> HttpResponse:
    scope = scope_of(request.user)
    user = request.user
    if scope.role in {Role.COMMUNITY, Role.VOLUNTEER} and user.region_id:  # type: ignore[union-attr]
        return redirect("regions:region_detail", region_id=user.region_id)  # type: ignore[union-attr]
    if scope.role == Role.SUPPLIER:
        return redirect("stock:stock_point_list")
    if scope.role == Role.RESIDENT and scope.household_id is not None:
        return redirect("regions:household_detail", household_id=scope.household_id)
    return redirect("dashboard")


@page_view
def dashboard(request: HttpRequest) -> HttpResponse:
    scope = scope_of(request.user)
    if scope.role == Role.CHECKPOINT:
        # A checkpoint needs to know which compounds restrict movement, not stock or households.
        page = Paginator(compound_restricted_list(scope=scope), PAGE_SIZE).get_page(request.GET.get("page"))
        return render(request, "core/checkpoint.html", {"page": page})
    if scope.role not in DASHBOARD_ROLES:
        return render(request, "core/dashboard.html", {"dashboard": None})
    return render(request, "core/dashboard.html", {"dashboard": dashboard_get(scope=scope)})
