"""R5 oversell-orm and R7 ledger-invariant, at the plan's sizes, on SQLite and PostgreSQL.

R5: 500 buyers on 100 units from 50 threads, each with its own database
connection, 20 times; the check-then-act variant must oversell under the same
load (negative control). R7: 2,000 concurrent stock movements on 5 goods
(issues for orders, receipts for cancellations and warehouse deliveries,
transfers), then every UPDATE and DELETE on ledger rows, through the ORM and
raw SQL, must be refused. SQLite runs on a file copy of the test database
(see the orders concurrency tests) so its locking is real.
"""

from __future__ import annotations

import random
from collections import Counter
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction

from baogong.catalog.tests.factories import commodity
from baogong.core.errors import InsufficientStock
from baogong.core.tests.concurrency import run_concurrently
from baogong.orders.models import IdempotencyKey, Order, OrderLine
from baogong.orders.tests.factories import build_ordering_world, offer
from baogong.orders.tests.test_concurrency import (  # noqa: F401 - concurrent_database is a fixture
    buy,
    concurrent_database,
    naive_buy,
    residents,
    run_in_threads,
)
from baogong.regions.tests.factories import make_tree
from baogong.stock.models import StockBalance, StockMovement
from baogong.stock.selectors import stock_ledger_mismatches
from baogong.stock.services import stock_issue, stock_receive, stock_transfer
from baogong.stock.tests.factories import stock_point

pytestmark = pytest.mark.django_db(transaction=True)

# The plan's sizes. This is also the ordering issue's "500 buyers on 100 units, 20 times" test.
BUYERS, UNITS, THREADS, RUNS, CONTROL_RUNS = 500, 100, 50, 20, 3
SKUS, OPERATIONS, STOCK_THREADS, OPENING = 5, 2000, 8, 600


def test_r5_500_buyers_on_100_units_never_oversell(concurrent_database, record_property):  # noqa: F811
    ow = build_ordering_world()
    buyers = residents(ow, BUYERS)
    sold, oversold, held = [], 0, 0
    surfaced: Counter[str] = Counter()
    for run in range(RUNS):
        goods = commodity(code=f"RUSH{run:02d}", name_zh="鸡蛋", name_en="Eggs", category="eggs", unit="box")
        line = offer(ow.supermarket, goods=goods, quantity=UNITS, price="20.00", cap=1)
        outcomes = run_in_threads([buy(account, line.pk) for account in buyers], threads=THREADS)
        line.refresh_from_db()
        orders = Order.objects.filter(lines__offer_line=line).count()
        sold.append(outcomes["placed"])
        oversold += max(orders - UNITS, 0)
        # initial stock == remaining + sum ordered, and nothing below zero.
        held += line.reserved == OrderLine.objects.filter(offer_line=line).count() == orders <= line.quantity
        surfaced.update(o for o in outcomes if o not in {"placed", InsufficientStock.code})
    control = []
    for _ in range(CONTROL_RUNS):
        line = offer(ow.supermarket, goods=commodity(), quantity=UNITS)
        control.append(run_in_threads([naive_buy(line.pk) for _ in range(BUYERS)], threads=THREADS)["placed"])
    record_property(
        "figure",
        f"R5 {connection.vendor}: {sold.count(UNITS)}/{RUNS} runs sold exactly {UNITS} of {UNITS} "
        f"({BUYERS} buyers, {THREADS} threads); {oversold} oversold; invariant {held}/{RUNS}; "
        f"{sum(surfaced.values())} other errors; negative control (check-then-act) sold {control} of {UNITS}",
    )
    assert sold == [UNITS] * RUNS
    assert oversold == 0
    assert held == RUNS
    assert surfaced == Counter()
    assert Order.objects.count() == UNITS * RUNS
    assert IdempotencyKey.objects.count() == UNITS * RUNS
    assert sum(Order.objects.values_list("total", flat=True)) == Decimal("20.00") * UNITS * RUNS
    assert max(control) > UNITS, f"the negative control never oversold: {control}"


def test_r7_ledger_equals_on_hand_after_2000_concurrent_movements(concurrent_database, record_property):  # noqa: F811
    tree = make_tree()
    warehouse, shop = stock_point(tree.county), stock_point(tree.community)
    goods = [commodity(code=f"LEDGER{i}") for i in range(SKUS)]
    for item in goods:
        stock_receive(actor=None, point=warehouse, commodity=item, quantity=OPENING, reason="opening", lot="L0")
    plan = random.Random(7)
    kinds = [plan.choice(["order", "order", "cancel", "receipt", "transfer"]) for _ in range(OPERATIONS)]
    picks = [plan.randrange(SKUS) for _ in range(OPERATIONS)]

    def operation(i: int) -> None:
        item, kind = goods[picks[i]], kinds[i]
        if kind == "order":
            stock_issue(actor=None, point=warehouse, commodity=item, quantity=2, reason=f"order {i}")
        elif kind == "cancel":
            stock_receive(actor=None, point=warehouse, commodity=item, quantity=1, reason=f"cancelled {i}", lot="L0")
        elif kind == "receipt":
            stock_receive(actor=None, point=warehouse, commodity=item, quantity=3, reason=f"delivery {i}", lot="L1")
        else:
            stock_transfer(
                actor=None, source=warehouse, destination=shop, commodity=item, quantity=1, reason=f"move {i}"
            )

    outcomes = Counter(run_concurrently(STOCK_THREADS, OPERATIONS, operation, refused=InsufficientStock))
    mismatches = stock_ledger_mismatches()
    negative = StockBalance.objects.filter(on_hand__lt=0).count()
    # Every way to rewrite history, through the ORM and raw SQL, on a handful of ledger rows.
    attempts = refused = 0
    rows = list(StockMovement.objects.order_by("pk")[:25])
    before = list(StockMovement.objects.order_by("pk").values_list("pk", "quantity", "reason"))
    for row in rows:
        for attempt in (
            lambda r=row: StockMovement.objects.filter(pk=r.pk).update(quantity=F_quantity_plus_one()),
            lambda r=row: StockMovement.objects.filter(pk=r.pk).delete(),
            lambda r=row: r.delete(),
            lambda r=row: raw(f"UPDATE stock_stockmovement SET reason = 'forged' WHERE id = {int(r.pk)}"),  # noqa: S608
            lambda r=row: raw(f"DELETE FROM stock_stockmovement WHERE id = {int(r.pk)}"),  # noqa: S608
        ):
            attempts += 1
            try:
                with transaction.atomic():
                    attempt()
            except DatabaseError:
                refused += 1
    after = list(StockMovement.objects.order_by("pk").values_list("pk", "quantity", "reason"))
    record_property(
        "figure",
        f"R7 {connection.vendor}: {OPERATIONS} movements on {SKUS} goods from {STOCK_THREADS} threads "
        f"({outcomes['ok']} done, {outcomes['refused']} refused for want of stock); "
        f"{len(mismatches)} balances where on_hand != sum(ledger) of {StockBalance.objects.count()}; "
        f"{negative} negative; {refused}/{attempts} ledger UPDATE/DELETE attempts refused",
    )
    assert outcomes["ok"] + outcomes["refused"] == OPERATIONS
    assert outcomes["ok"] > OPERATIONS // 2
    assert mismatches == []
    assert negative == 0
    assert refused == attempts == len(rows) * 5
    assert after == before


def F_quantity_plus_one():  # noqa: N802 - reads like the F() expression it returns
    from django.db.models import F

    return F("quantity") + 1


def raw(sql: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql)
