from __future__ import annotations

from datetime import date

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, IntegrityError, connection, transaction

from baogong.accounts.tests.factories import user
from baogong.catalog.tests.factories import commodity
from baogong.core.errors import InsufficientStock, ValidationFailed
from baogong.core.models import AuditLog
from baogong.regions.tests.factories import make_tree
from baogong.stock.models import MovementKind, StockBalance, StockMovement
from baogong.stock.selectors import stock_ledger_mismatches
from baogong.stock.services import stock_adjust, stock_count, stock_issue, stock_receive, stock_transfer
from baogong.stock.tests.factories import stock_point

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup():
    tree = make_tree()
    actor = user("command", region=tree.county)
    return actor, stock_point(tree.county), stock_point(tree.subdistrict), commodity()


def on_hand(point, item) -> int:
    return sum(StockBalance.objects.filter(point=point, commodity=item).values_list("on_hand", flat=True))


def snapshot():
    return (
        list(StockBalance.objects.order_by("pk").values_list("pk", "on_hand")),
        StockMovement.objects.count(),
        AuditLog.objects.count(),
    )


def test_receive_appends_ledger_row_balance_and_audit(setup):
    actor, depot, _, rice = setup
    movement = stock_receive(
        actor=actor,
        point=depot,
        commodity=rice,
        quantity=120,
        reason="opening stock",
        lot="L1",
        expires_on=date(2027, 5, 1),
        reference="GRN-1",
    )
    assert (movement.kind, movement.quantity, movement.balance_after) == (MovementKind.RECEIPT, 120, 120)
    assert (movement.lot, movement.expires_on, movement.actor, movement.reference) == (
        "L1",
        date(2027, 5, 1),
        actor,
        "GRN-1",
    )
    assert on_hand(depot, rice) == 120
    audit = AuditLog.objects.get(action="stock.receive")
    assert (audit.actor, audit.target_id, audit.payload["quantity"]) == (actor, str(depot.pk), 120)


def test_issue_draws_first_expiring_lot_first(setup):
    actor, depot, _, rice = setup
    stock_receive(
        actor=actor, point=depot, commodity=rice, quantity=10, reason="r", lot="LATE", expires_on=date(2027, 9, 1)
    )
    stock_receive(
        actor=actor, point=depot, commodity=rice, quantity=5, reason="r", lot="EARLY", expires_on=date(2027, 1, 1)
    )
    stock_receive(actor=actor, point=depot, commodity=rice, quantity=7, reason="r", lot="NOEXP")
    movements = stock_issue(actor=actor, point=depot, commodity=rice, quantity=12, reason="relief kits")
    assert [(m.lot, m.quantity, m.balance_after) for m in movements] == [("EARLY", -5, 0), ("LATE", -7, 3)]
    assert dict(StockBalance.objects.filter(point=depot).values_list("lot", "on_hand")) == {
        "LATE": 3,
        "EARLY": 0,
        "NOEXP": 7,
    }


def test_issue_more_than_on_hand_is_refused_and_changes_nothing(setup):
    actor, depot, _, rice = setup
    stock_receive(actor=actor, point=depot, commodity=rice, quantity=10, reason="r")
    before = snapshot()
    with pytest.raises(InsufficientStock) as error:
        stock_issue(actor=actor, point=depot, commodity=rice, quantity=11, reason="too much")
    assert error.value.field == "quantity"
    assert error.value.data == {"available": 10, "requested": 11, "commodity": rice.code}
    assert snapshot() == before


@pytest.mark.parametrize("quantity", [0, -3, 1.5, True, 10_000_001])
def test_bad_quantities_are_refused_naming_the_field(setup, quantity):
    actor, depot, _, rice = setup
    before = snapshot()
    with pytest.raises(ValidationFailed) as error:
        stock_receive(actor=actor, point=depot, commodity=rice, quantity=quantity, reason="r")
    assert error.value.field == "quantity"
    assert snapshot() == before


def test_missing_reason_is_refused(setup):
    actor, depot, _, rice = setup
    with pytest.raises(ValidationFailed) as error:
        stock_receive(actor=actor, point=depot, commodity=rice, quantity=1, reason="  ")
    assert error.value.field == "reason"
    assert StockMovement.objects.count() == 0


def test_transfer_moves_lots_in_two_linked_rows(setup):
    actor, depot, community_point, rice = setup
    stock_receive(
        actor=actor, point=depot, commodity=rice, quantity=50, reason="r", lot="A", expires_on=date(2027, 3, 1)
    )
    rows = stock_transfer(
        actor=actor, source=depot, destination=community_point, commodity=rice, quantity=20, reason="to community"
    )
    assert [(r.point_id, r.kind, r.quantity, r.balance_after, r.lot) for r in rows] == [
        (depot.pk, "transfer_out", -20, 30, "A"),
        (community_point.pk, "transfer_in", 20, 20, "A"),
    ]
    assert rows[0].transfer_group == rows[1].transfer_group
    assert (rows[0].counterparty, rows[1].counterparty) == (community_point, depot)
    assert StockBalance.objects.get(point=community_point).expires_on == date(2027, 3, 1)


def test_transfer_to_itself_is_refused(setup):
    actor, depot, _, rice = setup
    stock_receive(actor=actor, point=depot, commodity=rice, quantity=5, reason="r")
    with pytest.raises(ValidationFailed) as error:
        stock_transfer(actor=actor, source=depot, destination=depot, commodity=rice, quantity=1, reason="x")
    assert error.value.field == "destination"


def test_adjust_and_count_keep_ledger_sum_equal_to_on_hand(setup):
    actor, depot, _, rice = setup
    stock_receive(actor=actor, point=depot, commodity=rice, quantity=40, reason="r")
    stock_adjust(actor=actor, point=depot, commodity=rice, delta=-3, reason="bags torn")
    count = stock_count(actor=actor, point=depot, commodity=rice, counted=35, reason="weekly count")
    assert (count.kind, count.quantity, count.balance_after) == ("count", -2, 35)
    assert on_hand(depot, rice) == 35
    assert stock_ledger_mismatches() == []


def test_adjust_below_zero_is_refused(setup):
    actor, depot, _, rice = setup
    stock_receive(actor=actor, point=depot, commodity=rice, quantity=2, reason="r")
    before = snapshot()
    with pytest.raises(InsufficientStock):
        stock_adjust(actor=actor, point=depot, commodity=rice, delta=-3, reason="x")
    assert snapshot() == before


def test_database_refuses_negative_balance(setup):
    _, depot, _, rice = setup
    with pytest.raises(IntegrityError), transaction.atomic():
        StockBalance.objects.create(point=depot, commodity=rice, lot="", on_hand=-1)


@pytest.mark.parametrize(
    "statement", ["UPDATE stock_stockmovement SET quantity = 999", "DELETE FROM stock_stockmovement"]
)
def test_database_refuses_update_and_delete_of_ledger_rows(setup, statement):
    actor, depot, _, rice = setup
    stock_receive(actor=actor, point=depot, commodity=rice, quantity=5, reason="r")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert list(StockMovement.objects.values_list("quantity", flat=True)) == [5]


def test_orm_update_and_delete_of_ledger_rows_are_refused(setup):
    actor, depot, _, rice = setup
    movement = stock_receive(actor=actor, point=depot, commodity=rice, quantity=5, reason="r")
    with pytest.raises(DatabaseError), transaction.atomic():
        StockMovement.objects.filter(pk=movement.pk).update(reason="rewritten")
    with pytest.raises(DatabaseError), transaction.atomic():
        movement.delete()
    assert StockMovement.objects.get(pk=movement.pk).reason == "r"


def test_audit_rows_are_append_only(setup):
    actor, depot, _, rice = setup
    stock_receive(actor=actor, point=depot, commodity=rice, quantity=5, reason="r")
    before = list(AuditLog.objects.order_by("pk").values_list("pk", "action"))
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditLog.objects.update(action="forged")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditLog.objects.all().delete()
    assert list(AuditLog.objects.order_by("pk").values_list("pk", "action")) == before
    assert before[-1][1] == "stock.receive"


def test_check_ledger_command_passes_and_detects_drift(setup, capsys):
    actor, depot, _, rice = setup
    stock_receive(actor=actor, point=depot, commodity=rice, quantity=5, reason="r")
    call_command("check_ledger")
    assert "OK: 1 balances agree with 1 ledger rows" in capsys.readouterr().out
    # Simulate a bug that changed the cache without a ledger row.
    StockBalance.objects.update(on_hand=6)
    with pytest.raises(CommandError, match="1 of 1 balances disagree"):
        call_command("check_ledger")
