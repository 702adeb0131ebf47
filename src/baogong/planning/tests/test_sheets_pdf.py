"""Printed sheets: real PDFs with the CJK font, the plan's numbers, page headers and numbers; the bundle.

Skipped, with the reason, where WeasyPrint or the system libraries it loads
are missing. The text is read back with the small reader in `pdf_text`.
"""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import reverse

from baogong.accounts.models import Role
from baogong.orders.tests.factories import DAY
from baogong.planning.models import DayPlan
from baogong.planning.sheets_pdf import css_string, pdf_available
from baogong.planning.tests.pdf_text import pdf_font_names, pdf_text
from baogong.planning.tests.sheets_world import DRIVER_PHONE, SheetWorld, build_sheet_world

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not pdf_available(), reason="WeasyPrint or its system libraries (Pango) are not installed"),
]


@pytest.fixture
def sw() -> SheetWorld:
    return build_sheet_world()


def _pdf(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _lines(data: bytes) -> list[str]:
    return pdf_text(data).splitlines()


def test_route_sheet_pdf_holds_the_cjk_text_header_and_page_numbers(client, sw):
    route = sw.stop("A1").route
    assert route is not None
    client.cookies["django_language"] = "en"
    client.force_login(sw.pw.command)

    response = client.get(reverse("planning:sheet_route", args=[sw.plan.pk, route.pk]), {"format": "pdf"})

    data = response.content
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="route-sheet-{DAY:%Y%m%d}-{sw.plan.pk}-V-BIG.pdf"'
    )
    assert data.startswith(b"%PDF-")
    # One face only: the CJK font, embedded.
    assert [name.split("+")[1] for name in pdf_font_names(data)] == ["Noto-Sans-CJK-SC"]
    lines = _lines(data)
    assert lines[0] == "Route sheet V-BIG"
    assert f"Delivery day {DAY:%Y-%m-%d} · C 县 · plan {sw.plan.pk}" in lines
    assert "Page 1 of 1" in lines
    text = "\n".join(lines)
    a1, a2 = sw.stop("A1"), sw.stop("A2")
    assert f"A1 小区31.20000, 121.4000007:00–18:00{a1.arrival:%H:%M}141428.00.336" in text
    assert f"A2 小区31.21000, 121.4200007:00–18:00{a2.arrival:%H:%M}224.00.048" in text
    assert "Total161632.00.384" in text
    # A space at the end of a text run is layout, not a glyph: the reader joins the runs.
    assert "周师傅139****0000" in text
    assert DRIVER_PHONE not in text


def test_courier_list_pdf_in_chinese_masks_personal_data(client, sw):
    client.force_login(sw.pw.command)

    response = client.get(
        reverse("planning:sheet_courier", args=[sw.plan.pk, sw.roster("A1", 1).pk]), {"format": "pdf"}
    )

    text = pdf_text(response.content)
    assert "A1 小区 #1" in text
    assert "送达日期" in text
    assert "赵**139****0011" in text
    assert "13900000011" not in text
    assert "套餐VEG-A × 1" in text


def test_pick_list_and_gate_checklist_pdfs(client, sw):
    big = sw.stop("A2").route
    assert big is not None
    client.cookies["django_language"] = "en"
    client.force_login(sw.pw.command)

    pick = client.get(
        reverse("planning:sheet_pick", args=[sw.plan.pk, big.pk, 1, sw.pw.ow.supermarket.pk]), {"format": "pdf"}
    )
    gate = client.get(reverse("planning:sheet_gate", args=[sw.plan.pk, sw.region_id("A2")]), {"format": "pdf"})

    pick_text = pdf_text(pick.content)
    assert "Pick list · E 超市" in pick_text
    assert "Package VEG-Apackage15" in pick_text  # the load's total
    assert "Package VEG-Apackage14" in pick_text  # A1's one building
    gate_text = pdf_text(gate.content)
    assert "Gate checklist · A2 小区" in gate_text
    assert "A2 1号楼E 超市Package VEG-A (package)11" in gate_text
    assert "A2 1号楼F-MART 超市Package VEG-A (package)11" in gate_text
    assert "ReceivedDiscrepancySignature" in gate_text


def test_route_sheet_bundle_joins_the_callers_route_sheets(client, sw):
    client.cookies["django_language"] = "en"
    url = reverse("planning:sheet_routes_pdf", args=[sw.plan.pk])

    client.force_login(sw.pw.command)
    everything = client.get(url)
    client.force_login(sw.user(Role.SUBDISTRICT))
    own = client.get(url)

    data = _pdf(everything)
    assert everything["Content-Disposition"] == f'attachment; filename="route-sheets-{DAY:%Y%m%d}-{sw.plan.pk}.pdf"'
    assert data.startswith(b"%PDF-")
    # Each page has the sheet's title once in the body and once in the running header.
    titles = [line for line in _lines(data) if line.startswith("Route sheet ")]
    assert titles == ["Route sheet V-BIG", "Route sheet V-BIG", "Route sheet V-SMALL", "Route sheet V-SMALL"]
    assert _lines(data).count("Page 1 of 1") == 2
    own_titles = [line for line in _lines(_pdf(own)) if line.startswith("Route sheet ")]
    assert own_titles == ["Route sheet V-BIG", "Route sheet V-BIG"]


@pytest.mark.parametrize(
    "role", [Role.COMMUNITY, Role.SUPPLIER, Role.VOLUNTEER, Role.DEPARTMENT, Role.CHECKPOINT, Role.RESIDENT]
)
def test_route_sheet_bundle_is_404_for_roles_without_route_sheets(client, sw, role):
    client.force_login(sw.user(role))

    assert client.get(reverse("planning:sheet_routes_pdf", args=[sw.plan.pk])).status_code == 404


def test_plan_command_writes_every_sheet_as_pdf_and_xlsx(sw, tmp_path, capsys):
    call_command("plan", "--date", DAY.isoformat(), "--time-limit", "0.3", "--sheets", str(tmp_path / "out"))

    plan = DayPlan.objects.order_by("-pk").first()
    assert plan is not None
    assert plan.pk != sw.plan.pk
    stem = f"{DAY:%Y%m%d}-{plan.pk}"
    a1, a2, b1 = (sw.pw.ow.world.regions[key].code for key in ("A1", "A2", "B1"))
    e, f = sw.pw.ow.supermarket.pk, sw.pw.ow.other_supermarket.pk
    names = [
        "route-sheet-{s}-V-BIG",
        "route-sheet-{s}-V-SMALL",
        f"pick-list-{{s}}-V-BIG-1-{e}",
        f"pick-list-{{s}}-V-BIG-1-{f}",
        f"pick-list-{{s}}-V-SMALL-1-{f}",
        f"gate-checklist-{{s}}-{a1}",
        f"gate-checklist-{{s}}-{a2}",
        f"gate-checklist-{{s}}-{b1}",
        f"courier-list-{{s}}-{a1}-1",
        f"courier-list-{{s}}-{a1}-2",
        f"courier-list-{{s}}-{b1}-1",
    ]
    expected = {f"{name.format(s=stem)}.{ext}" for name in names for ext in ("pdf", "xlsx")}
    expected.add(f"route-sheets-{stem}.pdf")
    written = {path.name for path in (tmp_path / "out").iterdir()}
    assert written == expected
    for name in written:
        head = (tmp_path / "out" / name).read_bytes()[:5]
        assert head == (b"%PDF-" if name.endswith(".pdf") else b"PK\x03\x04\x14"), name
    output = capsys.readouterr().out
    assert "sheets: 23 files" in output
    assert "(courier 3, gate 3, pick 3, route 2)" in output


def test_plan_command_refuses_sheets_with_queue(sw, tmp_path):
    from django.core.management.base import CommandError

    before = DayPlan.objects.count()
    with pytest.raises(CommandError, match="--queue"):
        call_command("plan", "--date", DAY.isoformat(), "--queue", "--sheets", str(tmp_path))

    assert DayPlan.objects.count() == before
    assert list(tmp_path.iterdir()) == []


def test_css_string_escapes_quotes_and_backslashes():
    assert css_string('a "b" \\ c') == '"a \\"b\\" \\\\ c"'
