"""Labels, numbers and navigation for page templates."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.translation import gettext as _

from baogong.accounts.models import Role
from baogong.catalog.models import CommodityCategory
from baogong.core.scoping import scope_of
from baogong.regions.models import RegionLevel, VulnerabilityTag, ZoneStatusKind
from baogong.stock.models import MovementKind, StockPointKind

register = template.Library()


def _label(choices: Any, value: Any) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


@register.filter
def zone_label(value: str | None) -> str:
    return _label(ZoneStatusKind, value) if value else ""


@register.filter
def vulnerability_label(value: str) -> str:
    return _label(VulnerabilityTag, value)


@register.filter
def category_label(value: str) -> str:
    return _label(CommodityCategory, value)


@register.filter
def level_label(value: int) -> str:
    return _label(RegionLevel, value)


@register.filter
def movement_label(value: str) -> str:
    return _label(MovementKind, value)


@register.filter
def stock_point_kind_label(value: str) -> str:
    return _label(StockPointKind, value)


@register.filter
def signed(value: int) -> str:
    """Ledger quantities read as changes: +120 / −30."""
    return f"+{value:,}" if value > 0 else f"−{abs(value):,}" if value < 0 else "0"


def _order_links(role: str, *, has_household: bool) -> list[tuple[str, str]]:
    links: list[tuple[str, str]] = []
    if role == Role.RESIDENT and has_household:
        links.append((reverse("orders:order_new"), _("Order food")))
    if role in {Role.COMMUNITY, Role.SUBDISTRICT}:
        links.append((reverse("orders:proxy"), _("Proxy orders")))
    if role in {Role.SUPPLIER, Role.COMMAND, Role.SUBDISTRICT, Role.COMMUNITY}:
        links.append((reverse("orders:purchase_order_list"), _("Purchase orders")))
    if role in {Role.COMMAND, Role.SUBDISTRICT}:
        links.append((reverse("orders:pairing_list"), _("Pairings")))
        links.append((reverse("planning:plan_list"), _("Delivery plans")))
    if role in {Role.COMMAND, Role.DEPARTMENT, Role.SUBDISTRICT}:
        links.append((reverse("delivery:pass_list"), _("Green passes")))
    if role in {Role.CHECKPOINT, Role.COMMAND}:
        links.append((reverse("delivery:checkpoint"), _("Checkpoint")))
    if role in {Role.COMMAND, Role.SUBDISTRICT, Role.COMMUNITY}:
        links.append((reverse("delivery:command_view"), _("Delivery day")))
    if role in {Role.COMMAND, Role.SUBDISTRICT, Role.COMMUNITY, Role.VOLUNTEER}:
        links.append((reverse("delivery:gate_arrival_new"), _("Gate arrivals")))
        links.append((reverse("delivery:follow_up_list"), _("Follow-ups")))
    if role in {Role.COMMAND, Role.DEPARTMENT, Role.SUBDISTRICT, Role.COMMUNITY, Role.VOLUNTEER}:
        links.append((reverse("delivery:disinfection_new"), _("Disinfection")))
    if role in {Role.COMMAND, Role.DEPARTMENT, Role.SUBDISTRICT}:
        links.append((reverse("delivery:vehicle_list"), _("Transport pool")))
    if role in {Role.COMMAND, Role.SUBDISTRICT, Role.COMMUNITY, Role.SUPPLIER, Role.VOLUNTEER}:
        # Route sheets, pick lists, gate checklists and courier lists of the plans the role takes part in.
        links.append((reverse("planning:sheet_plans"), _("Delivery sheets")))
    return links


def _last_mile_links(role: str, *, has_household: bool) -> list[tuple[str, str]]:
    links: list[tuple[str, str]] = []
    if role == Role.VOLUNTEER:
        links.append((reverse("lastmile:courier"), _("My deliveries")))
    if role in {Role.VOLUNTEER, Role.COMMUNITY}:
        links.append((reverse("lastmile:pickup_desk"), _("Pickup desk")))
    if role == Role.RESIDENT and has_household:
        links.append((reverse("lastmile:pickup_code"), _("My pickup code")))
    if role in {Role.COMMAND, Role.DEPARTMENT, Role.SUBDISTRICT, Role.COMMUNITY, Role.VOLUNTEER} or (
        role == Role.RESIDENT and has_household
    ):
        links.append((reverse("notices:notice_list"), _("Notices")))
    return links


@register.inclusion_tag("core/partials/nav.html", takes_context=True)
def nav(context: template.Context) -> dict[str, Any]:
    """The links an account's role can use; pages behind other links would only answer 404."""
    request = context["request"]
    user = request.user
    links: list[tuple[str, str]] = []
    if user.is_authenticated:
        scope = scope_of(user)
        if scope.role in {Role.COMMAND, Role.DEPARTMENT, Role.SUBDISTRICT, Role.CHECKPOINT}:
            links.append((reverse("dashboard"), _("Overview")))
        if scope.role in {Role.COMMUNITY, Role.VOLUNTEER} and user.region_id:
            links.append((reverse("regions:region_detail", args=[user.region_id]), _("My area")))
        if scope.role == Role.RESIDENT and user.household_id:
            links.append((reverse("regions:household_detail", args=[user.household_id]), _("My household")))
        if scope.sees_all_stock_in_region or scope.role == Role.SUPPLIER:
            links.append((reverse("stock:stock_point_list"), _("Stock")))
        links.extend(_order_links(scope.role, has_household=bool(user.household_id)))
        links.extend(_last_mile_links(scope.role, has_household=bool(user.household_id)))
        if scope.role == Role.VOLUNTEER and user.region_id:
            # A volunteer serves one compound gate: its board leads to the gate check.
            links.append((reverse("delivery:compound_board", args=[user.region_id]), _("Compound board")))
    # After switching language, come back to this page; a page answering a POST
    # (a form with errors) cannot be fetched again, so those go to the start page.
    next_url = request.get_full_path() if request.method == "GET" else reverse("home")
    return {"links": links, "user": user, "path": request.path, "next_url": next_url}
