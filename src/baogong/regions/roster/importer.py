"""Household roster (摸排表) spreadsheets: the template and the import.

The import reads one compound's roster, checks every row and reports every
bad cell with its Excel row number and column; only a fully valid file is
written, in one transaction. Rows are matched to existing households by
(building, unit, room), so importing the same file again changes nothing and
a corrected file updates just the rows that changed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from baogong.core.errors import ImportRejected, NotFound, PermissionDenied
from baogong.core.services import audit_record
from baogong.core.spreadsheets import xlsx_table_read

from ..models import Household, Region, RegionLevel
from ..selectors import region_list
from ..services import region_create
from .rows import ROSTER_IMPORT_ROLES, RosterRow, roster_rows_validate

if TYPE_CHECKING:
    from baogong.accounts.models import User
    from baogong.core.scoping import Scope


@dataclass(frozen=True)
class RosterImportResult:
    compound_id: int
    rows: int
    created: int
    updated: int
    unchanged: int
    buildings_created: int
    units_created: int
    file_sha256: str


def roster_import(*, actor: User | None, scope: Scope, compound_id: int, data: bytes) -> RosterImportResult:
    """Load a roster file into one compound, all or nothing.

    1. the caller's role and scope: a compound outside the scope is not found;
    2. the file (core.spreadsheets) and every row, collecting every problem;
    3. in one transaction with the compound row locked (two imports of one
       compound run one after the other): missing buildings and units are
       created, households are created or updated by (unit, room), and one
       audit row records the counts and the file's hash.
    """
    if scope.role not in ROSTER_IMPORT_ROLES:
        raise PermissionDenied(_("Only community, subdistrict and command staff may import household rosters."))
    compound = region_list(scope=scope).filter(pk=compound_id, level=RegionLevel.COMPOUND).first()
    if compound is None:
        raise NotFound()
    table = xlsx_table_read(data, max_rows=settings.ROSTER_IMPORT_MAX_ROWS)
    rows = roster_rows_validate(table)
    return _roster_write(actor=actor, compound=compound, rows=rows, file_sha256=hashlib.sha256(data).hexdigest())


def _child_code(compound_code: str, kind: str, *names: str) -> str:
    """A stable code for a building or unit made from the compound's code and the names.

    Hashing the names keeps codes short, ASCII and the same on every import;
    a long compound code is shortened the same deterministic way.
    """
    digest = hashlib.sha256("\x1f".join(names).encode()).hexdigest()[:8].upper()
    prefix = compound_code
    if len(prefix) > 22:
        prefix = prefix[:13] + hashlib.sha256(prefix.encode()).hexdigest()[:8].upper()
    return f"{prefix}-{kind}{digest}"


@transaction.atomic
def _roster_write(
    *, actor: User | None, compound: Region, rows: list[RosterRow], file_sha256: str
) -> RosterImportResult:
    compound = Region.objects.select_for_update().get(pk=compound.pk)
    buildings = {b.name: b for b in Region.objects.filter(parent=compound, level=RegionLevel.BUILDING)}
    units = {(u.parent_id, u.name): u for u in Region.objects.filter(parent__parent=compound, level=RegionLevel.UNIT)}
    planned_codes = {_child_code(compound.code, "B", row.building) for row in rows if row.building not in buildings}
    taken = set(Region.objects.filter(code__in=planned_codes).values_list("code", flat=True))
    if taken:
        raise ImportRejected(
            _("A building code derived for this compound is already used elsewhere (%(code)s); tell the administrator.")
            % {"code": sorted(taken)[0]}
        )

    buildings_created = units_created = 0
    unit_of_row: dict[int, Region] = {}
    for row in rows:
        building = buildings.get(row.building)
        if building is None:
            building = region_create(
                actor=actor,
                parent=compound,
                level=RegionLevel.BUILDING,
                code=_child_code(compound.code, "B", row.building),
                name=row.building,
            )
            buildings[row.building] = building
            buildings_created += 1
        unit = units.get((building.pk, row.unit))
        if unit is None:
            code = _child_code(compound.code, "U", row.building, row.unit)
            if Region.objects.filter(code=code).exists():
                raise ImportRejected(
                    _(
                        "A unit code derived for this compound is already used elsewhere (%(code)s); "
                        "tell the administrator."
                    )
                    % {"code": code}
                )
            unit = region_create(actor=actor, parent=building, level=RegionLevel.UNIT, code=code, name=row.unit)
            units[(building.pk, row.unit)] = unit
            units_created += 1
        unit_of_row[row.number] = unit

    existing = {(h.unit_id, h.room): h for h in Household.objects.filter(compound=compound)}
    to_create: list[Household] = []
    to_update: list[Household] = []
    changed_fields: set[str] = set()
    unchanged = 0
    now = timezone.now()
    for row in rows:
        unit = unit_of_row[row.number]
        household = existing.get((unit.pk, row.room))
        if household is None:
            to_create.append(Household(unit=unit, compound=compound, room=row.room, **row.values))
            continue
        differing = [name for name, value in row.values.items() if getattr(household, name) != value]
        if not differing:
            unchanged += 1
            continue
        for name in differing:
            setattr(household, name, row.values[name])
        household.updated_at = now
        changed_fields.update(differing)
        to_update.append(household)

    # Rows were validated above and the table constraints still hold the line,
    # so one bulk insert replaces a query (and an audit row) per household.
    Household.objects.bulk_create(to_create, batch_size=1000)
    if to_update:
        Household.objects.bulk_update(to_update, [*sorted(changed_fields), "updated_at"], batch_size=500)

    result = RosterImportResult(
        compound_id=compound.pk,
        rows=len(rows),
        created=len(to_create),
        updated=len(to_update),
        unchanged=unchanged,
        buildings_created=buildings_created,
        units_created=units_created,
        file_sha256=file_sha256,
    )
    # Counts and the file's hash only: the audit log must never hold names, phones or ID numbers.
    audit_record(
        actor=actor,
        action="household.import",
        target_type="region",
        target_id=compound.pk,
        payload={
            "rows": result.rows,
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "buildings_created": result.buildings_created,
            "units_created": result.units_created,
            "file_sha256": file_sha256,
        },
    )
    return result
