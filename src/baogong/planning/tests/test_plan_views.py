from __future__ import annotations

import io
import json

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from baogong.accounts.models import Role
from baogong.accounts.tests.factories import user
from baogong.orders.tests.factories import DAY
from baogong.planning.day_plan import day_plan_allocation_solve, day_plan_solve, day_plan_start
from baogong.planning.models import DayPlan, DayPlanStatus
from baogong.planning.tests.day_plan_world import build_plan_world

pytestmark = pytest.mark.django_db

TINY = 0.3


@pytest.fixture
def pw():
    return build_plan_world()


@pytest.fixture(autouse=True)
def english(client, settings):
    # The assertions below read the English texts; the default language is Chinese.
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


@pytest.fixture
def solved(pw):
    return day_plan_solve(actor=pw.command, delivery_date=DAY, time_limit_s=TINY)


def test_plan_page_shows_totals_routes_rosters_slots_and_map(client, pw, solved):
    client.force_login(pw.command)

    response = client.get(reverse("planning:plan_detail", args=[solved.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    for text in ("V-BIG", "V-SMALL", "A1 小区", "A2 小区", "B1 小区", "3 / 3", "2 / 2", "plan-map-data"):
        assert text in page
    assert page.count('class="route-sheet"') == 2
    assert page.count('class="roster"') == 3
    assert 'hx-trigger="every 2s"' not in page
    # CSP: no inline styles or scripts other than the JSON data block.
    assert "style=" not in page
    assert page.count("<script>") == 0
    data = json.loads(json.dumps(response.context["map_data"]))
    assert len(data["gates"]) == 3
    assert len(data["depots"]) == 2
    assert {route["vehicle"] for route in data["routes"]} == {"V-BIG", "V-SMALL"}


def test_running_plan_polls_its_progress(client, pw, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        plan = day_plan_start(actor=pw.command, delivery_date=DAY, time_limit_s=TINY)
    client.force_login(pw.command)

    page = client.get(reverse("planning:plan_detail", args=[plan.pk])).content.decode()
    progress = client.get(reverse("planning:plan_progress", args=[plan.pk]))

    assert 'hx-trigger="every 2s"' in page
    assert "plan-map-data" not in page
    assert progress.status_code == 200
    assert "HX-Refresh" not in progress.headers
    # Allocating first: the progress counts supermarkets, then subdistricts.
    assert "0 of 2 supermarkets allocated" in progress.content.decode()
    for allocation_id in plan.allocations.values_list("pk", flat=True):
        day_plan_allocation_solve(allocation_id=allocation_id)
    progress = client.get(reverse("planning:plan_progress", args=[plan.pk]))
    assert 'hx-trigger="every 2s"' in progress.content.decode()
    assert "0 of 2 subdistricts finished" in progress.content.decode()


def test_finished_progress_asks_for_a_reload(client, pw, solved):
    client.force_login(pw.command)

    progress = client.get(reverse("planning:plan_progress", args=[solved.pk]))

    assert progress.headers["HX-Refresh"] == "true"


def test_route_sheets_download(client, pw, solved):
    client.force_login(pw.command)

    response = client.get(reverse("planning:plan_route_sheets", args=[solved.pk]))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert len(rows) == 4
    assert sorted(row[0] for row in rows[1:]) == ["V-BIG", "V-BIG", "V-SMALL"]


@pytest.mark.parametrize("role", [Role.COMMUNITY, Role.VOLUNTEER, Role.RESIDENT, Role.SUPPLIER])
def test_plan_page_is_404_outside_the_planning_roles(client, pw, solved, role):
    client.force_login(pw.ow.world.users[role])

    assert client.get(reverse("planning:plan_detail", args=[solved.pk])).status_code == 404
    assert client.get(reverse("planning:plan_route_sheets", args=[solved.pk])).status_code == 404


def test_community_worker_of_another_subdistrict_gets_404(client, pw):
    office = pw.ow.world.users[Role.SUBDISTRICT]
    plan = day_plan_solve(actor=office, delivery_date=DAY, time_limit_s=TINY)
    client.force_login(user(Role.COMMUNITY, region=pw.ow.world.regions["B"]))

    assert client.get(reverse("planning:plan_detail", args=[plan.pk])).status_code == 404


def test_subdistrict_office_sees_its_plan_but_not_the_county_one(client, pw, solved):
    office = pw.ow.world.users[Role.SUBDISTRICT]
    own = day_plan_solve(actor=office, delivery_date=DAY, time_limit_s=TINY)
    client.force_login(office)

    assert client.get(reverse("planning:plan_detail", args=[own.pk])).status_code == 200
    assert client.get(reverse("planning:plan_detail", args=[solved.pk])).status_code == 404


def test_command_starts_a_plan_from_the_form(client, pw, django_capture_on_commit_callbacks):
    client.force_login(pw.command)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(
            reverse("planning:plan_list"),
            {"delivery_date": DAY.isoformat(), "area": pw.ow.world.regions["C"].pk, "time_limit_s": "0.3"},
        )

    plan = DayPlan.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("planning:plan_detail", args=[plan.pk])
    assert len(callbacks) == 2
    assert plan.status == DayPlanStatus.DONE


def test_start_form_rejects_a_bad_time_limit(client, pw):
    client.force_login(pw.command)

    response = client.post(
        reverse("planning:plan_list"), {"delivery_date": DAY.isoformat(), "area": "", "time_limit_s": "0"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["time_limit_s"]
    assert DayPlan.objects.count() == 0


def test_community_worker_cannot_open_the_planner(client, pw):
    client.force_login(pw.ow.community)

    assert client.get(reverse("planning:plan_list")).status_code == 403
