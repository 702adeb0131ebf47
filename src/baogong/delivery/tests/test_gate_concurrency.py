"""Simultaneous completions of one compound's gate check on PostgreSQL (one connection per thread)."""

from __future__ import annotations

from collections import Counter

import pytest

from baogong.core.errors import Conflict
from baogong.core.tests.concurrency import run_concurrently
from baogong.delivery.models import FollowUp, GateReceipt, GateReceiptLine
from baogong.delivery.services import LineCount, gate_receipt_complete
from baogong.delivery.tests.gate_world import at, build_gate_world
from baogong.orders.models import Order, OrderEvent, Payment
from baogong.orders.tests.factories import DAY

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_simultaneous_completions_record_one_receipt_and_cut_once():
    gw = build_gate_world()
    rice, veg = gw.po_line("rice").pk, gw.po_line("veg").pk
    actors = [gw.volunteer, gw.ow.community] * 3

    outcomes = run_concurrently(
        6,
        6,
        lambda i: gate_receipt_complete(
            actor=actors[i],
            compound_id=gw.compound.pk,
            delivery_date=DAY,
            counts=[
                LineCount(purchase_order_line_id=rice, received_quantity=3),
                LineCount(purchase_order_line_id=veg, received_quantity=1),
            ],
            placed_at=f"shelf {i}",
            now=at(9, 30),
        ),
        refused=Conflict,
    )

    assert Counter(outcomes) == {"ok": 1, "refused": 5}
    assert (GateReceipt.objects.count(), GateReceiptLine.objects.count(), FollowUp.objects.count()) == (1, 2, 1)
    assert gw.po_line("rice").confirmed_quantity == 3
    # The 3 bags are shared by the allocation rules: A1a (vulnerable) keeps her one, A1b and A1c get one
    # each of the two they ordered; all three are verified, partly short.
    assert sorted(Order.objects.filter(compound=gw.compound).values_list("status", "is_partial")) == [
        ("verified", False),
        ("verified", True),
        ("verified", True),
    ]
    # The cut was made once, not five times: one refund each for A1b and A1c, one event per order.
    assert Payment.objects.filter(kind="refund").count() == 2
    assert OrderEvent.objects.filter(to_status__in=["verified", "short"], order__compound=gw.compound).count() == 3
