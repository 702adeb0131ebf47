"""Day-plan pages: start a plan, watch its progress, read route sheets, courier lists and pickup slots.

Reads go through `day_plan_selectors` (a plan outside the caller's region is
404, like one that does not exist); the start form calls `day_plan_start`,
which fans the work out to the task workers.
"""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from baogong.core.errors import ApplicationError, PermissionDenied
from baogong.core.exports import xlsx_export
from baogong.core.pages import form_error_add, page_view
from baogong.core.scoping import Scope, scope_of
from baogong.regions.models import Region, RegionLevel
from baogong.regions.selectors import region_list

from .day_plan import DEFAULT_TIME_LIMIT_S, MAX_TIME_LIMIT_S, day_plan_start
from .day_plan_selectors import (
    PLAN_ROLES,
    day_plan_get,
    day_plan_list,
    day_plan_map_data,
    day_plan_pickup_slots,
    day_plan_rosters,
    day_plan_routes,
    day_plan_unrouted,
)
from .models import DayPlanStatus

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class PlanForm(forms.Form):
    delivery_date = forms.DateField(label=gettext_lazy("Delivery day"), widget=forms.DateInput(attrs={"type": "date"}))
    area = forms.ModelChoiceField(label=gettext_lazy("Area"), queryset=Region.objects.none(), required=False)
    time_limit_s = forms.FloatField(
        label=gettext_lazy("Time limit per subdistrict (s)"),
        min_value=0.1,
        max_value=MAX_TIME_LIMIT_S,
        initial=DEFAULT_TIME_LIMIT_S,
    )

    def __init__(self, *args: object, scope: Scope, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        area = self.fields["area"]
        assert isinstance(area, forms.ModelChoiceField)
        area.queryset = region_list(scope=scope).filter(level__lte=RegionLevel.SUBDISTRICT).order_by("path")


def _planner_scope(request: HttpRequest) -> Scope:
    scope = scope_of(request.user)
    if scope.role not in PLAN_ROLES:
        raise PermissionDenied(_("Only the command office or a subdistrict office can plan a delivery day."))
    return scope


@require_http_methods(["GET", "POST"])
@page_view
def plan_index(request: HttpRequest) -> HttpResponse:
    scope = _planner_scope(request)
    form = PlanForm(request.POST or None, scope=scope, initial={"delivery_date": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            plan = day_plan_start(
                actor=request.user,  # type: ignore[arg-type]
                delivery_date=form.cleaned_data["delivery_date"],
                area=form.cleaned_data["area"],
                time_limit_s=form.cleaned_data["time_limit_s"],
            )
        except ApplicationError as error:
            form_error_add(form, error)
        else:
            return redirect("planning:plan_detail", plan_id=plan.pk)
    plans = day_plan_list(scope=scope)[:30]
    return render(request, "planning/plan_list.html", {"form": form, "plans": plans})


@require_GET
@page_view
def plan_detail(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = day_plan_get(scope=scope_of(request.user), plan_id=plan_id)
    finished = plan.status in (DayPlanStatus.DONE, DayPlanStatus.FAILED)
    context = {
        "plan": plan,
        "finished": finished,
        "parts": plan.parts.select_related("subdistrict").order_by("subdistrict__path"),
        "routes": day_plan_routes(plan=plan) if finished else [],
        "unrouted": day_plan_unrouted(plan=plan) if finished else [],
        "rosters": day_plan_rosters(plan=plan) if finished else [],
        "slots": day_plan_pickup_slots(plan=plan) if finished else [],
        "map_data": day_plan_map_data(plan=plan) if finished else None,
    }
    return render(request, "planning/plan_detail.html", context)


@require_GET
@page_view
def plan_progress(request: HttpRequest, plan_id: int) -> HttpResponse:
    """The progress block htmx polls while the plan runs; once finished it asks for a full reload."""
    plan = day_plan_get(scope=scope_of(request.user), plan_id=plan_id)
    response = render(
        request,
        "planning/partials/progress.html",
        {"plan": plan, "parts": plan.parts.select_related("subdistrict").order_by("subdistrict__path")},
    )
    if plan.status in (DayPlanStatus.DONE, DayPlanStatus.FAILED):
        response["HX-Refresh"] = "true"
    return response


@require_GET
@page_view
def plan_route_sheets(request: HttpRequest, plan_id: int) -> HttpResponse:
    """All route sheets of a plan as one workbook: one row per stop, in driving order."""
    plan = day_plan_get(scope=scope_of(request.user), plan_id=plan_id)
    header = [
        _("Vehicle"),
        _("Depot"),
        _("Trip"),
        _("Stop"),
        _("Compound"),
        _("ETA"),
        _("Departs"),
        _("Households"),
        _("Unload (kg)"),
        _("Volume (m³)"),
        _("On board on arrival (kg)"),
        _("Cold chain"),
    ]
    rows = [
        [
            route.vehicle.plate,
            route.depot.name,
            stop.trip,
            stop.sequence,
            stop.compound.name,
            stop.arrival.strftime("%H:%M") if stop.arrival else "",
            stop.departure.strftime("%H:%M") if stop.departure else "",
            stop.households,
            stop.demand_kg,
            stop.volume_m3,
            stop.on_board_kg,
            _("yes") if stop.cold_chain else "",
        ]
        for route in day_plan_routes(plan=plan)
        for stop in route.stops.all()
    ]
    body = xlsx_export(header=header, rows=rows, sheet_title=_("Route sheets"))
    name = f"route-sheets-{plan.delivery_date:%Y%m%d}-{plan.pk}.xlsx"
    return HttpResponse(
        body, content_type=XLSX_CONTENT_TYPE, headers={"Content-Disposition": content_disposition_header(True, name)}
    )
