"""R1-R4: the Idempotency-Key contract of POST /api/orders, at the plan's sizes.

R1 sequential retry and R3 misuse go through the HTTP API in process; R4
drops the first response after the order's transaction has committed, the way
a phone losing its connection would, and retries; R2 runs the service from
32 real threads on a file-backed database (see the orders concurrency tests),
since the API view is a thin wrapper around it that R1 shows replays exactly.
"""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter
from typing import Any

import pytest
from django.db import connection
from django.db.models import Count
from django.test import Client

from baogong.accounts.models import Role, User
from baogong.catalog.tests.factories import commodity
from baogong.core.errors import RequestInProgress
from baogong.orders.models import HouseholdQuota, IdempotencyKey, OfferLine, Order
from baogong.orders.tests.factories import DAY, NOW, build_ordering_world, offer
from baogong.orders.tests.test_concurrency import (  # noqa: F401 - concurrent_database is a fixture
    buy,
    concurrent_database,
    residents,
    run_in_threads,
)

ORDERS = 200
RETRIES = 2  # each order is sent 3 times in all
KEYS, COPIES, RUNS, THREADS = 50, 20, 10, 32
CASES_PER_KIND = 25  # 4 kinds of misuse: 100 cases


@pytest.fixture
def ow(monkeypatch):
    monkeypatch.setattr("django.utils.timezone.now", lambda: NOW)
    return build_ordering_world()


def post(client, account, body: dict[str, Any], key: str | None) -> Any:
    client.force_login(account)
    headers = {} if key is None else {"Idempotency-Key": key}
    return client.post("/api/orders", data=json.dumps(body), content_type="application/json", headers=headers)


def body(line: OfferLine, quantity: int = 1) -> dict[str, Any]:
    return {"delivery_date": DAY.isoformat(), "lines": [{"offer_line_id": line.pk, "quantity": quantity}]}


def state() -> tuple[Any, ...]:
    return (
        Order.objects.count(),
        IdempotencyKey.objects.count(),
        sorted(HouseholdQuota.objects.values_list("household_id", "key", "taken")),
        sorted(OfferLine.objects.values_list("pk", "reserved")),
    )


@pytest.mark.django_db
def test_r1_each_order_sent_three_times_is_stored_once(client, ow, record_property):
    buyers = residents(ow, ORDERS)
    line = offer(ow.supermarket, goods=commodity(), quantity=ORDERS, cap=1)
    randomness = random.Random(1)
    same = 0
    for account in buyers:
        key = str(uuid.uuid4())
        first = post(client, account, body(line), key)
        assert first.status_code == 201, first.content
        # Retries arrive in random order with other traffic in between, not back to back.
        for _ in range(RETRIES):
            retry = post(client, account, body(line), key)
            same += (retry.status_code, retry.content) == (first.status_code, first.content)
        if randomness.random() < 0.1:
            client.get("/api/offers")

    orders = Order.objects.filter(lines__offer_line=line)
    duplicates = orders.values("household_id").annotate(n=Count("pk"))
    extra = sum(row["n"] - 1 for row in duplicates)
    record_property(
        "figure",
        f"R1: {orders.count()} orders from {ORDERS * (RETRIES + 1)} POSTs; "
        f"{same}/{ORDERS * RETRIES} retries byte-identical; {extra} duplicates",
    )
    assert orders.count() == ORDERS
    assert same == ORDERS * RETRIES
    assert extra == 0
    assert OfferLine.objects.get(pk=line.pk).reserved == ORDERS


@pytest.mark.django_db(transaction=True)
def test_r2_simultaneous_copies_of_one_key_make_one_order(concurrent_database, record_property):  # noqa: F811
    ow = build_ordering_world()
    buyers = residents(ow, KEYS)
    outcomes: Counter[str] = Counter()
    created = 0
    for run in range(RUNS):
        line = offer(ow.supermarket, goods=commodity(code=f"DUP{run:02d}"), quantity=KEYS, cap=1)
        calls = []
        for account in buyers:
            key = str(uuid.uuid4())
            calls += [buy(account, line.pk, key=key) for _ in range(COPIES)]
        random.Random(run).shuffle(calls)
        outcomes += run_in_threads(calls, threads=THREADS)
        created += Order.objects.filter(lines__offer_line=line).count()
    keys = IdempotencyKey.objects.filter(order__isnull=False).count()
    record_property(
        "figure",
        f"R2: {outcomes['placed']}/{KEYS * RUNS} keys created exactly once over {RUNS} runs of "
        f"{KEYS} keys x {COPIES} copies on {THREADS} threads; others: {outcomes['replayed']} replayed, "
        f"{outcomes[RequestInProgress.code]} 409 in progress; {created - KEYS * RUNS} duplicates",
    )
    assert outcomes["placed"] == KEYS * RUNS
    assert created == KEYS * RUNS
    assert keys == KEYS * RUNS
    assert set(outcomes) <= {"placed", "replayed", RequestInProgress.code}
    assert sum(outcomes.values()) == KEYS * COPIES * RUNS


@pytest.mark.django_db
def test_r3_misuse_is_refused_and_changes_nothing(client, ow, record_property):
    line = offer(ow.supermarket, goods=commodity(), quantity=1000, cap=CASES_PER_KIND * 2)
    other_line = offer(ow.supermarket, goods=commodity(), quantity=1000, cap=CASES_PER_KIND * 2)
    second = User.objects.create(username="r3-neighbour", role=Role.RESIDENT, household=ow.world.households["A1b"])
    statuses: Counter[tuple[str, int]] = Counter()
    changed = cross = 0
    for i in range(CASES_PER_KIND):
        key = f"r3-{i}-{uuid.uuid4()}"
        assert post(client, ow.resident, body(line), key).status_code == 201
        before = state()
        mismatch = post(client, ow.resident, body(other_line), key)
        statuses["mismatch", mismatch.status_code] += 1
        missing = post(client, ow.resident, body(line), None)
        statuses["missing", missing.status_code] += 1
        bad = "k" * 256 if i % 2 else f"bad\nkey-{i}"
        malformed = post(client, ow.resident, body(line), bad)
        statuses["malformed", malformed.status_code] += 1
        changed += state() != before
        # The neighbour sending the same key gets an order of their own, never the resident's stored answer.
        theirs = post(client, second, body(line), key)
        statuses["other_account", theirs.status_code] += 1
        cross += theirs.json().get("household_id") != ow.household("A1b")
    record_property(
        "figure",
        f"R3: {statuses['mismatch', 422]}/{CASES_PER_KIND} mismatches 422; "
        f"{statuses['missing', 400] + statuses['malformed', 400]}/{2 * CASES_PER_KIND} missing/invalid keys 400; "
        f"{changed} state changes; {cross} cross-account replays of {CASES_PER_KIND}",
    )
    assert dict(statuses) == {
        ("mismatch", 422): CASES_PER_KIND,
        ("missing", 400): CASES_PER_KIND,
        ("malformed", 400): CASES_PER_KIND,
        ("other_account", 201): CASES_PER_KIND,
    }
    assert changed == 0
    assert cross == 0


class DropFirstAnswer:
    """Test-only middleware: the first answer for each key is lost after the order committed.

    The view has returned, so its transaction is closed; raising here is what
    the client sees when the connection dies before the answer arrives.
    """

    seen: set[str] = set()
    committed_before_drop = 0

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        response = self.get_response(request)
        key = request.headers.get("Idempotency-Key", "")
        if request.method == "POST" and key and key not in self.seen:
            self.seen.add(key)
            stored = IdempotencyKey.objects.filter(key=key, order__isnull=False).exists()
            type(self).committed_before_drop += stored and not connection.in_atomic_block
            raise ConnectionAbortedError("the answer was lost on the way to the phone")
        return response


@pytest.mark.django_db(transaction=True)  # real commits: the drop must come after one
def test_r4_a_response_lost_after_commit_is_recovered_by_the_retry(ow, settings, record_property):
    buyers = residents(ow, ORDERS)
    line = offer(ow.supermarket, goods=commodity(), quantity=ORDERS, cap=1)
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.DropFirstAnswer"]
    client = Client(raise_request_exception=False)
    DropFirstAnswer.seen.clear()
    DropFirstAnswer.committed_before_drop = 0
    lost = recovered = 0
    for account in buyers:
        key = str(uuid.uuid4())
        first = post(client, account, body(line), key)
        lost += first.status_code == 500
        retry = post(client, account, body(line), key)
        recovered += retry.status_code == 201 and retry.json()["household_id"] == account.household_id
    orders = Order.objects.filter(lines__offer_line=line).count()
    record_property(
        "figure",
        f"R4: {lost} answers lost after commit ({DropFirstAnswer.committed_before_drop} committed first); "
        f"{recovered}/{ORDERS} retries got the stored 201; {orders - ORDERS} duplicates",
    )
    assert lost == ORDERS
    assert DropFirstAnswer.committed_before_drop == ORDERS
    assert recovered == ORDERS
    assert orders == ORDERS
