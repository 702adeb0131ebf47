"""R18 hostile spreadsheets: 11 files, each refused with a readable message, fast, in bounded memory.

The reader runs in a child process limited to 256 MB of address space
(RLIMIT_AS) so a file that made it allocate more would fail there, and the
child reports how long each refusal took and its peak resident memory.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from baogong.accounts.models import Role
from baogong.accounts.tests.factories import user
from baogong.core.errors import ImportRejected
from baogong.core.models import AuditLog
from baogong.core.spreadsheets import xlsx_table_read
from baogong.core.tests.xlsx_files import xlsx_bytes, xlsx_with_dimension
from baogong.core.tests.xlsx_hostile import HOSTILE_SET, MAX_ROWS
from baogong.regions.models import Household, Region
from baogong.regions.tests.factories import make_tree

SRC = Path(__file__).resolve().parents[3]
MEMORY_LIMIT = 256 * 1024 * 1024
SECONDS_PER_REFUSAL = 2.0

CHILD = """
import json, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
sys.path.insert(0, {src!r})
from django.conf import settings
settings.configure(USE_I18N=False)
from baogong.core.errors import ImportRejected
from baogong.core.spreadsheets import xlsx_table_read
results = {{}}
for path in sys.argv[1:]:
    with open(path, "rb") as handle:
        data = handle.read()
    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        xlsx_table_read(data, max_rows={max_rows})
        outcome = "accepted"
    except ImportRejected as exc:
        outcome = str(exc.message)
    except BaseException as exc:
        outcome = "crashed: " + type(exc).__name__
    results[path.rsplit("/", 1)[-1]] = {{
        "outcome": outcome,
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu_started,
    }}
    del data
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forked parent (the test worker) across exec,
# while the high-water mark belongs to this process's own memory.
try:
    with open("/proc/self/status") as status:
        peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
except (OSError, StopIteration):
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"results": results, "peak_rss_bytes": peak_kb * 1024}}))
"""


@pytest.fixture(scope="module")
def hostile_files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hostile")
    files = {}
    for hostile in HOSTILE_SET:
        path = folder / hostile.id
        path.write_bytes(hostile.build())
        files[hostile.id] = path
    return files


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def test_each_file_is_refused_within_2_seconds_under_a_256_mb_memory_limit(hostile_files, record_property):
    script = CHILD.format(limit=MEMORY_LIMIT, src=str(SRC), max_rows=MAX_ROWS)
    child = subprocess.run(
        [sys.executable, "-c", script, *(str(p) for p in hostile_files.values())],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert child.returncode == 0, child.stderr
    report = json.loads(child.stdout)
    assert {key: value["outcome"] for key, value in report["results"].items()} == {
        hostile.id: hostile.message for hostile in HOSTILE_SET
    }
    # CPU time rather than wall time: the budget is about the work a file
    # causes, and a busy shared machine must not turn it into a flaky failure.
    slow = {
        key: value["cpu_seconds"]
        for key, value in report["results"].items()
        if value["cpu_seconds"] >= SECONDS_PER_REFUSAL
    }
    assert slow == {}
    assert report["peak_rss_bytes"] < MEMORY_LIMIT
    slowest = max(value["cpu_seconds"] for value in report["results"].values())
    slowest_wall = max(value["seconds"] for value in report["results"].values())
    record_property(
        "figure",
        f"{len(report['results'])}/11 refused; slowest {slowest:.2f} s CPU ({slowest_wall:.2f} s wall); "
        f"peak RSS {report['peak_rss_bytes'] / 2**20:.0f} MB under RLIMIT_AS 256 MB",
    )


@pytest.mark.parametrize("hostile", [h for h in HOSTILE_SET if h.before_openpyxl], ids=lambda h: h.id)
def test_archive_limits_refuse_before_openpyxl_is_called(hostile, hostile_files, monkeypatch):
    def must_not_open(*args, **kwargs):
        raise AssertionError("openpyxl was asked to open a file the archive checks should have refused")

    monkeypatch.setattr(openpyxl, "load_workbook", must_not_open)

    with pytest.raises(ImportRejected) as caught:
        xlsx_table_read(hostile_files[hostile.id].read_bytes(), max_rows=MAX_ROWS)
    assert str(caught.value.message) == hostile.message


@pytest.mark.django_db
def test_the_roster_page_refuses_each_file_with_422_and_writes_nothing(hostile_files, client, record_property):
    tree = make_tree()
    client.force_login(user(Role.COMMUNITY, region=tree.community))
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    before = (Household.objects.count(), Region.objects.count(), AuditLog.objects.count())

    outcomes = {}
    for hostile in HOSTILE_SET:
        upload = SimpleUploadedFile(f"{hostile.id}.xlsx", hostile_files[hostile.id].read_bytes())
        response = client.post(reverse("regions:roster_import"), {"compound": tree.compound.pk, "file": upload})
        outcomes[hostile.id] = (response.status_code, escape(hostile.message) in response.content.decode())

    assert outcomes == {hostile.id: (422, True) for hostile in HOSTILE_SET}
    assert (Household.objects.count(), Region.objects.count(), AuditLog.objects.count()) == before
    record_property("figure", "roster page: 11/11 answered 422 with the message; 0 rows written; 0 5xx")


def test_a_sheet_of_mostly_empty_rows_is_refused_after_twice_the_cap_plus_1000():
    rows = [["n"], *([None] for _ in range(1300)), [1]]
    data = xlsx_bytes(rows)

    with pytest.raises(ImportRejected) as caught:
        xlsx_table_read(data, max_rows=100)
    assert str(caught.value.message) == (
        "The sheet runs to more than 1201 rows, most of them empty; delete the empty rows below the data and upload "
        "it again."
    )
    assert len(xlsx_table_read(data, max_rows=200).rows) == 1


def test_skipping_the_dimension_scan_leaves_other_read_only_uses_alone():
    data = xlsx_with_dimension(xlsx_bytes([["n"], *([i] for i in range(20))]), "A1:A1")
    assert len(xlsx_table_read(data, max_rows=100).rows) == 20

    # Outside xlsx_table_read openpyxl still honours the declared dimension.
    sheet = openpyxl.load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    assert len(list(sheet.iter_rows(values_only=True))) == 1
