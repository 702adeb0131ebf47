"""Concurrent buyers against real database connections, on SQLite and on PostgreSQL.

Run on SQLite with plain `pytest`, on PostgreSQL with DATABASE_URL set. Each
worker is a real thread with its own database connection (Django opens one
per thread), released at a barrier so the attempts really overlap.

SQLite: pytest-django's test database is in memory, where every thread
shares one cache and SQLite's file locking (what IMMEDIATE transactions and
busy_timeout rely on) is not exercised. The `concurrent_database` fixture
copies the migrated in-memory database into a file for the duration of a
test and points the connection settings at it, so the threads contend for a
real WAL database exactly as the server's workers do.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable

import pytest
from django.db import connection

from baogong.accounts.models import Role, User
from baogong.catalog.tests.factories import commodity
from baogong.core.errors import ApplicationError, Conflict, InsufficientStock
from baogong.orders.models import HouseholdQuota, OfferLine, Order
from baogong.orders.services import LineRequest, order_place
from baogong.orders.tests.factories import DAY, NOW, build_ordering_world, offer
from baogong.regions.models import Household

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

THREADS = int(__import__("os").environ.get("T", "32"))
BUYERS = 500
UNITS = 100
REPEATS = int(__import__("os").environ.get("R", "20"))


@pytest.fixture
def concurrent_database(tmp_path):
    """On SQLite, a file-backed copy of the test database for the test's duration (see module docstring)."""
    if connection.vendor != "sqlite" or not connection.is_in_memory_db():
        yield
        return
    settings_dict = connection.settings_dict
    memory_name = settings_dict["NAME"]
    options = settings_dict["OPTIONS"]
    # Holds the in-memory database open while no Django connection points at it.
    keeper = sqlite3.connect(memory_name, uri=True, check_same_thread=False)
    target = sqlite3.connect(tmp_path / "concurrent.sqlite3")
    keeper.backup(target)
    target.close()
    connection.close()  # still the in-memory name: Django keeps it open, so detach it explicitly
    connection.connection = None
    settings_dict["NAME"] = str(tmp_path / "concurrent.sqlite3")
    original_init = options.get("init_command", "")
    # Durability is not under test here; NORMAL spares an fsync per commit.
    options["init_command"] = original_init.replace("synchronous=FULL", "synchronous=NORMAL")
    try:
        yield
    finally:
        connection.close()
        settings_dict["NAME"] = memory_name
        options["init_command"] = original_init
        connection.connect()
        keeper.close()


def run_in_threads(calls: list[Callable[[], str]], threads: int = THREADS) -> Counter[str]:
    """Run `calls` on `threads` threads (each with its own connection) started together at a barrier."""
    barrier = threading.Barrier(threads)
    pending = list(reversed(calls))
    lock = threading.Lock()
    outcomes: Counter[str] = Counter()

    def worker() -> None:
        try:
            barrier.wait()
            while True:
                with lock:
                    if not pending:
                        return
                    call = pending.pop()
                try:
                    outcome = call()
                except ApplicationError as error:
                    outcome = error.code
                except Exception as error:
                    outcome = f"error:{type(error).__name__}:{error}"
                with lock:
                    outcomes[outcome] += 1
        finally:
            connection.close()

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return outcomes


def residents(ow, count: int) -> list[User]:
    """`count` households in compound A1, each with a resident account (bulk-made: this is setup, not the subject)."""
    unit = ow.world.regions["A1-unit"]
    households = Household.objects.bulk_create(
        Household(
            unit=unit,
            compound=ow.world.regions["A1"],
            room=f"R{i:04d}",
            head_name="住户",
            size=2,
            phone=f"1380000{i:04d}",
        )
        for i in range(count)
    )
    if households[0].pk is None:  # backends without RETURNING on bulk insert
        households = list(Household.objects.filter(room__startswith="R").order_by("room"))
    User.objects.bulk_create(
        User(username=f"buyer{i}", role=Role.RESIDENT, household=household, password="!")
        for i, household in enumerate(households)
    )
    return list(User.objects.filter(username__startswith="buyer").order_by("pk"))


def buy(account: User, offer_id: int, *, key: str | None = None, quantity: int = 1) -> Callable[[], str]:
    def call() -> str:
        placed = order_place(
            actor=account,
            household_id=account.household_id,
            delivery_date=DAY,
            lines=[LineRequest(offer_line_id=offer_id, quantity=quantity)],
            idempotency_key=key or str(uuid.uuid4()),
            now=NOW,
        )
        return "replayed" if placed.replayed else "placed"

    return call


def naive_buy(offer_id: int) -> Callable[[], str]:
    """Read the balance, decide, write it back: the check-then-act bug the real service must not have."""

    def call() -> str:
        quantity, already = OfferLine.objects.values_list("quantity", "reserved").get(pk=offer_id)
        if already + 1 > quantity:
            return "sold_out"
        time.sleep(0.002)  # the gap between read and write in which other buyers read the same value
        OfferLine.objects.filter(pk=offer_id).update(reserved=already + 1)
        return "placed"

    return call


# 500 buyers on 100 units, 20 times over, with every invariant and the negative control under the
# same load: R5 in tests/reliability/test_oversell_ledger.py, run by `make test` and `make reliability`.


def test_naive_read_modify_write_oversells(concurrent_database):
    """The harness has power: the same load against check-then-act sells more than there is."""
    ow = build_ordering_world()
    sold = []
    for _ in range(REPEATS):
        line = offer(ow.supermarket, goods=commodity(), quantity=UNITS)
        outcomes = run_in_threads([naive_buy(line.pk) for _ in range(BUYERS)])
        sold.append(outcomes["placed"])
        if sold[-1] > UNITS:
            break

    assert max(sold) > UNITS, f"naive variant never oversold: {sold}"


def test_concurrent_duplicates_with_one_key_make_one_order(concurrent_database):
    ow = build_ordering_world()
    key = str(uuid.uuid4())

    outcomes = run_in_threads([buy(ow.resident, ow.offers["veg"].pk, key=key) for _ in range(64)])

    # The first claim wins; the others either waited for it and got its answer, or were told it is in progress.
    assert outcomes["placed"] == 1
    assert outcomes["replayed"] + outcomes["request_in_progress"] == 63
    assert set(outcomes) <= {"placed", "replayed", "request_in_progress"}
    assert Order.objects.count() == 1
    assert OfferLine.objects.get(pk=ow.offers["veg"].pk).reserved == 1
    # A sequential retry afterwards replays too.
    assert buy(ow.resident, ow.offers["veg"].pk, key=key)() == "replayed"
    assert Order.objects.count() == 1


def test_fifty_simultaneous_attempts_of_one_household_make_one_order(concurrent_database):
    ow = build_ordering_world()

    # Different keys (two tabs, a double tap and a proxy all at once): the per-household cap decides.
    outcomes = run_in_threads([buy(ow.resident, ow.offers["veg"].pk) for _ in range(50)])

    assert dict(outcomes) == {"placed": 1, Conflict.code: 49}
    assert Order.objects.count() == 1
    assert OfferLine.objects.get(pk=ow.offers["veg"].pk).reserved == 1
    assert list(HouseholdQuota.objects.values_list("taken", "cap")) == [(1, 1)]


def test_concurrent_buyers_of_several_lines_do_not_deadlock(concurrent_database):
    """Orders touching the same rows in different request orders: rows are locked in key order."""
    ow = build_ordering_world()
    buyers = residents(ow, 120)
    rice, relief = ow.offers["rice"].pk, ow.offers["relief"].pk

    def both(account: User, flip: bool) -> Callable[[], str]:
        lines = [(rice, 1), (relief, 1)] if flip else [(relief, 1), (rice, 1)]

        def call() -> str:
            order_place(
                actor=account,
                household_id=account.household_id,
                delivery_date=DAY,
                lines=[LineRequest(offer_line_id=i, quantity=q) for i, q in lines],
                idempotency_key=str(uuid.uuid4()),
                now=NOW,
            )
            return "placed"

        return call

    outcomes = run_in_threads([both(account, i % 2 == 0) for i, account in enumerate(buyers)])

    assert dict(outcomes) == {"placed": 10, InsufficientStock.code: 110}
    assert OfferLine.objects.get(pk=relief).reserved == 10
    assert OfferLine.objects.get(pk=rice).reserved == 10
