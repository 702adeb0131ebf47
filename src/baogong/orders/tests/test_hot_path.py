"""The order hot path: how many round trips one placement costs, and that the batch writes every row."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from baogong.accounts.models import Role
from baogong.accounts.tests.factories import user
from baogong.core.errors import ValidationFailed
from baogong.core.models import AuditLog
from baogong.core.tests.test_sql import new_session
from baogong.orders.models import HouseholdQuota, IdempotencyKey, OfferLine, Order, OrderEvent, OrderLine, Payment
from baogong.orders.services import LineRequest, order_place
from baogong.orders.tests.factories import DAY, NOW, build_ordering_world, new_key

pytestmark = pytest.mark.django_db

# Inside a transaction (as every test but the last runs) PostgreSQL takes the reads (key, offers,
# household, window and zone rules, the new order's id), then SAVEPOINT, every write of the order
# in one statement list, RELEASE. SQLite runs the batches statement by statement: 3 reads, 2 reads,
# SAVEPOINT, the order, 9 writes (key, lines, event, payment, audit, two caps, two reservations),
# RELEASE.
ROUND_TRIPS = {"postgresql": 4, "sqlite": 17}
# A PostgreSQL session's first order also reads which statements the session has prepared, and
# prepares the missing ones before each of its two runs (reads, writes).
FIRST_IN_SESSION = {"postgresql": 4 + 1 + 2, "sqlite": 17}


@pytest.fixture
def ow(monkeypatch):
    monkeypatch.setattr("django.utils.timezone.now", lambda: NOW)
    return build_ordering_world()


def _resident(ow, household: str):
    if household == "A1a":
        return ow.resident
    return user(Role.RESIDENT, household=ow.world.households[household])


def _place(ow, household: str, actor=None):
    return order_place(
        actor=actor or _resident(ow, household),
        household_id=ow.household(household),
        delivery_date=DAY,
        lines=[LineRequest(ow.offers["veg"].pk, 1), LineRequest(ow.offers["rice"].pk, 2)],
        idempotency_key=new_key(),
    )


def test_placing_an_order_takes_a_fixed_number_of_round_trips(ow):
    second = _resident(ow, "A1b")
    new_session()
    with CaptureQueriesContext(connection) as first:
        placed_first = _place(ow, "A1a")
    with CaptureQueriesContext(connection) as then:
        placed = _place(ow, "A1b", second)

    assert (placed_first.status_code, len(first)) == (201, FIRST_IN_SESSION[connection.vendor])
    assert (placed.status_code, len(then)) == (201, ROUND_TRIPS[connection.vendor])


def test_the_batch_writes_every_row_of_the_order(ow):
    key = new_key()

    placed = order_place(
        actor=ow.resident,
        household_id=ow.household("A1a"),
        delivery_date=DAY,
        lines=[LineRequest(ow.offers["veg"].pk, 1), LineRequest(ow.offers["rice"].pk, 2)],
        idempotency_key=key,
    )

    order = Order.objects.get()
    assert placed.order_id == order.pk
    assert sorted(OrderLine.objects.values_list("offer_line_id", "quantity", "amount")) == sorted(
        [(ow.offers["veg"].pk, 1, order.total - 111), (ow.offers["rice"].pk, 2, 111)]
    )
    assert list(OrderEvent.objects.values_list("order_id", "from_status", "to_status", "actor_id", "note")) == [
        (order.pk, "", "placed", ow.resident.pk, "online")
    ]
    assert list(Payment.objects.values_list("order_id", "kind", "amount", "gateway")) == [
        (order.pk, "charge", order.total, "simulated")
    ]
    audit = AuditLog.objects.get(action="order.place")
    assert (audit.actor_id, audit.target_type, audit.target_id, audit.payload["total"]) == (
        ow.resident.pk,
        "order",
        str(order.pk),
        "149.00",
    )
    stored = IdempotencyKey.objects.get(key=key)
    assert (stored.status_code, stored.order_id, stored.response) == (201, order.pk, placed.body)
    assert sorted(HouseholdQuota.objects.values_list("key", "taken")) == [
        ("kit:vegetable_package", 1),
        (f"offer:{ow.offers['rice'].pk}", 2),
    ]
    assert sorted(OfferLine.objects.filter(reserved__gt=0).values_list("pk", "reserved")) == sorted(
        [(ow.offers["veg"].pk, 1), (ow.offers["rice"].pk, 2)]
    )


def test_a_withdrawn_line_takes_no_order_even_after_it_was_read(ow, monkeypatch):
    from baogong.orders import statements

    run = statements.run

    def withdraw_after_the_reads(batch):
        results = run(batch)
        if any(sql == statements.KEY_LOOKUP for sql, _params in batch):
            OfferLine.objects.filter(pk=ow.offers["veg"].pk).update(is_active=False)
        return results

    monkeypatch.setattr(statements, "run", withdraw_after_the_reads)

    with pytest.raises(ValidationFailed) as error:
        order_place(
            actor=ow.resident,
            household_id=ow.household("A1a"),
            delivery_date=DAY,
            lines=[LineRequest(ow.offers["veg"].pk, 1)],
            idempotency_key=new_key(),
        )

    assert error.value.field == "lines[0].offer_line_id"
    assert (Order.objects.count(), IdempotencyKey.objects.count(), HouseholdQuota.objects.count()) == (0, 0, 0)


@pytest.mark.postgres
def test_after_the_first_order_of_a_session_every_statement_runs_prepared(ow):
    second = _resident(ow, "A1b")
    new_session()
    _place(ow, "A1a")
    with CaptureQueriesContext(connection) as queries:
        _place(ow, "A1b", second)

    executed = [part.strip() for query in queries for part in query["sql"].split(";\n")]
    prepared = [part for part in executed if part.startswith("EXECUTE baogong_")]
    plain = [
        re.sub(r' "s\d+_x\d+"', "", part).split(" (")[0] for part in executed if not part.startswith("EXECUTE baogong_")
    ]
    # 6 reads (offers, key, household, window and zone rules, the order's id), then the key, the order,
    # lines, event, payment, audit, two caps, two reservations.
    assert len(prepared) == 6 + 10
    # The savepoint pair that stands for the transaction inside the test's own.
    assert plain == ["SAVEPOINT", "RELEASE SAVEPOINT"]


@pytest.mark.postgres
def test_a_session_that_lost_track_of_its_statements_reads_them_back_instead_of_preparing_twice(ow):
    from baogong.core import sql

    second = _resident(ow, "A1b")
    new_session()
    _place(ow, "A1a")
    sql._PREPARED.pop(connection.connection)

    with CaptureQueriesContext(connection) as queries:
        placed = _place(ow, "A1b", second)

    assert placed.status_code == 201
    assert [q["sql"] for q in queries if "PREPARE" in q["sql"]] == []
    assert len(queries) == ROUND_TRIPS["postgresql"] + 1


@pytest.mark.postgres
def test_with_preparing_switched_off_no_statement_is_prepared(ow, settings):
    settings.SQL_PREPARE = False
    new_session()

    with CaptureQueriesContext(connection) as queries:
        placed = _place(ow, "A1a")

    assert placed.status_code == 201
    assert len(queries) == ROUND_TRIPS["postgresql"]
    assert [q["sql"] for q in queries if "PREPARE" in q["sql"] or "EXECUTE" in q["sql"]] == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_an_order_is_two_round_trips_and_the_second_is_its_transaction(ow):
    second = _resident(ow, "A1b")
    new_session()
    _place(ow, "A1a")
    with CaptureQueriesContext(connection) as queries:
        placed = _place(ow, "A1b", second)

    assert placed.status_code == 201
    reads, writes = (query["sql"] for query in queries)
    assert (reads.count("EXECUTE"), writes.count("EXECUTE")) == (6, 10)
    # No BEGIN, COMMIT or SAVEPOINT: the statements of one query are a transaction of their own.
    assert [word for word in ("BEGIN", "COMMIT", "SAVEPOINT") if word in reads + writes] == []
    order = Order.objects.get(pk=placed.order_id)
    assert (order.household_id, IdempotencyKey.objects.get(order=order).status_code) == (ow.household("A1b"), 201)
