"""Titles and file names of the sheets, and writing every sheet of a plan to a directory.

The pages and the command line name sheets the same way, so a file printed
from the plan page and one written by `plan --sheets` can be told apart only
by their timestamps.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

from baogong.accounts.models import Role
from baogong.core.scoping import Scope

from .sheets import (
    CourierList,
    GateChecklist,
    PickList,
    RouteSheet,
    courier_list_build,
    courier_rosters,
    gate_checklist_build,
    gate_checklist_stops,
    pick_list_get,
    pick_list_keys,
    route_sheet_routes,
    route_sheets_build,
)
from .sheets_pdf import route_sheets_pdf_write, sheet_pdf_render
from .sheets_xlsx import sheet_xlsx

if TYPE_CHECKING:
    from pathlib import Path

    from .models import DayPlan

Sheet = RouteSheet | PickList | GateChecklist | CourierList


@dataclass(frozen=True)
class SheetDocument:
    kind: str
    sheet: Sheet
    title: str
    filename: str  # without extension


def plan_header(plan: DayPlan) -> str:
    """The running header of every printed page."""
    return _("Delivery day %(day)s · %(area)s · plan %(plan)s") % {
        "day": f"{plan.delivery_date:%Y-%m-%d}",
        "area": plan.area.name,
        "plan": plan.pk,
    }


def _safe(text: str) -> str:
    # File names keep letters (Chinese too), digits and dashes; plates and codes are short.
    return "".join(char if char.isalnum() or char in "-_" else "-" for char in text)


def route_sheet_document(plan: DayPlan, sheet: RouteSheet) -> SheetDocument:
    return SheetDocument(
        kind="route",
        sheet=sheet,
        title=_("Route sheet %(vehicle)s") % {"vehicle": sheet.vehicle},
        filename=f"route-sheet-{plan.delivery_date:%Y%m%d}-{plan.pk}-{_safe(sheet.vehicle)}",
    )


def pick_list_document(plan: DayPlan, sheet: PickList) -> SheetDocument:
    return SheetDocument(
        kind="pick",
        sheet=sheet,
        title=_("Pick list %(supermarket)s → %(vehicle)s, trip %(trip)s")
        % {"supermarket": sheet.supermarket, "vehicle": sheet.vehicle, "trip": sheet.trip},
        filename=(
            f"pick-list-{plan.delivery_date:%Y%m%d}-{plan.pk}-{_safe(sheet.vehicle)}-{sheet.trip}-{sheet.supermarket_id}"
        ),
    )


def gate_checklist_document(plan: DayPlan, sheet: GateChecklist) -> SheetDocument:
    return SheetDocument(
        kind="gate",
        sheet=sheet,
        title=_("Gate checklist %(compound)s") % {"compound": sheet.compound},
        filename=f"gate-checklist-{plan.delivery_date:%Y%m%d}-{plan.pk}-{_safe(sheet.compound_code)}",
    )


def courier_list_document(plan: DayPlan, sheet: CourierList) -> SheetDocument:
    return SheetDocument(
        kind="courier",
        sheet=sheet,
        title=_("Courier list %(compound)s #%(number)s") % {"compound": sheet.compound, "number": sheet.number},
        filename=f"courier-list-{plan.delivery_date:%Y%m%d}-{plan.pk}-{_safe(sheet.compound_code)}-{sheet.number}",
    )


def route_sheets_bundle_filename(plan: DayPlan) -> str:
    return f"route-sheets-{plan.delivery_date:%Y%m%d}-{plan.pk}.pdf"


def day_plan_sheet_documents(*, plan: DayPlan, scope: Scope) -> list[SheetDocument]:
    """Every sheet of the plan the scope may read, route sheets first."""
    documents = [
        route_sheet_document(plan, sheet)
        for sheet in route_sheets_build(plan=plan, routes=route_sheet_routes(scope=scope, plan=plan))
    ]
    documents += [
        pick_list_document(
            plan,
            pick_list_get(
                scope=scope, plan=plan, route_id=key.route_id, trip=key.trip, supermarket_id=key.supermarket_id
            ),
        )
        for key in pick_list_keys(scope=scope, plan=plan)
    ]
    documents += [
        gate_checklist_document(plan, gate_checklist_build(plan=plan, stop=stop))
        for stop in gate_checklist_stops(scope=scope, plan=plan)
    ]
    documents += [
        courier_list_document(plan, courier_list_build(plan=plan, roster=roster))
        for roster in courier_rosters(scope=scope, plan=plan)
    ]
    return documents


@dataclass
class SheetsWritten:
    files: int = 0
    pages: int = 0
    pdf_bytes: int = 0
    xlsx_bytes: int = 0
    seconds: float = 0.0
    by_kind: dict[str, int] = field(default_factory=dict)


def day_plan_sheets_write(*, plan: DayPlan, directory: Path) -> SheetsWritten:
    """Every sheet of the plan as PDF and xlsx, plus the bundle of all route sheets, into `directory`.

    Run from the command line, so it reads as the command office does (every sheet).
    """
    started = time.perf_counter()
    directory.mkdir(parents=True, exist_ok=True)
    scope = Scope(user_id=None, role=Role.COMMAND, region_path="")
    written = SheetsWritten()
    header = plan_header(plan)
    documents = day_plan_sheet_documents(plan=plan, scope=scope)
    for document in documents:
        rendered = sheet_pdf_render(
            template="planning/sheets/print.html",
            context={"kind": document.kind, "sheet": document.sheet, "title": document.title},
            header_left=header,
            header_right=document.title,
        )
        (directory / f"{document.filename}.pdf").write_bytes(rendered.data)
        workbook = sheet_xlsx(kind=document.kind, sheet=document.sheet)
        (directory / f"{document.filename}.xlsx").write_bytes(workbook)
        written.files += 2
        written.pages += rendered.pages
        written.pdf_bytes += len(rendered.data)
        written.xlsx_bytes += len(workbook)
        written.by_kind[document.kind] = written.by_kind.get(document.kind, 0) + 1
    bundle = directory / route_sheets_bundle_filename(plan)
    with bundle.open("wb") as target:
        route_sheets_pdf_write(
            sheets=[document.sheet for document in documents if isinstance(document.sheet, RouteSheet)],
            header_left=header,
            target=target,
        )
    written.files += 1
    written.pdf_bytes += bundle.stat().st_size
    written.seconds = time.perf_counter() - started
    return written
