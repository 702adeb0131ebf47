"""Green pass pages and the checkpoint page (phone first).

Passes are read through the scoped delivery selectors (another area's pass
answers 404) and written through the pass services, whose errors are shown
next to the field they name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from baogong.core.errors import ApplicationError, NotFound
from baogong.core.pages import form_error_add, page_view
from baogong.core.scoping import Scope, scope_of
from baogong.regions.models import Region, RegionLevel
from baogong.regions.selectors import region_list, region_roots
from baogong.stock.selectors import stock_point_list

from . import selectors, services
from .forms import PassCheckForm, PassIssueForm, PassRevokeForm
from .models import CheckResult, GreenPassStatus, StopReason
from .qr import green_pass_payload_sign, qr_svg_data_uri

if TYPE_CHECKING:
    from baogong.accounts.models import User

PAGE_SIZE = 30
RECENT_CHECKS = 10


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
