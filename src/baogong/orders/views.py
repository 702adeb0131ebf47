"""Ordering pages: residents' and proxy orders, the purchase sheet, supermarkets' purchase orders, pairings.

Every page reads through the ordering selectors and writes through the named
order services; errors the services raise are shown next to the field they
name, or as the error page with their own status (404 outside the scope).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, cast

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.dateparse import parse_date
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from baogong.accounts.models import Role
from baogong.core.errors import (
    ApplicationError,
    IdempotencyKeyReused,
    ImportRejected,
    NotFound,
    PermissionDenied,
)
from baogong.core.pages import form_error_add, page_view
from baogong.core.scoping import Scope, scope_of
from baogong.core.spreadsheets import upload_read_limited
from baogong.enterprises.services import PAIRING_ROLES, compound_pairing_set
from baogong.regions.models import RegionLevel
from baogong.regions.selectors import household_list, household_present, region_get, region_list

from . import services
from .batch_sheet import SHEET_ROLES, purchase_sheet_import, purchase_sheet_template_build
from .forms import (
    CancelForm,
    ConfirmForm,
    HouseholdFindForm,
    OrderForm,
    PairingForm,
    PurchaseSheetForm,
    form_token_new,
)
from .models import DeliveryMode, OrderStatus, PaymentKind, PurchaseOrderStatus
from .selectors import (
    HouseholdOffers,
    household_offers_get,
    order_get,
    order_lines_of,
    order_list,
    order_window_get,
    purchase_order_building_totals,
    purchase_order_get,
    purchase_order_lines,
    purchase_order_list,
    purchase_order_pack_list,
)

if TYPE_CHECKING:
    from baogong.accounts.models import User

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PAGE_SIZE = 30
MY_ORDERS = 10
# Roles whose staff press "picked" and "loaded" (the last-mile roles come with the delivery pages).
SUPPLIER_ACTION_ROLES = frozenset({Role.SUPPLIER, Role.COMMAND})
ORDER_TRANSITIONS = {"pick": services.order_pick, "load": services.order_load}


def _actor(request: HttpRequest) -> User:
    # page_view requires a signed-in account.
    return cast("User", request.user)


def _is_partial(request: HttpRequest) -> bool:
    return "HX-Request" in request.headers and "HX-History-Restore-Request" not in request.headers


# --- placing an order (resident and proxy) ---------------------------------------------------------


def _window_message(offers: HouseholdOffers) -> str:
    window = offers.window
    local = timezone.localtime
    if offers.is_open:
        return _("Ordering for %(day)s is open until %(closes)s.") % {
            "day": window.delivery_date.isoformat(),
            "closes": f"{local(window.closes_at):%Y-%m-%d %H:%M}",
        }
    if timezone.now() < window.opens_at:
        return _("Ordering for %(day)s opens at %(opens)s and closes at %(closes)s.") % {
            "day": window.delivery_date.isoformat(),
            "opens": f"{local(window.opens_at):%Y-%m-%d %H:%M}",
            "closes": f"{local(window.closes_at):%Y-%m-%d %H:%M}",
        }
    return _("Ordering for %(day)s closed at %(closes)s.") % {
        "day": window.delivery_date.isoformat(),
        "closes": f"{local(window.closes_at):%Y-%m-%d %H:%M}",
    }


def _posted_date(request: HttpRequest) -> date | None:
    if request.method != "POST":
        return None
    return parse_date(request.POST.get("delivery_date", "") or "") if request.POST.get("delivery_date") else None


def _order_page(request: HttpRequest, scope: Scope, *, household_id: int, proxy: bool) -> HttpResponse:
    try:
        day = _posted_date(request)
    except ValueError:
        day = None
    offers = household_offers_get(scope=scope, household_id=household_id, delivery_date=day)
    prefetch_related_objects(offers.lines, "kit__lines__commodity")
    status = 200
    notice = ""
    if request.method == "POST":
        form = OrderForm(request.POST, offers=offers.lines, proxy=proxy)
        if form.is_valid():
            lines = form.line_requests()
            data = form.cleaned_data
            try:
                placed = services.order_place(
                    actor=_actor(request),
                    household_id=household_id,
                    delivery_date=data["delivery_date"],
                    lines=lines,
                    idempotency_key=data["token"],
                    channel=data.get("channel") or "online",
                    payment_method=data["payment_method"],
                    read_back_confirmed=bool(data.get("read_back_confirmed")),
                    read_back_note=data.get("read_back_note") or "",
                )
            except IdempotencyKeyReused:
                # The form was sent once already and has been changed since: start a fresh order.
                form = OrderForm(
                    offers=offers.lines,
                    proxy=proxy,
                    initial={"token": form_token_new(), "delivery_date": offers.window.delivery_date},
                )
                notice = _("This form was already sent. Check “my orders”, then order again here.")
                status = 409
            except ApplicationError as error:
                form.add_error(form.field_of(error.field, lines), str(error.message))
                status = error.status
            else:
                if placed.replayed:
                    messages.info(request, _("This order was already placed; here it is."))
                else:
                    messages.success(request, _("Order placed."))
                return redirect("orders:order_detail", order_id=placed.order_id)
        else:
            status = 422
    else:
        form = OrderForm(
            offers=offers.lines,
            proxy=proxy,
            initial={"token": form_token_new(), "delivery_date": offers.window.delivery_date},
        )
    context = {
        "offers": offers,
        "form": form,
        "notice": notice,
        "proxy": proxy,
        "household": household_present(household=offers.household, scope=scope, actor=None),
        "window_message": _window_message(offers),
        "delivery_mode_label": DeliveryMode(offers.delivery_mode).label,
        "orders": list(order_list(scope=scope, household_id=household_id)[:MY_ORDERS]),
    }
    response = render(request, "orders/order_new.html", context, status=status)
    # Each rendering carries its own token; a cached copy would replay an old order.
    add_never_cache_headers(response)
    return response


@require_http_methods(["GET", "POST"])
@page_view
def order_new(request: HttpRequest) -> HttpResponse:
    """A resident orders for their own household."""
    scope = scope_of(request.user)
    if scope.role != Role.RESIDENT or scope.household_id is None:
        raise PermissionDenied(_("Residents order here; community workers use proxy ordering."))
    return _order_page(request, scope, household_id=scope.household_id, proxy=False)


@require_http_methods(["GET", "POST"])
@page_view
def proxy_order_new(request: HttpRequest, household_id: int) -> HttpResponse:
    """A community worker orders for a household of their area (代购)."""
    scope = scope_of(request.user)
    if scope.role not in services.PROXY_ROLES:
        raise PermissionDenied(_("Only community and subdistrict staff place proxy orders."))
    return _order_page(request, scope, household_id=household_id, proxy=True)


@require_GET
@page_view
def proxy_household_find(request: HttpRequest) -> HttpResponse:
    """Find the household to order for: room, building or unit, phone tail; offline households first."""
    scope = scope_of(request.user)
    if scope.role not in services.PROXY_ROLES:
        raise PermissionDenied(_("Only community and subdistrict staff place proxy orders."))
    search = HouseholdFindForm(request.GET)
    term, offline = "", False
    if search.is_valid():
        term, offline = search.cleaned_data["q"], search.cleaned_data["offline"]
    households = household_list(scope=scope, search=term).order_by(
        "can_order_online", "compound_id", "unit__path", "room"
    )
    if offline:
        households = households.filter(can_order_online=False)
    page = Paginator(households, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "rows": [household_present(household=h, scope=scope, actor=None) for h in page.object_list],
        "q": term,
        "offline": offline,
        "search": search,
    }
    template = "orders/partials/proxy_households.html" if _is_partial(request) else "orders/proxy.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


# --- an order, its history, cancelling, status steps -----------------------------------------------


def _order_detail_render(
    request: HttpRequest, scope: Scope, order_id: int, *, cancel_form: CancelForm | None = None, status: int = 200
) -> HttpResponse:
    order = order_get(scope=scope, order_id=order_id)
    window = order_window_get(compound=order.compound, delivery_date=order.delivery_date)
    may_cancel = (
        order.status == OrderStatus.PLACED
        and not window.has_closed(timezone.now())
        and (scope.household_id is not None or scope.role in services.PROXY_ROLES | {Role.COMMAND})
    )
    context = {
        "order": order,
        "lines": order_lines_of(order=order),
        "events": list(order.events.select_related("actor").order_by("id")),
        "refunds": [p for p in order.payments.order_by("id") if p.kind == PaymentKind.REFUND],
        "household": household_present(household=order.household, scope=scope, actor=None),
        "placed_by_role": Role(order.placed_by.role).label if order.placed_by.role else "",
        "window": window,
        # A refused cancellation keeps its form, to show why, even once cancelling is no longer possible.
        "cancel_form": cancel_form if cancel_form is not None else (CancelForm() if may_cancel else None),
        "supplier_actions": scope.role in SUPPLIER_ACTION_ROLES,
    }
    return render(request, "orders/order_detail.html", context, status=status)


@require_GET
@page_view
def order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    return _order_detail_render(request, scope_of(request.user), order_id)


@require_POST
@page_view
def order_cancel(request: HttpRequest, order_id: int) -> HttpResponse:
    scope = scope_of(request.user)
    form = CancelForm(request.POST)
    if not form.is_valid():
        return _order_detail_render(request, scope, order_id, cancel_form=form, status=422)
    try:
        order = services.order_cancel(actor=_actor(request), order_id=order_id, reason=form.cleaned_data["reason"])
    except NotFound:
        raise
    except ApplicationError as error:
        form_error_add(form, error)
        return _order_detail_render(request, scope, order_id, cancel_form=form, status=error.status)
    refunded = sum((p.amount for p in order.payments.all() if p.kind == PaymentKind.REFUND), 0)
    if refunded:
        messages.success(request, _("Order cancelled; ¥%(amount)s refunded.") % {"amount": refunded})
    else:
        messages.success(request, _("Order cancelled."))
    return redirect("orders:order_detail", order_id=order_id)


@require_POST
@page_view
def order_step(request: HttpRequest, order_id: int, step: str) -> HttpResponse:
    """A supermarket marks an order picked and packed, or loaded onto the vehicle."""
    transition = ORDER_TRANSITIONS.get(step)
    if transition is None:
        raise NotFound()
    order = transition(actor=_actor(request), order_id=order_id)
    messages.success(request, _("Order #%(id)s: %(status)s.") % {"id": order.pk, "status": order.get_status_display()})
    if order.purchase_order_id:
        return redirect("orders:purchase_order_detail", purchase_order_id=order.purchase_order_id)
    return redirect("orders:order_detail", order_id=order.pk)


# --- the batch purchase sheet ----------------------------------------------------------------------


def _sheet_scope(request: HttpRequest) -> Scope:
    scope = scope_of(request.user)
    if scope.role not in SHEET_ROLES:
        raise PermissionDenied(_("Only community and subdistrict staff fill in purchase sheets."))
    return scope


@require_GET
@page_view
def sheet_template(request: HttpRequest) -> HttpResponse:
    scope = _sheet_scope(request)
    try:
        compound_id = int(request.GET.get("compound", ""))
    except ValueError as exc:
        raise NotFound() from exc
    template = purchase_sheet_template_build(scope=scope, compound_id=compound_id)
    name = f"代购表-{template.compound.code}-{template.delivery_date.isoformat()}.xlsx"
    return HttpResponse(
        template.content,
        content_type=XLSX_CONTENT_TYPE,
        headers={"Content-Disposition": content_disposition_header(True, name)},
    )


@require_http_methods(["GET", "POST"])
@page_view
def sheet_import(request: HttpRequest) -> HttpResponse:
    scope = _sheet_scope(request)
    compounds = list(
        region_list(scope=scope).filter(level=RegionLevel.COMPOUND).select_related("parent").order_by("path")
    )
    context: dict[str, Any] = {"result": None, "rejection": None}
    status = 200
    if request.method == "POST":
        form = PurchaseSheetForm(request.POST, request.FILES, compounds=compounds)
        if form.is_valid():
            try:
                data = upload_read_limited(form.cleaned_data["file"])
                context["result"] = purchase_sheet_import(
                    actor=_actor(request), scope=scope, compound_id=form.cleaned_data["compound"], data=data
                )
            except ImportRejected as exc:
                context["rejection"] = exc
                status = exc.status
        else:
            status = 422
    else:
        form = PurchaseSheetForm(initial={"compound": request.GET.get("compound")}, compounds=compounds)
    context.update(form=form, compounds=compounds)
    return render(request, "orders/sheet.html", context, status=status)


# --- supermarkets: purchase orders, confirmation, pick lists ---------------------------------------


@require_GET
@page_view
def purchase_order_index(request: HttpRequest) -> HttpResponse:
    scope = scope_of(request.user)
    day = parse_date(request.GET.get("day", "") or "") if request.GET.get("day") else None
    page = Paginator(purchase_order_list(scope=scope, delivery_date=day), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "orders/purchase_order_list.html", {"page": page, "day": day})


def _purchase_order_render(
    request: HttpRequest, scope: Scope, purchase_order_id: int, *, form: ConfirmForm | None = None, status: int = 200
) -> HttpResponse:
    purchase_order = purchase_order_get(scope=scope, purchase_order_id=purchase_order_id)
    lines = purchase_order_lines(purchase_order=purchase_order)
    may_confirm = purchase_order.status == PurchaseOrderStatus.OPEN and scope.role in SUPPLIER_ACTION_ROLES
    context = {
        "purchase_order": purchase_order,
        "lines": lines,
        "buildings": purchase_order_building_totals(purchase_order=purchase_order),
        "orders": list(
            order_list(scope=scope)
            .filter(purchase_order=purchase_order)
            .select_related("building", "unit", "household")
            .order_by("building__path", "unit__path", "household__room", "id")
        ),
        "form": (form or ConfirmForm(lines=lines)) if may_confirm else None,
        "supplier_actions": scope.role in SUPPLIER_ACTION_ROLES,
    }
    return render(request, "orders/purchase_order_detail.html", context, status=status)


@require_GET
@page_view
def purchase_order_detail(request: HttpRequest, purchase_order_id: int) -> HttpResponse:
    return _purchase_order_render(request, scope_of(request.user), purchase_order_id)


@require_POST
@page_view
def purchase_order_confirm(request: HttpRequest, purchase_order_id: int) -> HttpResponse:
    scope = scope_of(request.user)
    purchase_order = purchase_order_get(scope=scope, purchase_order_id=purchase_order_id)
    form = ConfirmForm(request.POST, lines=purchase_order_lines(purchase_order=purchase_order))
    if not form.is_valid():
        return _purchase_order_render(request, scope, purchase_order_id, form=form, status=422)
    shortages = form.shortages()
    try:
        services.purchase_order_confirm(actor=_actor(request), purchase_order_id=purchase_order_id, shortages=shortages)
    except NotFound:
        raise
    except ApplicationError as error:
        form.add_error(form.field_of(error.field, shortages), str(error.message))
        return _purchase_order_render(request, scope, purchase_order_id, form=form, status=error.status)
    if shortages:
        messages.success(request, _("Confirmed with shortages; the affected orders were updated."))
    else:
        messages.success(request, _("Purchase order confirmed."))
    return redirect("orders:purchase_order_detail", purchase_order_id=purchase_order_id)


@require_GET
@page_view
def purchase_order_pick_list(request: HttpRequest, purchase_order_id: int) -> HttpResponse:
    """Printable pick list (totals per building) and pack list (one bag per order) by building."""
    scope = scope_of(request.user)
    purchase_order = purchase_order_get(scope=scope, purchase_order_id=purchase_order_id)
    entries = purchase_order_pack_list(purchase_order=purchase_order)
    buildings: dict[str, list[Any]] = {}
    for entry in entries:
        buildings.setdefault(entry.building_name, []).append(entry)
    totals: dict[str, list[Any]] = {}
    for row in purchase_order_building_totals(purchase_order=purchase_order):
        totals.setdefault(row.building_name, []).append(row)
    context = {
        "purchase_order": purchase_order,
        "buildings": [(name, totals.get(name, []), bags) for name, bags in buildings.items()],
        "printed_at": timezone.now(),
    }
    return render(request, "orders/pick_list.html", context)


# --- pairings (一一对接) ------------------------------------------------------------------------------


def _pairing_scope(request: HttpRequest) -> Scope:
    scope = scope_of(request.user)
    if scope.role not in PAIRING_ROLES:
        raise PermissionDenied(_("Only the command office or a subdistrict office can change pairings."))
    return scope


@require_GET
@page_view
def pairing_list(request: HttpRequest) -> HttpResponse:
    scope = _pairing_scope(request)
    compounds = (
        region_list(scope=scope)
        .filter(level=RegionLevel.COMPOUND)
        .select_related("parent", "pairing__supermarket", "pairing__backup")
        .order_by("path")
    )
    page = Paginator(compounds, PAGE_SIZE * 2).get_page(request.GET.get("page"))
    return render(request, "orders/pairing_list.html", {"page": page})


@require_http_methods(["GET", "POST"])
@page_view
def pairing_edit(request: HttpRequest, compound_id: int) -> HttpResponse:
    scope = _pairing_scope(request)
    compound = region_get(scope=scope, region_id=compound_id)
    if compound.level != RegionLevel.COMPOUND:
        raise NotFound()
    current = getattr(compound, "pairing", None)
    status = 200
    if request.method == "POST":
        form = PairingForm(request.POST)
        if form.is_valid():
            try:
                compound_pairing_set(
                    actor=_actor(request),
                    compound=compound,
                    supermarket=form.cleaned_data["supermarket"],
                    backup=form.cleaned_data["backup"],
                    # A distance measured to another supermarket would be wrong for the new one.
                    distance_km=(
                        current.distance_km
                        if current and current.supermarket_id == form.cleaned_data["supermarket"].pk
                        else None
                    ),
                )
            except NotFound:
                raise
            except ApplicationError as error:
                form_error_add(form, error)
                status = error.status
            else:
                messages.success(request, _("Pairing of %(compound)s changed.") % {"compound": compound.name})
                return redirect("orders:pairing_list")
        else:
            status = 422
    else:
        initial = {"supermarket": current.supermarket_id, "backup": current.backup_id} if current else {}
        form = PairingForm(initial=initial)
    return render(
        request, "orders/pairing_edit.html", {"compound": compound, "form": form, "current": current}, status=status
    )
