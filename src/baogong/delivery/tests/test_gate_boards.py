"""The per-compound board and the command view: exact figures, the late rule, the order of compounds."""

from __future__ import annotations

from datetime import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from baogong.core.errors import NotFound
from baogong.core.scoping import scope_of
from baogong.delivery.selectors import (
    LATE_PENDING,
    LATE_VEHICLE,
    command_view_get,
    compound_board_get,
    compound_days,
)
from baogong.delivery.services import LineCount, gate_arrival_at_plate, gate_receipt_complete
from baogong.delivery.tests import factories
from baogong.delivery.tests.gate_world import at, build_gate_world, plan_stop
from baogong.orders.services import order_deliver, order_fail
from baogong.orders.tests.factories import DAY

pytestmark = pytest.mark.django_db


@pytest.fixture
def gw():
    return build_gate_world()


def receive(gw, now):
    gate_receipt_complete(
        actor=gw.volunteer,
        compound_id=gw.compound.pk,
        delivery_date=DAY,
        counts=[
            LineCount(purchase_order_line_id=gw.po_line("rice").pk, received_quantity=5),
            LineCount(purchase_order_line_id=gw.po_line("veg").pk, received_quantity=1),
        ],
        placed_at="北门货架2号",
        now=now,
    )


def test_board_counts_vehicles_goods_and_households_exactly(gw):
    plan_stop(gw, compound="A1", vehicle=gw.vehicle, eta=time(9, 0))
    gate_arrival_at_plate(actor=gw.volunteer, compound_id=gw.compound.pk, plate="浙AG1001", now=at(8, 55))
    receive(gw, at(9, 20))
    order_deliver(actor=gw.volunteer, order_id=gw.orders["A1a"].pk)
    order_fail(actor=gw.volunteer, order_id=gw.orders["A1c"].pk, reason="nobody home")

    board = compound_board_get(
        scope=scope_of(gw.volunteer), compound_id=gw.compound.pk, delivery_date=DAY, now=at(10, 0)
    )

    assert [(v.plate, v.eta, v.arrived_at, v.overdue_minutes) for v in board.vehicles] == [
        ("浙A·G1001", at(9, 0), at(8, 55), 0)
    ]
    assert (board.arrivals, board.verified_at, board.placed_at, board.follow_ups_open) == (
        1,
        at(9, 20),
        "北门货架2号",
        0,
    )
    assert (board.delivered, board.pending, board.failed, board.short) == (1, 1, 1, 0)
    # A1b, the one still pending, ordered at 06:00:05 the day before: 27 h 59 min ago.
    assert board.oldest_pending_minutes == 27 * 60 + 59
    assert board.late_reasons == ()


def test_a_vehicle_past_its_eta_and_the_grace_makes_the_compound_late(gw, settings):
    settings.BOARD_ARRIVAL_LATE_MINUTES = 30
    plan_stop(gw, compound="A1", vehicle=gw.vehicle, eta=time(9, 0))
    scope = scope_of(gw.volunteer)

    on_time = compound_board_get(scope=scope, compound_id=gw.compound.pk, delivery_date=DAY, now=at(9, 30))
    late = compound_board_get(scope=scope, compound_id=gw.compound.pk, delivery_date=DAY, now=at(9, 31))

    assert (on_time.late_reasons, on_time.vehicles[0].overdue_minutes) == ((), 0)
    assert (late.late_reasons, late.vehicles[0].overdue_minutes) == ((LATE_VEHICLE,), 31)


def test_households_waiting_past_the_limit_make_the_compound_late(gw, settings):
    settings.BOARD_PENDING_LATE_HOURS = 30
    scope = scope_of(gw.volunteer)

    # The first order was placed at 06:00:05 the day before: 30 h later is 12:00:05.
    before = compound_board_get(scope=scope, compound_id=gw.compound.pk, delivery_date=DAY, now=at(12, 0))
    after = compound_board_get(scope=scope, compound_id=gw.compound.pk, delivery_date=DAY, now=at(12, 1))

    assert (before.pending, before.late_reasons) == (3, ())
    assert (after.pending, after.late_reasons, after.oldest_pending_minutes) == (3, (LATE_PENDING,), 30 * 60)


def test_command_view_puts_late_compounds_first(gw):
    other = factories.vehicle(factories.organisation(gw.ow.world.regions["C"]), plate="浙A·G3003")
    plan_stop(gw, compound="A1", vehicle=gw.vehicle, eta=time(9, 0))
    plan_stop(gw, compound="A2", vehicle=other, eta=time(9, 0))
    gate_arrival_at_plate(actor=gw.volunteer, compound_id=gw.compound.pk, plate="浙AG1001", now=at(8, 55))
    scope = scope_of(gw.ow.community)

    early = command_view_get(scope=scope, delivery_date=DAY, now=at(9, 0))
    later = command_view_get(scope=scope, delivery_date=DAY, now=at(10, 0))

    # By path while nobody is late; then A2 (its van 60 min overdue) goes on top.
    assert [(d.compound_name, d.is_late) for d in early] == [("A1 小区", False), ("A2 小区", False)]
    assert [(d.compound_name, d.late_reasons) for d in later] == [("A2 小区", (LATE_VEHICLE,)), ("A1 小区", ())]
    assert (later[0].vehicles_arrived, later[0].pending, later[1].vehicles_arrived, later[1].pending) == (0, 1, 1, 3)
    # Compound B1 of the other community never shows; a volunteer has no command view.
    assert [
        d.compound_name
        for d in command_view_get(scope=scope_of(gw.ow.world.users["command"]), delivery_date=DAY, now=at(10, 0))
    ] == [
        "A2 小区",
        "A1 小区",
    ]
    with pytest.raises(NotFound):
        command_view_get(scope=scope_of(gw.volunteer), delivery_date=DAY, now=at(10, 0))


def test_board_figures_take_the_same_queries_for_one_compound_or_two(gw):
    regions = gw.ow.world.regions
    plan_stop(gw, compound="A1", vehicle=gw.vehicle, eta=time(9, 0))

    with CaptureQueriesContext(connection) as one:
        compound_days(compounds=[regions["A1"]], delivery_date=DAY, now=at(10, 0))
    with CaptureQueriesContext(connection) as two:
        compound_days(compounds=[regions["A1"], regions["A2"]], delivery_date=DAY, now=at(10, 0))

    assert len(one) == len(two) == 5


def test_a_volunteer_sees_no_board_of_another_compound(gw):
    with pytest.raises(NotFound):
        compound_board_get(
            scope=scope_of(gw.other_volunteer), compound_id=gw.compound.pk, delivery_date=DAY, now=at(10, 0)
        )
