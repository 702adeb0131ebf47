"""Route sheets, pick lists, gate checklists and courier lists of a small solved plan: content and scope.

The county has two subdistricts and one vehicle each (V-BIG for S1's compounds
A1 and A2, V-SMALL for S2's B1: the fleet is split by load before routing).
Every household's order is one vegetable package (2 kg, 0.024 m³); A1a's two
bags of rice are short and must appear nowhere. Stop order within a trip is
the solver's, so the tests read it from the plan's stops.
"""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from baogong.accounts.models import Role
from baogong.accounts.tests.factories import user
from baogong.core.scoping import scope_of
from baogong.orders.models import PurchaseOrder
from baogong.planning.models import PlanRoster
from baogong.planning.sheets import (
    CourierStop,
    GateRow,
    GoodsLine,
    PickBuilding,
    courier_list_build,
    courier_rosters,
    gate_checklist_build,
    pick_list_get,
    pick_list_keys,
    route_sheet_routes,
    route_sheets_build,
    sheet_plan_list,
)
from baogong.planning.tests.sheets_world import DRIVER_PHONE, FORMULA_BUILDING, SheetWorld, build_sheet_world

pytestmark = pytest.mark.django_db

VEG_EN = GoodsLine("Package VEG-A", "package", 1)


def veg(quantity: int) -> GoodsLine:
    return GoodsLine("Package VEG-A", "package", quantity)


@pytest.fixture
def sw() -> SheetWorld:
    return build_sheet_world()


@pytest.fixture
def english(client, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


@pytest.fixture
def en(settings):
    from django.utils import translation

    with translation.override("en"):
        yield


def _po(sw: SheetWorld, supermarket: str, compound: str) -> int:
    organisation = sw.pw.ow.supermarket if supermarket == "E" else sw.pw.ow.other_supermarket
    return PurchaseOrder.objects.get(supermarket=organisation, compound_id=sw.region_id(compound)).pk


# --- content --------------------------------------------------------------------------------------


def test_route_sheets_list_each_vehicle_stops_in_order_with_eta_load_and_totals(sw, en):
    command = scope_of(sw.pw.command)

    big, small = route_sheets_build(plan=sw.plan, routes=route_sheet_routes(scope=command, plan=sw.plan))

    a1, a2, b1 = sw.stop("A1"), sw.stop("A2"), sw.stop("B1")
    assert (big.vehicle, big.depot, big.driver, big.driver_phone) == ("V-BIG", "C reserve", "周师傅", "139****0000")
    assert (big.trips, big.payload_kg, big.volume_m3) == (1, 500.0, 10.0)
    expected = {
        "A1 小区": (a1, 14, 14, 28.0, 0.336, "31.20000, 121.40000"),
        "A2 小区": (a2, 2, 2, 4.0, 0.048, "31.21000, 121.42000"),
    }
    order = sorted(expected, key=lambda name: expected[name][0].sequence)
    assert [stop.compound for stop in big.stops] == order
    for line in big.stops:
        stop, households, parcels, kg, m3, gate = expected[line.compound]
        assert (line.trip, line.sequence, line.eta, line.departs) == (1, stop.sequence, stop.arrival, stop.departure)
        assert (line.households, line.parcels, line.kg, line.m3, line.gate) == (households, parcels, kg, m3, gate)
        assert line.on_board_kg == stop.on_board_kg
        assert line.window == "07:00–18:00"
    assert (big.households, big.parcels, big.kg, big.m3) == (16, 16, 32.0, 0.384)
    assert (small.vehicle, small.depot, small.driver, small.driver_phone) == ("V-SMALL", "E mart A1", "", "")
    assert [(s.compound, s.households, s.parcels, s.kg, s.m3, s.eta) for s in small.stops] == [
        ("B1 小区", 1, 1, 2.0, 0.024, b1.arrival)
    ]
    assert (small.households, small.parcels, small.kg) == (1, 1, 2.0)
    # The sheet's load is the plan's: what the routes carry.
    assert big.kg == a1.demand_kg + a2.demand_kg == big.stops[0].on_board_kg


def test_pick_lists_one_per_supermarket_per_vehicle_load_by_compound_and_building(sw, en):
    command = scope_of(sw.pw.command)
    e, f = sw.pw.ow.supermarket, sw.pw.ow.other_supermarket
    big_route = sw.stop("A1").route
    small_route = sw.stop("B1").route
    assert big_route is not None
    assert small_route is not None

    keys = pick_list_keys(scope=command, plan=sw.plan)

    assert [(k.vehicle, k.trip, k.supermarket, k.stops) for k in keys] == [
        ("V-BIG", 1, "E 超市", 2),
        ("V-BIG", 1, "F-MART 超市", 1),
        ("V-SMALL", 1, "F-MART 超市", 1),
    ]
    e_big = pick_list_get(scope=command, plan=sw.plan, route_id=big_route.pk, trip=1, supermarket_id=e.pk)
    a1, a2 = sw.stop("A1"), sw.stop("A2")
    expected = {
        "A1 小区": (a1, _po(sw, "E", "A1"), 14, [PickBuilding("A1 1号楼", 14, [veg(14)])]),
        "A2 小区": (a2, _po(sw, "E", "A2"), 1, [PickBuilding("A2 1号楼", 1, [VEG_EN])]),
    }
    assert [c.compound for c in e_big.compounds] == sorted(expected, key=lambda name: expected[name][0].sequence)
    for compound in e_big.compounds:
        stop, purchase_order, parcels, buildings = expected[compound.compound]
        assert (compound.sequence, compound.eta, compound.purchase_order_id) == (
            stop.sequence,
            stop.arrival,
            purchase_order,
        )
        assert (compound.parcels, compound.buildings) == (parcels, buildings)
    assert (e_big.supermarket, e_big.vehicle, e_big.depot, e_big.trip, e_big.trips) == (
        "E 超市",
        "V-BIG",
        "C reserve",
        1,
        1,
    )
    assert (e_big.totals, e_big.parcels) == ([veg(15)], 15)

    f_big = pick_list_get(scope=command, plan=sw.plan, route_id=big_route.pk, trip=1, supermarket_id=f.pk)
    assert [(c.compound, c.purchase_order_id, c.parcels, c.buildings) for c in f_big.compounds] == [
        ("A2 小区", _po(sw, "F", "A2"), 1, [PickBuilding("A2 1号楼", 1, [VEG_EN])])
    ]
    assert (f_big.totals, f_big.parcels) == ([VEG_EN], 1)
    f_small = pick_list_get(scope=command, plan=sw.plan, route_id=small_route.pk, trip=1, supermarket_id=f.pk)
    assert [(c.compound, c.buildings) for c in f_small.compounds] == [
        ("B1 小区", [PickBuilding(FORMULA_BUILDING, 1, [VEG_EN])])
    ]


def test_gate_checklist_lists_the_vehicle_and_goods_per_building_and_supermarket(sw, en):
    a2 = sw.stop("A2")

    sheet = gate_checklist_build(plan=sw.plan, stop=a2)

    assert (sheet.compound, sheet.vehicle, sheet.trip, sheet.eta, sheet.unrouted_reason) == (
        "A2 小区",
        "V-BIG",
        1,
        a2.arrival,
        "",
    )
    assert (sheet.households, sheet.parcels, sheet.kg, sheet.m3, sheet.window) == (2, 2, 4.0, 0.048, "07:00–18:00")
    assert sheet.rows == [
        GateRow("A2 1号楼", "E 超市", "Package VEG-A", "package", 1, 1),
        GateRow("A2 1号楼", "F-MART 超市", "Package VEG-A", "package", 1, 1),
    ]
    a1_sheet = gate_checklist_build(plan=sw.plan, stop=sw.stop("A1"))
    # A1a's rice was short: only what was allocated reaches the gate.
    assert a1_sheet.rows == [GateRow("A1 1号楼", "E 超市", "Package VEG-A", "package", 14, 14)]


def test_courier_list_walks_the_roster_with_masked_names_and_phones(sw, en):
    roster = sw.roster("A1", 1)

    sheet = courier_list_build(plan=sw.plan, roster=roster)

    assert roster.volunteer is not None
    assert sheet.volunteer == (roster.volunteer.get_full_name() or roster.volunteer.username)
    assert (sheet.compound, sheet.number, sheet.gate_eta) == ("A1 小区", 1, sw.stop("A1").arrival)
    veg = "Package VEG-A × 1"
    other = ("王**", "138****5678", 1, 2.0, veg)
    assert sheet.stops == [
        CourierStop(1, "A1 1号楼", "A1 1单元", 1, "101", "赵**", "139****0011", 1, 2.0, veg),
        CourierStop(2, "A1 1号楼", "A1 1单元", 1, "102", "钱**", "139****0022", 1, 2.0, veg),
        CourierStop(3, "A1 1号楼", "A1 1单元", 2, "201", *other),
        CourierStop(4, "A1 1号楼", "A1 1单元", 2, "202", *other),
        CourierStop(5, "A1 1号楼", "A1 1单元", 3, "301", *other),
        CourierStop(6, "A1 1号楼", "A1 1单元", 3, "302", *other),
        CourierStop(7, "A1 1号楼", "A1 1单元", 4, "401", *other),
    ]
    assert (sheet.households, sheet.parcels, sheet.kg) == (7, 7, 14.0)
    unstaffed = courier_list_build(plan=sw.plan, roster=sw.roster("B1", 1))
    assert (unstaffed.volunteer, unstaffed.unstaffed_reason) == ("", "no_volunteer_available")


# --- pages and workbooks --------------------------------------------------------------------------


def test_route_sheet_page_in_both_languages(client, sw):
    route = sw.stop("A1").route
    assert route is not None
    client.force_login(sw.pw.command)
    url = reverse("planning:sheet_route", args=[sw.plan.pk, route.pk])

    chinese = client.get(url).content.decode()
    client.cookies["django_language"] = "en"
    english = client.get(url).content.decode()

    for page in (chinese, english):
        assert "V-BIG" in page
        assert "周师傅 139****0000" in page
        assert DRIVER_PHONE not in page
        assert 'data-total="route"' in page
        assert "style=" not in page
    assert "送达日期" in chinese
    assert "Delivery day" not in chinese
    assert "Delivery day" in english
    assert "?format=pdf" in english
    assert "?format=xlsx" in english


def test_gate_checklist_page_shows_goods_in_the_readers_language(client, sw):
    client.force_login(sw.pw.command)
    url = reverse("planning:sheet_gate", args=[sw.plan.pk, sw.region_id("A2")])

    chinese = client.get(url).content.decode()
    client.cookies["django_language"] = "en"
    english = client.get(url).content.decode()

    assert chinese.count("套餐VEG-A") == 2
    assert "Package VEG-A" not in chinese
    assert english.count("Package VEG-A (package)") == 2
    assert "Received" in english


def test_courier_list_page_masks_personal_data(client, sw, english):
    client.force_login(sw.pw.ow.community)

    page = client.get(reverse("planning:sheet_courier", args=[sw.plan.pk, sw.roster("A1", 1).pk])).content.decode()

    assert "139****0011" in page
    assert "赵**" in page
    assert "13900000011" not in page
    assert "赵大明" not in page


def test_route_sheet_workbook_reads_back(client, sw, english):
    route = sw.stop("B1").route
    assert route is not None
    client.force_login(sw.pw.command)

    response = client.get(reverse("planning:sheet_route", args=[sw.plan.pk, route.pk]), {"format": "xlsx"})

    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="route-sheet-{sw.plan.delivery_date:%Y%m%d}-{sw.plan.pk}-V-SMALL.xlsx"'
    )
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    b1 = sw.stop("B1")
    assert rows[0][:6] == ("Vehicle", "Driver", "Depot", "Trip", "Stop", "Compound")
    assert rows[1:] == [
        (
            "V-SMALL",
            None,
            "E mart A1",
            1,
            1,
            "B1 小区",
            "31.26000, 121.48000",
            "07:00–18:00",
            f"{b1.arrival:%H:%M}",
            f"{b1.departure:%H:%M}",
            1,
            1,
            2,
            0.024,
            2,
            None,
        ),
        (
            "V-SMALL",
            None,
            "E mart A1",
            None,
            None,
            "Total",
            None,
            None,
            f"{route.starts:%H:%M}",
            f"{route.ends:%H:%M}",
            1,
            1,
            2,
            0.024,
            None,
            None,
        ),
    ]


def test_pick_list_and_gate_workbooks_read_back(client, sw, english):
    big_route = sw.stop("A2").route
    assert big_route is not None
    client.force_login(sw.pw.command)
    f = sw.pw.ow.other_supermarket

    pick = client.get(reverse("planning:sheet_pick", args=[sw.plan.pk, big_route.pk, 1, f.pk]), {"format": "xlsx"})
    gate = client.get(reverse("planning:sheet_gate", args=[sw.plan.pk, sw.region_id("A2")]), {"format": "xlsx"})

    pick_rows = list(load_workbook(io.BytesIO(pick.content)).active.iter_rows(values_only=True))
    where = ("F-MART 超市", "V-BIG", 1, sw.stop("A2").sequence, "A2 小区", _po(sw, "F", "A2"), "A2 1号楼")
    assert pick_rows[1:] == [
        (*where, "Package VEG-A", "package", 1),
        ("F-MART 超市", "V-BIG", 1, None, "Total", None, None, "Package VEG-A", "package", 1),
    ]
    gate_rows = list(load_workbook(io.BytesIO(gate.content)).active.iter_rows(values_only=True))
    eta = f"{sw.stop('A2').arrival:%H:%M}"
    assert gate_rows[0][-3:] == ("Received", "Discrepancy", "Signature")
    assert gate_rows[1:] == [
        ("A2 小区", "V-BIG", eta, "A2 1号楼", "E 超市", "Package VEG-A", "package", 1, 1, None, None, None),
        ("A2 小区", "V-BIG", eta, "A2 1号楼", "F-MART 超市", "Package VEG-A", "package", 1, 1, None, None, None),
    ]


def test_courier_workbook_stores_a_formula_like_building_as_text(client, sw, english):
    client.force_login(sw.pw.command)

    response = client.get(
        reverse("planning:sheet_courier", args=[sw.plan.pk, sw.roster("B1", 1).pk]), {"format": "xlsx"}
    )

    sheet = load_workbook(io.BytesIO(response.content)).active
    header = [cell.value for cell in sheet[1]]
    row = {title: cell for title, cell in zip(header, sheet[2], strict=True)}
    assert row["Building"].value == "'" + FORMULA_BUILDING
    assert row["Building"].data_type == "s"
    assert (row["Room"].value, row["Head of household"].value, row["Phone"].value) == ("301", "李**", "139****0044")
    assert (row["Parcels"].value, row["Weight (kg)"].value, row["Goods"].value) == (1, 2, "Package VEG-A × 1")
    assert sheet.max_row == 2


def test_unknown_format_is_a_bad_request(client, sw):
    client.force_login(sw.pw.command)

    response = client.get(reverse("planning:sheet_gate", args=[sw.plan.pk, sw.region_id("A1")]), {"format": "doc"})

    assert response.status_code == 400


# --- scope ----------------------------------------------------------------------------------------


def _urls(sw: SheetWorld) -> dict[str, str]:
    big, small = sw.stop("A1").route, sw.stop("B1").route
    assert big is not None
    assert small is not None
    e, f = sw.pw.ow.supermarket.pk, sw.pw.ow.other_supermarket.pk
    plan = sw.plan.pk
    return {
        "index": reverse("planning:sheet_index", args=[plan]),
        "route-big": reverse("planning:sheet_route", args=[plan, big.pk]),
        "route-small": reverse("planning:sheet_route", args=[plan, small.pk]),
        "bundle": reverse("planning:sheet_routes_pdf", args=[plan]),
        "pick-big-E": reverse("planning:sheet_pick", args=[plan, big.pk, 1, e]),
        "pick-big-F": reverse("planning:sheet_pick", args=[plan, big.pk, 1, f]),
        "pick-small-F": reverse("planning:sheet_pick", args=[plan, small.pk, 1, f]),
        "gate-A1": reverse("planning:sheet_gate", args=[plan, sw.region_id("A1")]),
        "gate-A2": reverse("planning:sheet_gate", args=[plan, sw.region_id("A2")]),
        "gate-B1": reverse("planning:sheet_gate", args=[plan, sw.region_id("B1")]),
        "courier-A1-1": reverse("planning:sheet_courier", args=[plan, sw.roster("A1", 1).pk]),
        "courier-A1-2": reverse("planning:sheet_courier", args=[plan, sw.roster("A1", 2).pk]),
        "courier-B1-1": reverse("planning:sheet_courier", args=[plan, sw.roster("B1", 1).pk]),
    }


ALL = frozenset(
    {
        "index",
        "route-big",
        "route-small",
        "bundle",
        "pick-big-E",
        "pick-big-F",
        "pick-small-F",
        "gate-A1",
        "gate-A2",
        "gate-B1",
        "courier-A1-1",
        "courier-A1-2",
        "courier-B1-1",
    }
)
# What each role reads (200); everything else answers 404. The volunteer's own roster is added in the test.
READS: dict[str, frozenset[str]] = {
    Role.COMMAND: ALL,
    Role.SUBDISTRICT: frozenset(
        {"index", "route-big", "bundle", "pick-big-E", "pick-big-F", "gate-A1", "gate-A2"}
        | {"courier-A1-1", "courier-A1-2"}
    ),
    Role.COMMUNITY: frozenset({"index", "gate-A1", "gate-A2", "courier-A1-1", "courier-A1-2"}),
    Role.SUPPLIER: frozenset({"index", "pick-big-E"}),
    Role.VOLUNTEER: frozenset({"index"}),
    Role.DEPARTMENT: frozenset(),
    Role.CHECKPOINT: frozenset(),
    Role.RESIDENT: frozenset(),
}


@pytest.mark.parametrize("role", list(READS))
def test_each_role_reads_only_its_sheets_and_gets_404_for_the_rest(client, sw, role, english):
    account = sw.user(role)
    expected = set(READS[role])
    if role == Role.VOLUNTEER:
        own = PlanRoster.objects.filter(plan=sw.plan, volunteer=account).values_list("compound_id", "number")
        assert list(own) == [(sw.region_id("A1"), 1)]
        expected.add("courier-A1-1")
    client.force_login(account)

    answers = {name: client.get(url).status_code for name, url in _urls(sw).items() if name != "bundle"}

    assert {name for name, status in answers.items() if status == 200} == expected - {"bundle"}
    assert {name for name, status in answers.items() if status != 200} == {
        name for name, status in answers.items() if status == 404
    }


def test_ids_that_do_not_exist_are_404(client, sw):
    client.force_login(sw.pw.command)
    route = sw.stop("A1").route
    assert route is not None

    for url in (
        reverse("planning:sheet_index", args=[999_999]),
        reverse("planning:sheet_route", args=[sw.plan.pk, 999_999]),
        reverse("planning:sheet_pick", args=[sw.plan.pk, route.pk, 2, sw.pw.ow.supermarket.pk]),
        reverse("planning:sheet_pick", args=[sw.plan.pk, route.pk, 1, 999_999]),
        reverse("planning:sheet_gate", args=[sw.plan.pk, 999_999]),
        reverse("planning:sheet_courier", args=[sw.plan.pk, 999_999]),
    ):
        assert client.get(url).status_code == 404, url


def test_a_subdistrict_office_elsewhere_sees_nothing(client, sw):
    client.force_login(user(Role.SUBDISTRICT, region=sw.pw.ow.world.regions["S2"]))

    answers = {name: client.get(url).status_code for name, url in _urls(sw).items() if name != "bundle"}

    assert {name for name, status in answers.items() if status == 200} == {
        "index",
        "route-small",
        "pick-small-F",
        "gate-B1",
        "courier-B1-1",
    }


def test_the_other_supplier_reads_its_own_pick_lists(sw):
    f_staff = scope_of(sw.pw.ow.other_supplier)

    keys = pick_list_keys(scope=f_staff, plan=sw.plan)

    assert [(k.vehicle, k.supermarket) for k in keys] == [("V-BIG", "F-MART 超市"), ("V-SMALL", "F-MART 超市")]
    assert list(courier_rosters(scope=f_staff, plan=sw.plan)) == []


def test_sheet_plans_page_lists_the_plan_for_roles_with_sheets(client, sw, english):
    for role in READS:
        client.force_login(sw.user(role))
        response = client.get(reverse("planning:sheet_plans"))
        if READS[role]:
            assert response.status_code == 200, role
            assert reverse("planning:sheet_index", args=[sw.plan.pk]) in response.content.decode(), role
        else:
            assert response.status_code == 404, role
    assert list(sheet_plan_list(scope=scope_of(sw.user(Role.SUPPLIER)))) == [sw.plan]


def test_index_links_only_the_callers_sheets(client, sw, english):
    client.force_login(sw.pw.ow.supplier)

    page = client.get(reverse("planning:sheet_index", args=[sw.plan.pk])).content.decode()

    assert 'data-kind="pick"' in page
    for kind in ("route", "gate", "courier"):
        assert f'data-kind="{kind}"' not in page
    assert page.count("E 超市 → V-BIG") == 1
    assert "F-MART" not in page


def test_plan_page_links_the_sheets(client, sw):
    client.force_login(sw.pw.command)

    page = client.get(reverse("planning:plan_detail", args=[sw.plan.pk])).content.decode()

    assert reverse("planning:sheet_index", args=[sw.plan.pk]) in page
    assert reverse("planning:sheet_routes_pdf", args=[sw.plan.pk]) in page


def test_index_query_count_does_not_grow_with_the_plan(client, sw, django_assert_num_queries):
    client.force_login(sw.pw.command)
    url = reverse("planning:sheet_index", args=[sw.plan.pk])
    client.get(url)

    # Session with its user, the user's region; the plan; for the pick lists routes, stops, allocated lines and
    # kits and which kits hold chilled goods (no loose commodities are allocated here, so no commodity
    # query) and supermarket names; then the route list, gates and rosters the page shows.
    with django_assert_num_queries(12):
        response = client.get(url)

    assert response.status_code == 200


def test_a_drop_of_a_split_compound_carries_only_its_households_goods_of_its_kind():
    from baogong.planning.models import PlanStop
    from baogong.planning.sheets import Goods, GoodsRow, _stop_rows

    milk, rice = Goods("c1", "牛奶", "盒", cold=True), Goods("c2", "大米", "袋")
    rows = {
        5: [
            GoodsRow(1, 10, 5, "1号楼", milk, 2),
            GoodsRow(1, 10, 5, "1号楼", rice, 1),
            GoodsRow(1, 11, 5, "1号楼", rice, 3),
        ]
    }

    whole = PlanStop(compound_id=5, household_ids=[], cold_chain=True)
    chilled = PlanStop(compound_id=5, household_ids=[10, 11], cold_chain=True)
    other = PlanStop(compound_id=5, household_ids=[11], cold_chain=False)

    assert _stop_rows(whole, rows) == rows[5]
    assert _stop_rows(chilled, rows) == [rows[5][0]]
    assert _stop_rows(other, rows) == [rows[5][2]]
