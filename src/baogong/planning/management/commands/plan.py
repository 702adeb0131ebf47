"""`manage.py plan --date YYYY-MM-DD [--area CODE] [--time-limit S] [--queue] [--sheets DIR]`: plan a delivery day.

By default the subdistricts are solved in this process, one after another,
and a summary is printed; `--queue` hands them to the task workers instead
(`baogong worker`) and prints the plan's id. `--sheets DIR` writes every
route sheet, pick list, gate checklist and courier list of the finished plan
to DIR as PDF and xlsx, plus one PDF of all route sheets.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from baogong.core.errors import ApplicationError
from baogong.planning.day_plan import DEFAULT_TIME_LIMIT_S, day_plan_solve, day_plan_start
from baogong.planning.models import DayPlan
from baogong.planning.sheets_export import day_plan_sheets_write
from baogong.regions.models import Region


class Command(BaseCommand):
    help = "Plan a delivery day: allocation, vehicle routes, courier rosters and pickup slots."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="delivery day, YYYY-MM-DD (default: tomorrow)")
        parser.add_argument("--area", help="code of the county or subdistrict to plan (default: the county)")
        parser.add_argument("--time-limit", type=float, default=DEFAULT_TIME_LIMIT_S, help="seconds per subdistrict")
        parser.add_argument("--queue", action="store_true", help="enqueue one task per subdistrict and return")
        parser.add_argument("--sheets", metavar="DIR", help="write all sheets of the plan (PDF and xlsx) to DIR")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["date"]:
            try:
                day = date.fromisoformat(options["date"])
            except ValueError as error:
                raise CommandError(f"--date: {error}") from None
        else:
            day = timezone.localdate() + timedelta(days=1)
        area = None
        if options["area"]:
            area = Region.objects.filter(code=options["area"]).first()
            if area is None:
                raise CommandError(f"--area: no region with code {options['area']!r}")
        if options["sheets"] and options["queue"]:
            raise CommandError("--sheets needs the finished plan; it cannot be combined with --queue")
        service = day_plan_start if options["queue"] else day_plan_solve
        try:
            plan = service(actor=None, delivery_date=day, area=area, time_limit_s=options["time_limit"])
        except ApplicationError as error:
            where = f"{error.field}: " if error.field else ""
            raise CommandError(f"{where}{error.message}") from None
        if options["queue"]:
            self.stdout.write(
                f"plan {plan.pk}: {plan.allocations_total} supermarkets queued for allocation, "
                f"then {plan.parts_total} subdistricts"
            )
            return
        self.stdout.write(
            f"plan {plan.pk} {day} {plan.area.code}: {plan.status}; "
            f"stops {plan.stops_assigned}/{plan.stops} routed; "
            f"vehicles {plan.vehicles_used}/{plan.vehicles_available}; "
            f"{plan.distance_km:.1f} km; utilisation {plan.utilisation:.0%}; "
            f"unmet {plan.unmet_units} units; not routed {plan.unrouted_kg:.1f} kg"
        )
        for part in plan.parts.select_related("subdistrict").order_by("subdistrict__path"):
            line = f"  {part.subdistrict.code}: {part.status}, {part.stops_assigned}/{part.stops} stops"
            self.stdout.write(line + (f" ({part.error})" if part.error else ""))
        if options["sheets"]:
            self._sheets_write(plan, Path(options["sheets"]))

    def _sheets_write(self, plan: DayPlan, directory: Path) -> None:
        written = day_plan_sheets_write(plan=plan, directory=directory)
        kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(written.by_kind.items()))
        self.stdout.write(
            f"sheets: {written.files} files in {directory} ({kinds}); {written.pages} pages; "
            f"PDF {written.pdf_bytes:,} bytes, xlsx {written.xlsx_bytes:,} bytes; {written.seconds:.1f} s"
        )
