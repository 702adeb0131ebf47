"""R19 xlsx-roster-data: a 5,000-row roster, its mistakes, a crash mid-import and a second upload.

- 50 planted mistakes (ID typed as a number, wrong check digit, the same room
  twice, full-width digits, a 10-digit phone, a blank name) in a 5,000-row
  file: all 50 reported with their row numbers, nothing imported;
- the clean file's import is killed with SIGKILL in a separate process after
  2,500 households were written inside its transaction: nothing of it stays;
- the import after the crash creates exactly 5,000 households within a
  bounded time, and the same file uploaded again creates none;
- a 5,000-row file whose `<dimension>` claims a single cell still imports
  5,000 rows (no silent truncation).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from baogong.accounts.models import Role
from baogong.accounts.tests.factories import user
from baogong.core.errors import ImportRejected
from baogong.core.models import AuditLog
from baogong.core.scoping import scope_of
from baogong.core.tests.xlsx_files import xlsx_with_dimension
from baogong.orders.tests.test_concurrency import concurrent_database  # noqa: F401 - file-backed database
from baogong.regions.models import Household, Region, RegionLevel
from baogong.regions.roster import roster_import
from baogong.regions.tests.factories import make_tree, region
from baogong.regions.tests.roster_files import id_number_with_check, roster_file, roster_row

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

HERE = Path(__file__).resolve().parent
ROWS, KILL_AT, IMPORT_SECONDS = 5000, 2500, 30
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def good_rows() -> list[list[object]]:
    rows = []
    for i in range(ROWS):
        building, rest = divmod(i, 100)
        unit, room = divmod(rest, 50)
        rows.append(
            roster_row(
                building=f"{building + 1}号楼",
                unit=f"{unit + 1}单元",
                room=str(101 + room),
                head_name=f"住户{i}",
                size=1 + i % 5,
                phone=f"139{i:08d}",
                id_number=id_number_with_check(f"3301061980{i:07d}"),
            )
        )
    return rows


def planted(rows: list[list[object]]) -> tuple[list[list[object]], dict[int, str]]:
    """50 rows spoilt, one mistake each, spread over the file; returns the rows and row number -> mistake."""
    spoilt = [list(row) for row in rows]
    kinds = ["numeric_id"] * 9 + ["check_digit"] * 9 + ["duplicate"] * 8 + ["full_width"] * 8
    kinds += ["ten_digit_phone"] * 8 + ["blank_name"] * 8
    mistakes = {}
    for n, kind in enumerate(kinds):
        index = 37 + n * 97  # spread from near the top to near the bottom
        row = spoilt[index]
        if kind == "numeric_id":
            row[6] = float(str(row[6])[:17])
        elif kind == "check_digit":
            last = str(row[6])[-1]
            row[6] = str(row[6])[:-1] + ("0" if last != "0" else "1")
        elif kind == "duplicate":
            row[0], row[1], row[2] = spoilt[index - 1][0], spoilt[index - 1][1], spoilt[index - 1][2]
        elif kind == "full_width":
            # Full-width digits are normalised (NFKC) and then checked like any: a wrong check digit typed
            # in full width is still refused; a right one is accepted (see the roster import tests).
            last = str(row[6])[-1]
            row[6] = (str(row[6])[:-1] + ("0" if last != "0" else "1")).translate(FULL_WIDTH)
        elif kind == "ten_digit_phone":
            row[5] = str(row[5])[:10]
        else:
            row[3] = ""
        mistakes[index + 2] = kind  # Excel row: a title row, then 1-based
    return spoilt, mistakes


def state(compound: Region) -> tuple[int, int, int]:
    return (
        Household.objects.filter(compound=compound).count(),
        Region.objects.filter(path__startswith=compound.path).count(),
        AuditLog.objects.filter(action="household.import").count(),
    )


def subprocess_env(var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "BAOGONG_SQLITE_PATH"}}
    env.update({"DJANGO_SETTINGS_MODULE": "baogong.config.settings.base", "BAOGONG_VAR_DIR": str(var_dir)})
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        env["BAOGONG_SQLITE_PATH"] = str(settings["NAME"])
    else:
        port = settings.get("PORT") or 5432
        password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
        env["DATABASE_URL"] = f"postgres://{settings['USER']}{password}@{settings['HOST']}:{port}/{settings['NAME']}"
    return env


def test_r19_roster_of_5000_rows(concurrent_database, tmp_path, record_property):  # noqa: F811
    tree = make_tree()
    worker = user(Role.COMMUNITY, region=tree.community)
    scope = scope_of(worker)
    rows = good_rows()
    spoilt, mistakes = planted(rows)
    before = state(tree.compound)

    # 1. Fifty mistakes: every one reported with its row, nothing imported.
    with pytest.raises(ImportRejected) as caught:
        roster_import(actor=worker, scope=scope, compound_id=tree.compound.pk, data=roster_file(spoilt))
    reported = sorted({error.row for error in caught.value.rows})
    assert reported == sorted(mistakes)
    assert len(caught.value.rows) == len(mistakes) == 50
    assert state(tree.compound) == before

    # 2. Killed with SIGKILL after 2,500 households were written inside the transaction.
    clean = roster_file(rows)
    path = tmp_path / "roster.xlsx"
    path.write_bytes(clean)
    connection.close()  # the other process must be able to take the write lock
    killed = subprocess.run(
        [sys.executable, str(HERE / "roster_kill.py"), str(path), tree.compound.code, str(KILL_AT)],
        env=subprocess_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    after_crash = state(tree.compound)
    assert after_crash == before

    # 3. The import after the crash: exact counts, bounded time.
    started = time.monotonic()
    result = roster_import(actor=worker, scope=scope, compound_id=tree.compound.pk, data=clean)
    seconds = time.monotonic() - started
    assert (result.rows, result.created, result.updated, result.unchanged) == (ROWS, ROWS, 0, 0)
    # make_tree already made building 1, unit 1: the file's other 49 buildings and 99 units are new.
    assert (result.buildings_created, result.units_created) == (49, 99)
    assert Household.objects.filter(compound=tree.compound).count() == ROWS
    assert seconds < IMPORT_SECONDS

    # 4. The same file again: no duplicates.
    again = roster_import(actor=worker, scope=scope, compound_id=tree.compound.pk, data=clean)
    assert (again.created, again.updated, again.unchanged) == (0, 0, ROWS)
    assert Household.objects.filter(compound=tree.compound).count() == ROWS

    # 5. A file that claims to be one cell big still yields every row.
    other = region(tree.community, RegionLevel.COMPOUND, "二号小区")
    lying = xlsx_with_dimension(clean, "A1:A1")
    dimension = roster_import(actor=worker, scope=scope, compound_id=other.pk, data=lying)
    assert (dimension.rows, dimension.created) == (ROWS, ROWS)

    record_property(
        "figure",
        f"R19 {connection.vendor}: {len(reported)}/50 planted mistakes reported with row numbers, 0 imported; "
        f"SIGKILL after {KILL_AT} of {ROWS} rows written: {after_crash[0] - before[0]} households left; "
        f"re-import {result.created}/{ROWS} in {seconds:.1f} s; second upload {again.created} created; "
        f"wrong <dimension>: {dimension.rows}/{ROWS} rows read",
    )
