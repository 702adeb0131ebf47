"""Green pass pages and the checkpoint page (phone first).

Passes are read through the scoped delivery selectors (another area's pass
answers 404) and written through the pass services, whose errors are shown
next to the field they name.
"""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING, cast

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from baogong.core.errors import ApplicationError, NotFound, ValidationFailed
from baogong.core.pages import form_error_add, page_view
from baogong.core.scoping import Scope, scope_of
from baogong.regions.models import Region, RegionLevel
from baogong.regions.selectors import region_list, region_roots
from baogong.stock.selectors import stock_point_list

from . import selectors, services
from .forms import DisinfectionForm, GateArrivalForm, GateReceiptForm, PassCheckForm, PassIssueForm, PassRevokeForm
from .models import CheckResult, FollowUpStatus, GreenPassStatus, StopReason
from .qr import green_pass_payload_sign, qr_svg_data_uri

if TYPE_CHECKING:
    from baogong.accounts.models import User

PAGE_SIZE = 30
RECENT_CHECKS = 10
RECENT_ROWS = 20
# Boards poll for fresh figures; a minute keeps a stairwell phone's data use small.
BOARD_REFRESH_SECONDS = 60


def _actor(request: HttpRequest) -> User:
    return cast("User", request.user)


def _scope_for(request: HttpRequest, roles: frozenset[str]) -> Scope:
    scope = scope_of(request.user)
    if scope.role not in roles:
        # Pages of other roles are not revealed.
        raise NotFound()
    return scope


def _scope_root(scope: Scope) -> Region:
    """The region an account acts for: the root of its scope (a pass is issued by that area)."""
    # Whole-tree operators act for the first county.
    root = region_roots(scope=scope).order_by("path").first()
    if root is None:
        raise NotFound()
    return root


def _issue_form(scope: Scope, data: QueryDict | None = None) -> PassIssueForm:
    # Every choice comes from the scoped selectors: a posted id outside the scope is simply not a valid choice.
    return PassIssueForm(
        data,
        vehicles=selectors.vehicle_list(scope=scope),
        drivers=selectors.driver_list(scope=scope),
        stock_points=stock_point_list(scope=scope),
        organisations=selectors.origin_organisation_list(scope=scope),
        destinations=selectors.destination_list(scope=scope),
    )


@require_GET
@page_view
def pass_list(request: HttpRequest) -> HttpResponse:
    scope = _scope_for(request, selectors.PASS_ROLES)
    passes = selectors.green_pass_list(scope=scope).order_by("-issued_at", "-pk")
    page = Paginator(passes, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "delivery/pass_list.html", {"page": page})


@require_http_methods(["GET", "POST"])
@page_view
def pass_new(request: HttpRequest) -> HttpResponse:
    scope = _scope_for(request, selectors.PASS_ROLES)
    status = 200
    if request.method == "POST":
        form = _issue_form(scope, request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                green_pass = services.pass_issue(
                    actor=_actor(request),
                    region=_scope_root(scope),
                    vehicle=data["vehicle"],
                    driver=data["driver"],
                    valid_from=data["valid_from"],
                    valid_until=data["valid_until"],
                    destinations=list(data["destinations"]),
                    origin_stock_point=data["origin_stock_point"],
                    origin_organisation=data["origin_organisation"],
                )
            except ApplicationError as error:
                if error.field == "origin":
                    error.field = "origin_stock_point"
                form_error_add(form, error)
                status = error.status
            else:
                messages.success(request, _("Pass %(number)s issued.") % {"number": green_pass.number})
                return redirect("delivery:pass_detail", pass_id=green_pass.pk)
        else:
            status = 422
    else:
        form = _issue_form(scope)
    return render(request, "delivery/pass_new.html", {"form": form}, status=status)


@require_GET
@page_view
def pass_detail(request: HttpRequest, pass_id: int) -> HttpResponse:
    scope = _scope_for(request, selectors.PASS_ROLES)
    green_pass = selectors.green_pass_get(scope=scope, pass_id=pass_id)
    driver = selectors.driver_present(
        driver=green_pass.driver, scope=scope, actor=_actor(request), unmasked=request.GET.get("unmask") == "1"
    )
    context = {
        "pass": green_pass,
        "driver": driver,
        "may_unmask": scope.role in selectors.DRIVER_PHONE_ROLES and driver.masked,
        "destinations": selectors.green_pass_destinations(green_pass=green_pass),
        "qr": qr_svg_data_uri(payload=green_pass_payload_sign(green_pass=green_pass)),
        "is_active": green_pass.status == GreenPassStatus.ACTIVE,
        "revoke_form": PassRevokeForm(),
        "checks": list(green_pass.checks.select_related("checkpoint_region").order_by("-checked_at", "-pk")[:10]),
    }
    return render(request, "delivery/pass_detail.html", context)


@require_POST
@page_view
def pass_revoke(request: HttpRequest, pass_id: int) -> HttpResponse:
    scope = _scope_for(request, selectors.PASS_ROLES)
    green_pass = selectors.green_pass_get(scope=scope, pass_id=pass_id)
    form = PassRevokeForm(request.POST)
    if form.is_valid():
        try:
            services.pass_revoke(actor=_actor(request), green_pass=green_pass, reason=form.cleaned_data["reason"])
        except ApplicationError as error:
            messages.error(request, str(error.message))
        else:
            messages.success(request, _("Pass %(number)s revoked.") % {"number": green_pass.number})
    else:
        messages.error(request, _("Say why the pass is revoked."))
    return redirect("delivery:pass_detail", pass_id=green_pass.pk)


@require_http_methods(["GET", "POST"])
@page_view
def checkpoint(request: HttpRequest) -> HttpResponse:
    scope = _scope_for(request, selectors.CHECK_ROLES)
    officer = _actor(request)
    checkpoint_region = officer.region or _scope_root(scope)
    destinations = region_list(scope=scope).filter(level=RegionLevel.COMPOUND)
    result = None
    status = 200
    if request.method == "POST":
        form = PassCheckForm(request.POST, destinations=destinations)
        if form.is_valid():
            data = form.cleaned_data
            try:
                result = services.pass_check(
                    officer=officer,
                    payload_or_number=data["payload_or_number"],
                    plate_seen=data["plate_seen"],
                    checkpoint_region=checkpoint_region,
                    route_destination=data["route_destination"],
                )
            except ApplicationError as error:
                form_error_add(form, error)
                status = error.status
            else:
                # A fresh form for the next vehicle; the verdict stays on screen above it.
                form = PassCheckForm(destinations=destinations)
        else:
            status = 422
    else:
        form = PassCheckForm(destinations=destinations)
    context = {
        "form": form,
        "result": result,
        "reasons": [(reason, StopReason(reason).label) for reason in result.reasons] if result else [],
        "passed": result is not None and result.result == CheckResult.PASS,
        "checkpoint_region": checkpoint_region,
        "recent": list(selectors.pass_check_list(scope=scope, officer=officer)[:RECENT_CHECKS]),
    }
    return render(request, "delivery/checkpoint.html", context, status=status)


# --- gate receiving, boards, arrivals, disinfections, the capacity pool --------------------------------


def _day_of(request: HttpRequest) -> date:
    """The delivery day asked for (?date=YYYY-MM-DD), today in Beijing time by default."""
    raw = request.GET.get("date", "")
    if not raw:
        return timezone.localdate()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(_("Give the day as YYYY-MM-DD."), field="date") from None


LINE_FIELD = re.compile(r"^lines\[(\d+)\]\.(\w+)$")
LINE_FIELD_NAMES = {
    "purchase_order_line_id": "received",
    "received_quantity": "received",
    "damaged_quantity": "damaged",
    "wrong_item_quantity": "wrong",
    "photo": "photo",
}


def _receipt_error_add(form: GateReceiptForm, error: ApplicationError, line_ids: list[int]) -> None:
    """Put a service error next to the field of the line it names (`lines[2].damaged_quantity` → `damaged_<id>`)."""
    match = LINE_FIELD.match(error.field or "")
    if match and int(match.group(1)) < len(line_ids):
        name = f"{LINE_FIELD_NAMES.get(match.group(2), 'received')}_{line_ids[int(match.group(1))]}"
        form.add_error(name, str(error.message))
        return
    form_error_add(form, error)


@require_http_methods(["GET", "POST"])
@page_view
def gate_checklist(request: HttpRequest, compound_id: int) -> HttpResponse:
    scope = _scope_for(request, selectors.GATE_ROLES)
    day = _day_of(request)
    checklist = selectors.gate_checklist_get(scope=scope, compound_id=compound_id, delivery_date=day)
    line_ids = [line.purchase_order_line_id for line in checklist.lines]
    status = 200
    if request.method == "POST":
        form = GateReceiptForm(request.POST, request.FILES, line_ids=line_ids)
        if form.is_valid():
            data = form.cleaned_data
            counts = [
                services.LineCount(
                    purchase_order_line_id=line_id,
                    received_quantity=data[f"received_{line_id}"],
                    damaged_quantity=data[f"damaged_{line_id}"],
                    wrong_item_quantity=data[f"wrong_{line_id}"],
                    note=data[f"note_{line_id}"],
                    photo=data[f"photo_{line_id}"] or None,
                )
                for line_id in line_ids
            ]
            try:
                services.gate_receipt_complete(
                    actor=_actor(request),
                    compound_id=checklist.compound.pk,
                    delivery_date=day,
                    counts=counts,
                    placed_at=data["placed_at"],
                    received_at=data["received_at"],
                    note=data["note"],
                )
            except ApplicationError as error:
                _receipt_error_add(form, error, line_ids)
                status = error.status
            else:
                messages.success(request, _("Goods checked and handed over."))
                return redirect(f"{reverse('delivery:gate_checklist', args=[checklist.compound.pk])}?date={day}")
        else:
            status = 422
    else:
        form = GateReceiptForm(line_ids=line_ids)
    receipt = checklist.receipt
    context = {
        "checklist": checklist,
        "day": day,
        "form": form,
        "rows": [(line, form.line_fields(line.purchase_order_line_id)) for line in checklist.lines],
        "receipt": receipt,
        "receipt_lines": selectors.gate_receipt_lines(receipt=receipt) if receipt else [],
    }
    return render(request, "delivery/gate_checklist.html", context, status=status)


@require_GET
@page_view
def discrepancy_photo(request: HttpRequest, discrepancy_id: int) -> HttpResponse:
    scope = _scope_for(request, selectors.GATE_ROLES)
    discrepancy = selectors.discrepancy_get(scope=scope, discrepancy_id=discrepancy_id)
    # Photos are a few megabytes at most (GATE_PHOTO_MAX_BYTES), so they are read whole.
    with discrepancy.photo.open("rb") as photo:
        response = HttpResponse(photo.read(), content_type=discrepancy.photo_content_type)
    response["Cache-Control"] = "private, max-age=3600"
    return response


@require_GET
@page_view
def compound_board(request: HttpRequest, compound_id: int) -> HttpResponse:
    scope = _scope_for(request, selectors.GATE_ROLES)
    day = _day_of(request)
    board = selectors.compound_board_get(scope=scope, compound_id=compound_id, delivery_date=day, now=timezone.now())
    context = {"board": board, "day": day, "refresh_seconds": BOARD_REFRESH_SECONDS}
    if request.headers.get("HX-Request") == "true":
        return render(request, "delivery/partials/board.html", context)
    return render(request, "delivery/compound_board.html", context)


@require_GET
@page_view
def command_view(request: HttpRequest) -> HttpResponse:
    scope = _scope_for(request, selectors.COMMAND_VIEW_ROLES)
    day = _day_of(request)
    days = selectors.command_view_get(scope=scope, delivery_date=day, now=timezone.now())
    context = {
        "days": days,
        "day": day,
        "late": sum(1 for d in days if d.is_late),
        "refresh_seconds": BOARD_REFRESH_SECONDS,
        "arrival_late_minutes": settings.BOARD_ARRIVAL_LATE_MINUTES,
        "pending_late_hours": settings.BOARD_PENDING_LATE_HOURS,
    }
    if request.headers.get("HX-Request") == "true":
        return render(request, "delivery/partials/command.html", context)
    return render(request, "delivery/command_view.html", context)


@require_GET
@page_view
def follow_up_list(request: HttpRequest) -> HttpResponse:
    scope = _scope_for(request, selectors.GATE_ROLES)
    wanted = request.GET.get("status", FollowUpStatus.OPEN)
    status = wanted if wanted in FollowUpStatus.values else ""
    follow_ups = selectors.follow_up_list(scope=scope, status=status or None)
    page = Paginator(follow_ups, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "delivery/follow_up_list.html", {"page": page, "status": status})


@require_http_methods(["GET", "POST"])
@page_view
def gate_arrival_new(request: HttpRequest) -> HttpResponse:
    scope = _scope_for(request, selectors.GATE_ROLES)
    compounds = selectors.compound_list(scope=scope)
    status = 200
    if request.method == "POST":
        form = GateArrivalForm(request.POST, compounds=compounds)
        if form.is_valid():
            data = form.cleaned_data
            try:
                arrival = services.gate_arrival_at_plate(
                    actor=_actor(request),
                    compound_id=data["compound"].pk,
                    plate=data["plate"],
                    pass_number=data["pass_number"],
                    note=data["note"],
                )
            except ApplicationError as error:
                form_error_add(form, error)
                status = error.status
            else:
                messages.success(
                    request,
                    _("Arrival of %(plate)s recorded.") % {"plate": arrival.vehicle.plate},
                )
                return redirect("delivery:gate_arrival_new")
        else:
            status = 422
    else:
        form = GateArrivalForm(compounds=compounds, initial={"compound": compounds.order_by("path").first()})
    arrivals = list(selectors.gate_arrival_list(scope=scope, delivery_date=timezone.localdate())[:RECENT_ROWS])
    return render(request, "delivery/gate_arrival.html", {"form": form, "arrivals": arrivals}, status=status)


@require_http_methods(["GET", "POST"])
@page_view
def disinfection_new(request: HttpRequest) -> HttpResponse:
    scope = _scope_for(request, selectors.DISINFECTION_ROLES)
    places = selectors.disinfection_place_list(scope=scope)
    status = 200
    if request.method == "POST":
        form = DisinfectionForm(request.POST, places=places)
        if form.is_valid():
            data = form.cleaned_data
            try:
                disinfection = services.vehicle_disinfection_at_plate(
                    actor=_actor(request), plate=data["plate"], place_id=data["place"].pk, agent=data["agent"]
                )
            except ApplicationError as error:
                form_error_add(form, error)
                status = error.status
            else:
                messages.success(
                    request, _("Disinfection of %(plate)s recorded.") % {"plate": disinfection.vehicle.plate}
                )
                return redirect("delivery:disinfection_new")
        else:
            status = 422
    else:
        initial_place = _actor(request).region_id
        form = DisinfectionForm(places=places, initial={"place": initial_place} if initial_place else None)
    recent = list(selectors.disinfection_list(scope=scope)[:RECENT_ROWS])
    return render(request, "delivery/disinfection.html", {"form": form, "recent": recent}, status=status)


@require_GET
@page_view
def vehicle_list(request: HttpRequest) -> HttpResponse:
    scope = _scope_for(request, selectors.PASS_ROLES)
    vehicles = selectors.vehicle_list(scope=scope).select_related("home").order_by("plate")
    page = Paginator(vehicles, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "delivery/vehicle_list.html", {"page": page})


@require_GET
@page_view
def driver_list(request: HttpRequest) -> HttpResponse:
    scope = _scope_for(request, selectors.PASS_ROLES)
    drivers = selectors.driver_list(scope=scope).order_by("name", "pk")
    page = Paginator(drivers, PAGE_SIZE).get_page(request.GET.get("page"))
    # Phones stay masked on the list; dispatch unmasks one driver at a time on a pass page (audited).
    rows = [(selectors.driver_present(driver=d, scope=scope, actor=_actor(request)), d) for d in page.object_list]
    return render(request, "delivery/driver_list.html", {"page": page, "rows": rows, "now": timezone.now()})
