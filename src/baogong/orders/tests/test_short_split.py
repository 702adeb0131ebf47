"""How a supermarket's short confirmation is shared among the orders of one offer line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from baogong.orders.models import Order, OrderLine, PaymentMethod
from baogong.orders.services.consolidation import short_split
from baogong.regions.models import Household

T0 = datetime(2026, 4, 1, 6, 0, tzinfo=UTC)


def line(
    pk: int, *, household: int, size: int, quantity: int, minutes: int, vulnerable: bool = False, free: bool = False
):
    home = Household(pk=household, size=size, vulnerability_mask=1 if vulnerable else 0)
    order = Order(
        pk=pk,
        household=home,
        payment_method=PaymentMethod.FREE if free else PaymentMethod.ONLINE,
        created_at=T0 + timedelta(minutes=minutes),
    )
    return OrderLine(pk=pk, order=order, quantity=quantity)


def test_vulnerable_first_then_fair_share_by_household_size_with_a_floor():
    lines = [
        line(1, household=10, size=1, quantity=3, minutes=0),
        line(2, household=11, size=2, quantity=3, minutes=1),
        line(3, household=12, size=5, quantity=3, minutes=2),
        line(4, household=13, size=1, quantity=2, minutes=3, vulnerable=True),
    ]

    # 6 units: the vulnerable household's 2 in full; the 4 left at level 0.4 per person,
    # which is below the one-unit floor for the households of one and two.
    assert short_split(lines=lines, supply=6) == {4: 2, 1: 1, 2: 1, 3: 2}


def test_relief_orders_come_before_vulnerable_households():
    lines = [
        line(1, household=10, size=3, quantity=2, minutes=0, vulnerable=True),
        line(2, household=11, size=1, quantity=2, minutes=5, free=True),
    ]

    assert short_split(lines=lines, supply=2) == {2: 2, 1: 0}


def test_nothing_left_for_anyone_and_never_more_than_ordered():
    lines = [line(1, household=10, size=4, quantity=1, minutes=0), line(2, household=11, size=1, quantity=5, minutes=1)]

    assert short_split(lines=lines, supply=0) == {1: 0, 2: 0}
    # The four-person household's share is capped at the one unit it ordered; the rest goes to the other.
    assert short_split(lines=lines, supply=5) == {1: 1, 2: 4}


def test_a_household_with_two_orders_is_one_claim_served_earliest_order_first():
    lines = [
        line(1, household=10, size=2, quantity=2, minutes=9),
        line(2, household=10, size=2, quantity=2, minutes=1),
        line(3, household=11, size=2, quantity=4, minutes=0),
    ]

    # Two households of two persons ordering 4 each share 4 units: 2 each; household 10's earlier order first.
    assert short_split(lines=lines, supply=4) == {2: 2, 1: 0, 3: 2}


def test_wanted_caps_each_line_at_what_the_supermarket_confirmed():
    lines = [line(1, household=10, size=2, quantity=4, minutes=0), line(2, household=11, size=2, quantity=4, minutes=1)]
    confirmed = {1: 1, 2: 4}

    # 4 usable units, but line 1 was confirmed for 1 only: it keeps that one and line 2 gets the other 3.
    assert short_split(lines=lines, supply=4, wanted=lambda line: confirmed[line.pk]) == {1: 1, 2: 3}
    # A line confirmed for nothing gets nothing and is no claim.
    assert short_split(lines=lines, supply=2, wanted=lambda line: 0 if line.pk == 1 else 4) == {1: 0, 2: 2}
