"""The sheets as workbooks: one row per line, the sheet's context repeated in the first columns.

Written through `core.exports.xlsx_export`, so text that could start a
formula is stored as text. Times are "HH:MM" text (spreadsheet time cells
would show a date on some programs); quantities are numbers. A totals row
closes the route sheets and pick lists.
"""

from __future__ import annotations

from datetime import time

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from baogong.core.exports import ExportValue, xlsx_export

from .sheets import CourierList, GateChecklist, PickList, RouteSheet


def _hhmm(moment: time | None) -> str:
    return f"{moment:%H:%M}" if moment is not None else ""


def route_sheet_table(sheet: RouteSheet) -> tuple[list[str], list[list[ExportValue]]]:
    header = [
        _("Vehicle"),
        _("Driver"),
        _("Depot"),
        _("Trip"),
        _("Stop"),
        _("Compound"),
        _("Gate"),
        _("Time window"),
        _("ETA"),
        _("Departs"),
        _("Households"),
        _("Parcels"),
        _("Unload (kg)"),
        _("Volume (m³)"),
        _("On board on arrival (kg)"),
        _("Cold chain"),
    ]
    rows: list[list[ExportValue]] = [
        [
            sheet.vehicle,
            sheet.driver,
            sheet.depot,
            stop.trip,
            stop.sequence,
            stop.compound,
            stop.gate,
            stop.window,
            _hhmm(stop.eta),
            _hhmm(stop.departs),
            stop.households,
            stop.parcels,
            stop.kg,
            stop.m3,
            stop.on_board_kg,
            _("yes") if stop.cold_chain else "",
        ]
        for stop in sheet.stops
    ]
    rows.append(
        [
            sheet.vehicle,
            sheet.driver,
            sheet.depot,
            None,
            None,
            _("Total"),
            "",
            "",
            _hhmm(sheet.starts),
            _hhmm(sheet.ends),
            sheet.households,
            sheet.parcels,
            sheet.kg,
            sheet.m3,
            None,
            "",
        ]
    )
    return header, rows


def pick_list_table(sheet: PickList) -> tuple[list[str], list[list[ExportValue]]]:
    header = [
        _("Supermarket"),
        _("Vehicle"),
        _("Trip"),
        _("Stop"),
        _("Compound"),
        _("Purchase order"),
        _("Building"),
        _("Item"),
        _("Unit"),
        _("Quantity"),
    ]
    rows: list[list[ExportValue]] = [
        [
            sheet.supermarket,
            sheet.vehicle,
            sheet.trip,
            compound.sequence,
            compound.compound,
            compound.purchase_order_id,
            building.building,
            line.name,
            line.unit,
            line.quantity,
        ]
        for compound in sheet.compounds
        for building in compound.buildings
        for line in building.lines
    ]
    rows.extend(
        [sheet.supermarket, sheet.vehicle, sheet.trip, None, _("Total"), None, "", line.name, line.unit, line.quantity]
        for line in sheet.totals
    )
    return header, rows


def gate_checklist_table(sheet: GateChecklist) -> tuple[list[str], list[list[ExportValue]]]:
    header = [
        _("Compound"),
        _("Vehicle"),
        _("ETA"),
        _("Building"),
        _("Supermarket"),
        _("Item"),
        _("Unit"),
        _("Quantity"),
        _("Parcels"),
        _("Received"),
        _("Discrepancy"),
        _("Signature"),
    ]
    rows: list[list[ExportValue]] = [
        [
            sheet.compound,
            sheet.vehicle,
            _hhmm(sheet.eta),
            row.building,
            row.supermarket,
            row.name,
            row.unit,
            row.quantity,
            row.parcels,
            "",
            "",
            "",
        ]
        for row in sheet.rows
    ]
    return header, rows


def courier_list_table(sheet: CourierList) -> tuple[list[str], list[list[ExportValue]]]:
    header = [
        _("Compound"),
        _("Roster"),
        _("Volunteer"),
        "#",
        _("Building"),
        pgettext("part of a building", "Unit"),
        _("Floor"),
        _("Room"),
        _("Head of household"),
        _("Phone"),
        _("Parcels"),
        _("Weight (kg)"),
        _("Goods"),
        _("Delivered"),
    ]
    rows: list[list[ExportValue]] = [
        [
            sheet.compound,
            sheet.number,
            sheet.volunteer,
            stop.position,
            stop.building,
            stop.unit,
            stop.floor,
            stop.room,
            stop.head,
            stop.phone,
            stop.parcels,
            stop.kg,
            stop.goods,
            "",
        ]
        for stop in sheet.stops
    ]
    return header, rows


def sheet_xlsx(*, kind: str, sheet: RouteSheet | PickList | GateChecklist | CourierList) -> bytes:
    """The workbook of one sheet."""
    if kind == "route" and isinstance(sheet, RouteSheet):
        header, rows = route_sheet_table(sheet)
        title = _("Route sheet")
    elif kind == "pick" and isinstance(sheet, PickList):
        header, rows = pick_list_table(sheet)
        title = _("Pick list")
    elif kind == "gate" and isinstance(sheet, GateChecklist):
        header, rows = gate_checklist_table(sheet)
        title = _("Gate checklist")
    elif kind == "courier" and isinstance(sheet, CourierList):
        header, rows = courier_list_table(sheet)
        title = _("Courier list")
    else:
        raise ValueError(kind)
    return xlsx_export(header=header, rows=rows, sheet_title=title)
