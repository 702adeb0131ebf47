"""`import_roster PATH --compound CODE`: load a household roster from the server's console."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from baogong.accounts.models import Role
from baogong.core.errors import ImportRejected
from baogong.core.scoping import Scope
from baogong.core.spreadsheets import upload_read_limited
from baogong.regions.models import RegionLevel
from baogong.regions.roster import roster_import
from baogong.regions.selectors import region_list

# Someone at the server's console already holds the whole database, so the
# command runs with the command office's scope; the audit row has no actor.
CONSOLE_SCOPE = Scope(user_id=None, role=Role.COMMAND, region_path="")


class Command(BaseCommand):
    help = "Import a household roster (.xlsx, the download template) into one compound, all or nothing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="the filled-in roster workbook (.xlsx)")
        parser.add_argument("--compound", required=True, help="code of the compound the roster belongs to")

    def handle(self, *args: Any, **options: Any) -> None:
        compound = region_list(scope=CONSOLE_SCOPE).filter(code=options["compound"], level=RegionLevel.COMPOUND).first()
        if compound is None:
            raise CommandError(_("No compound has the code %(code)s.") % {"code": options["compound"]})
        path = Path(options["path"])
        try:
            with path.open("rb") as source:
                data = upload_read_limited(source)
            result = roster_import(actor=None, scope=CONSOLE_SCOPE, compound_id=compound.pk, data=data)
        except OSError as exc:
            raise CommandError(_("Cannot read %(path)s: %(reason)s") % {"path": path, "reason": exc.strerror}) from exc
        except ImportRejected as exc:
            for error in exc.rows:
                self.stderr.write(
                    _("row %(row)s, %(column)s: %(message)s")
                    % {"row": error.row, "column": error.field, "message": error.message}
                )
            raise CommandError(str(exc.message)) from exc
        self.stdout.write(
            _(
                "Imported %(rows)s rows into %(name)s (%(code)s): created %(created)s, updated %(updated)s, "
                "unchanged %(unchanged)s; buildings created %(buildings)s, units created %(units)s."
            )
            % {
                "rows": result.rows,
                "name": compound.name,
                "code": compound.code,
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "buildings": result.buildings_created,
                "units": result.units_created,
            }
        )
