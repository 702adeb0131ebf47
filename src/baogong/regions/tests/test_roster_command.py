import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from baogong import cli
from baogong.core.models import AuditLog
from baogong.regions.models import Household, Region
from baogong.regions.tests.factories import make_tree
from baogong.regions.tests.roster_files import roster_file, roster_row

pytestmark = pytest.mark.django_db

ROWS = [
    roster_row("1号楼", "1单元", "101", "王建国", 3, "13812345678"),
    roster_row("2号楼", "1单元", "101", "张伟", 1, "13812345670"),
]


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def roster_path(tmp_path):
    path = tmp_path / "roster.xlsx"
    path.write_bytes(roster_file(ROWS))
    return path


def test_the_command_imports_a_roster_into_a_compound(roster_path, capsys):
    tree = make_tree()

    call_command("import_roster", str(roster_path), "--compound", tree.compound.code)

    assert capsys.readouterr().out == (
        f"Imported 2 rows into {tree.compound.name} ({tree.compound.code}): created 2, updated 0, unchanged 0; "
        "buildings created 1, units created 1.\n"
    )
    assert Household.objects.filter(compound=tree.compound).count() == 2
    audit = AuditLog.objects.get(action="household.import")
    assert audit.actor is None
    assert audit.payload["created"] == 2


def test_the_baogong_cli_calls_the_command(roster_path, capsys):
    tree = make_tree()
    call_command("import_roster", str(roster_path), "--compound", tree.compound.code)
    capsys.readouterr()

    cli.main(["import", "roster", str(roster_path), "--compound", tree.compound.code])

    assert capsys.readouterr().out == (
        f"Imported 2 rows into {tree.compound.name} ({tree.compound.code}): created 0, updated 0, unchanged 2; "
        "buildings created 0, units created 0.\n"
    )
    assert Household.objects.count() == 2


def test_the_command_lists_row_errors_and_imports_nothing(tmp_path, capsys):
    tree = make_tree()
    path = tmp_path / "bad.xlsx"
    path.write_bytes(roster_file([*ROWS, roster_row(room="102", phone="12")]))
    before = (Household.objects.count(), Region.objects.count(), AuditLog.objects.count())

    with pytest.raises(CommandError, match=r"^The file has 1 error\. Nothing was imported\.$"):
        call_command("import_roster", str(path), "--compound", tree.compound.code)

    assert capsys.readouterr().err == (
        "row 4, 电话 Phone: not an 11-digit mobile number or a landline number (such as 0571-87654321)\n"
    )
    assert (Household.objects.count(), Region.objects.count(), AuditLog.objects.count()) == before


def test_the_command_refuses_an_unknown_compound(roster_path):
    tree = make_tree()

    with pytest.raises(CommandError, match=r"^No compound has the code NOPE\.$"):
        call_command("import_roster", str(roster_path), "--compound", "NOPE")
    with pytest.raises(CommandError, match=r"^No compound has the code"):
        call_command("import_roster", str(roster_path), "--compound", tree.building.code)
    assert Household.objects.count() == 0


def test_the_command_reports_an_unreadable_path(tmp_path):
    tree = make_tree()

    with pytest.raises(CommandError, match=r"^Cannot read .*missing\.xlsx: No such file or directory$"):
        call_command("import_roster", str(tmp_path / "missing.xlsx"), "--compound", tree.compound.code)
