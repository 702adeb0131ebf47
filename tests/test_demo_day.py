"""The demo's delivery day under way: orders, purchase orders, one shortage, a plan and a walk for the volunteer."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.core.management import call_command
from django.test import Client

from baogong.accounts.models import User
from baogong.core.models import AuditLog
from baogong.delivery.models import GreenPass
from baogong.orders.models import Order, OrderLine, PurchaseOrder
from baogong.planning.models import DayPlan, PlanRoster, PlanRoute
from baogong.scenario.demo_day import demo_day_prepare

pytestmark = pytest.mark.django_db
DAY = date(2026, 12, 1)


@pytest.fixture
def demo(capsys):
    call_command("demo_setup", "--seed", "1")
    capsys.readouterr()


def test_the_demo_day_is_placed_confirmed_and_planned_through_the_services(demo):
    day = demo_day_prepare(today=DAY, seed=1)

    assert day is not None
    community = User.objects.get(username="community")
    orders = Order.objects.filter(delivery_date=DAY)
    assert orders.count() == day.orders > 50
    # Every order is a proxy order by the community worker, read back, inside the demo community.
    assert set(orders.values_list("placed_by_id", "read_back_confirmed")) == {(community.pk, True)}
    assert not orders.exclude(household__unit__path__startswith=community.region.path).exists()
    resident = User.objects.get(username="resident")
    assert orders.filter(household_id=resident.household_id).count() == 1
    pos = PurchaseOrder.objects.filter(delivery_date=DAY)
    supplier = User.objects.get(username="supplier")
    assert pos.count() == day.purchase_orders
    assert sorted(pos.filter(supermarket=supplier.organisation).values_list("status", flat=True)) == sorted(
        ["short_confirmed"] + ["confirmed"] * (day.confirmed - 1)
    )
    # The planted shortage reached households' order lines, with its reason.
    assert OrderLine.objects.filter(order__delivery_date=DAY, short_reason__gt="").exists()
    plan = DayPlan.objects.get(pk=day.plan_id)
    assert (plan.delivery_date, plan.status, plan.area_id) == (DAY, "done", community.region.parent_id)
    volunteer = User.objects.get(username="volunteer")
    assert PlanRoster.objects.filter(plan=plan, volunteer=volunteer, compound_id=volunteer.region_id).count() == 1
    # One driver and one green pass per routed vehicle, for the compounds of its route.
    routes = list(PlanRoute.objects.filter(plan=plan).select_related("vehicle"))
    assert day.passes == len(routes) >= 1
    for route in routes:
        issued = GreenPass.objects.get(vehicle=route.vehicle)
        assert set(issued.destinations.values_list("pk", flat=True)) == set(
            route.stops.values_list("compound_id", flat=True)
        )


def test_running_it_again_changes_nothing(demo):
    demo_day_prepare(today=DAY, seed=1)
    before = (Order.objects.count(), PurchaseOrder.objects.count(), DayPlan.objects.count(), AuditLog.objects.count())

    assert demo_day_prepare(today=DAY, seed=1) is None
    assert (
        Order.objects.count(),
        PurchaseOrder.objects.count(),
        DayPlan.objects.count(),
        AuditLog.objects.count(),
    ) == before


def test_the_volunteer_finds_the_day_on_the_courier_page_and_the_gate(demo):
    day = demo_day_prepare(seed=1)
    assert day is not None
    volunteer = User.objects.get(username="volunteer")
    client = Client()
    client.force_login(volunteer)
    client.cookies["django_language"] = "en"

    courier = client.get("/lastmile/courier/", {"day": day.delivery_date.isoformat()})
    gate = client.get(f"/delivery/gate/{volunteer.region_id}/", {"date": day.delivery_date.isoformat()})

    assert (courier.status_code, gate.status_code) == (200, 200)
    roster = PlanRoster.objects.get(plan_id=day.plan_id, volunteer=volunteer)
    walked = [stop["household"] for stop in roster.stops]
    shown = [int(h) for h in re.findall(r'data-household="(\d+)"', courier.content.decode())]
    assert shown == walked
    assert len(walked) == roster.household_count >= 1
