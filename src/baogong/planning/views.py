"""Day-plan pages: start a plan, watch its progress, read route sheets, courier lists and pickup slots.

Reads go through `day_plan_selectors` (a plan outside the caller's region is
404, like one that does not exist); the start form calls `day_plan_start`,
which fans the work out to the task workers.
"""

from __future__ import annotations

import tempfile
from typing import cast

from django import forms
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from baogong.core.errors import ApplicationError, BadRequest, NotFound, PermissionDenied
from baogong.core.exports import export_response, xlsx_export
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
from .models import DayPlan, DayPlanStatus
from .sheets import (
    RECENT_PLANS,
    courier_list_build,
    courier_roster_get,
    courier_rosters,
    gate_checklist_build,
    gate_checklist_stop_get,
    gate_checklist_stops,
    pick_list_get,
    pick_list_keys,
    route_sheet_route_get,
    route_sheet_routes,
    route_sheets_build,
    sheet_kinds_for,
    sheet_plan_get,
    sheet_plan_list,
)
from .sheets_export import (
    SheetDocument,
    courier_list_document,
    gate_checklist_document,
    pick_list_document,
    plan_header,
    route_sheet_document,
    route_sheets_bundle_filename,
)
from .sheets_pdf import PDF_CONTENT_TYPE, route_sheets_pdf_write, sheet_pdf_render
from .sheets_xlsx import sheet_xlsx

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


# --- sheets: route sheets, pick lists, gate checklists, courier lists -----------------------------

SHEET_FORMATS = ("html", "pdf", "xlsx")


def _sheet_format(request: HttpRequest) -> str:
    wanted = request.GET.get("format", "html")
    if wanted not in SHEET_FORMATS:
        raise BadRequest(_("Unknown format: choose html, pdf or xlsx."), field="format")
    return wanted


def _sheet_response(request: HttpRequest, *, plan: DayPlan, document: SheetDocument) -> HttpResponse:
    """The sheet on screen, as a printable PDF or as a workbook (`?format=`)."""
    wanted = _sheet_format(request)
    if wanted == "xlsx":
        data = sheet_xlsx(kind=document.kind, sheet=document.sheet)
        return export_response(data=data, filename=f"{document.filename}.xlsx", kind="xlsx")
    context = {"plan": plan, "kind": document.kind, "sheet": document.sheet, "title": document.title}
    if wanted == "pdf":
        rendered = sheet_pdf_render(
            template="planning/sheets/print.html",
            context=context,
            header_left=plan_header(plan),
            header_right=document.title,
        )
        return HttpResponse(
            rendered.data,
            content_type=PDF_CONTENT_TYPE,
            headers={"Content-Disposition": content_disposition_header(True, f"{document.filename}.pdf")},
        )
    return render(request, "planning/sheets/sheet.html", context)


@require_GET
@page_view
def sheet_plans(request: HttpRequest) -> HttpResponse:
    """Finished plans holding sheets for the caller (a volunteer's own courier lists, a supplier's pick lists…)."""
    scope = scope_of(request.user)
    if not sheet_kinds_for(scope):
        raise NotFound()
    return render(request, "planning/sheets/plans.html", {"plans": sheet_plan_list(scope=scope)[:RECENT_PLANS]})


@require_GET
@page_view
def sheet_index(request: HttpRequest, plan_id: int) -> HttpResponse:
    scope = scope_of(request.user)
    plan = sheet_plan_get(scope=scope, plan_id=plan_id)
    kinds = sheet_kinds_for(scope)
    context = {
        "plan": plan,
        "kinds": kinds,
        "routes": route_sheet_routes(scope=scope, plan=plan) if "route" in kinds else [],
        "picks": pick_list_keys(scope=scope, plan=plan) if "pick" in kinds else [],
        "gates": gate_checklist_stops(scope=scope, plan=plan) if "gate" in kinds else [],
        "rosters": courier_rosters(scope=scope, plan=plan) if "courier" in kinds else [],
    }
    return render(request, "planning/sheets/index.html", context)


@require_GET
@page_view
def sheet_route(request: HttpRequest, plan_id: int, route_id: int) -> HttpResponse:
    scope = scope_of(request.user)
    plan = sheet_plan_get(scope=scope, plan_id=plan_id)
    route = route_sheet_route_get(scope=scope, plan=plan, route_id=route_id)
    sheet = route_sheets_build(plan=plan, routes=[route])[0]
    return _sheet_response(request, plan=plan, document=route_sheet_document(plan, sheet))


@require_GET
@page_view
def sheet_routes_pdf(request: HttpRequest, plan_id: int) -> HttpResponse:
    """Every route sheet the caller may read, one PDF, streamed from a temporary file."""
    scope = scope_of(request.user)
    plan = sheet_plan_get(scope=scope, plan_id=plan_id)
    if "route" not in sheet_kinds_for(scope):
        raise NotFound()
    sheets = route_sheets_build(plan=plan, routes=route_sheet_routes(scope=scope, plan=plan))
    target = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it once sent
    route_sheets_pdf_write(sheets=sheets, header_left=plan_header(plan), target=target)
    target.seek(0)
    response = FileResponse(
        target, as_attachment=True, filename=route_sheets_bundle_filename(plan), content_type=PDF_CONTENT_TYPE
    )
    # `page_view` is typed for plain responses; a streamed file passes through it unchanged.
    return cast(HttpResponse, response)


@require_GET
@page_view
def sheet_pick(request: HttpRequest, plan_id: int, route_id: int, trip: int, supermarket_id: int) -> HttpResponse:
    scope = scope_of(request.user)
    plan = sheet_plan_get(scope=scope, plan_id=plan_id)
    sheet = pick_list_get(scope=scope, plan=plan, route_id=route_id, trip=trip, supermarket_id=supermarket_id)
    return _sheet_response(request, plan=plan, document=pick_list_document(plan, sheet))


@require_GET
@page_view
def sheet_gate(request: HttpRequest, plan_id: int, compound_id: int) -> HttpResponse:
    scope = scope_of(request.user)
    plan = sheet_plan_get(scope=scope, plan_id=plan_id)
    stop = gate_checklist_stop_get(scope=scope, plan=plan, compound_id=compound_id)
    sheet = gate_checklist_build(plan=plan, stop=stop)
    return _sheet_response(request, plan=plan, document=gate_checklist_document(plan, sheet))


@require_GET
@page_view
def sheet_courier(request: HttpRequest, plan_id: int, roster_id: int) -> HttpResponse:
    scope = scope_of(request.user)
    plan = sheet_plan_get(scope=scope, plan_id=plan_id)
    roster = courier_roster_get(scope=scope, plan=plan, roster_id=roster_id)
    sheet = courier_list_build(plan=plan, roster=roster)
    return _sheet_response(request, plan=plan, document=courier_list_document(plan, sheet))
