"""Concurrent issues against one balance on PostgreSQL, with real threads.

Each thread has its own database connection (Django opens one per thread), so
the row locks and conditional updates are exercised for real.
"""

from __future__ import annotations

import pytest

from baogong.catalog.tests.factories import commodity
from baogong.core.errors import InsufficientStock
from baogong.core.tests.concurrency import run_concurrently as run_shared
from baogong.regions.tests.factories import make_tree
from baogong.stock.models import StockBalance, StockMovement
from baogong.stock.selectors import stock_ledger_mismatches
from baogong.stock.services import stock_issue, stock_receive, stock_transfer
from baogong.stock.tests.factories import stock_point

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_concurrently(workers: int, calls: int, func) -> list[str]:
    return run_shared(workers, calls, func, refused=InsufficientStock)


def test_concurrent_issues_never_oversell():
    tree = make_tree()
    depot, rice = stock_point(tree.county), commodity()
    stock_receive(actor=None, point=depot, commodity=rice, quantity=30, reason="opening", lot="A")
    stock_receive(actor=None, point=depot, commodity=rice, quantity=20, reason="opening", lot="B")

    outcomes = run_concurrently(
        16, 80, lambda i: stock_issue(actor=None, point=depot, commodity=rice, quantity=1, reason=f"issue {i}")
    )

    assert outcomes.count("ok") == 50
    assert outcomes.count("refused") == 30
    assert sum(StockBalance.objects.filter(point=depot).values_list("on_hand", flat=True)) == 0
    assert StockMovement.objects.filter(kind="issue").count() == 50
    assert stock_ledger_mismatches() == []


def test_opposite_transfers_do_not_deadlock_and_conserve_stock():
    tree = make_tree()
    a, b, rice = stock_point(tree.county), stock_point(tree.subdistrict), commodity()
    stock_receive(actor=None, point=a, commodity=rice, quantity=100, reason="opening")
    stock_receive(actor=None, point=b, commodity=rice, quantity=100, reason="opening")

    def move(i: int) -> None:
        source, destination = (a, b) if i % 2 else (b, a)
        stock_transfer(
            actor=None, source=source, destination=destination, commodity=rice, quantity=3, reason=f"rebalance {i}"
        )

    outcomes = run_concurrently(8, 60, move)

    assert outcomes.count("ok") == 60
    assert sum(StockBalance.objects.values_list("on_hand", flat=True)) == 200
    assert stock_ledger_mismatches() == []
