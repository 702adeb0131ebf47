"""The runner of hand-written SQL: statements prepared once per database session and executed by name."""

from __future__ import annotations

import gc
import re
import weakref
from datetime import UTC, date, datetime
from decimal import Decimal

import psycopg
import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from baogong.core import sql

pytestmark = pytest.mark.django_db

DOUBLE = "SELECT %s * 2"
TRIPLE = "SELECT %s * 3"


def new_session() -> None:
    """Forget every prepared statement, as a new database session would start (PostgreSQL)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("DEALLOCATE ALL")
        sql._PREPARED.pop(connection.connection, None)


def test_prepare_sql_numbers_placeholders_and_refuses_other_escapes():
    name = sql.prepared_name("SELECT %s + %s, 10 %% 3")

    assert sql.prepare_sql("SELECT %s + %s, 10 %% 3") == f"PREPARE {name} AS SELECT $1 + $2, 10 % 3"
    assert sql.prepare_sql("SELECT %(named)s") is None
    assert sql.execute_sql("SELECT %s + %s", 2) == f"EXECUTE {sql.prepared_name('SELECT %s + %s')}(%s, %s)"
    assert sql.execute_sql("SELECT 1", 0) == f"EXECUTE {sql.prepared_name('SELECT 1')}"
    assert re.fullmatch(r"baogong_[0-9a-f]{24}", name)


def test_run_answers_rows_or_counts_in_order():
    assert sql.run([(DOUBLE, [2]), (TRIPLE, [2])]) == [[(4,)], [(6,)]]


@pytest.mark.postgres
def test_a_new_session_prepares_once_then_executes_by_name():
    new_session()

    with CaptureQueriesContext(connection) as first:
        assert sql.run([(DOUBLE, [2]), (TRIPLE, [2]), (DOUBLE, [5])]) == [[(4,)], [(6,)], [(10,)]]
    with CaptureQueriesContext(connection) as then:
        assert sql.run([(DOUBLE, [7])]) == [[(14,)]]

    double, triple = sql.prepared_name(DOUBLE), sql.prepared_name(TRIPLE)
    assert [q["sql"] for q in first] == [
        sql.PREPARED_IN_SESSION,
        f"PREPARE {double} AS SELECT $1 * 2;\nPREPARE {triple} AS SELECT $1 * 3",
        f"EXECUTE {double}(2);\nEXECUTE {triple}(2);\nEXECUTE {double}(5)",
    ]
    assert [q["sql"] for q in then] == [f"EXECUTE {double}(7)"]


@pytest.mark.postgres
def test_statements_prepared_in_a_transaction_that_rolled_back_stay_prepared():
    new_session()

    def prepare_then_roll_back() -> None:
        with transaction.atomic():
            sql.run([(DOUBLE, [1])])
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        prepare_then_roll_back()
    with CaptureQueriesContext(connection) as queries:
        assert sql.run([(DOUBLE, [3])]) == [[(6,)]]

    assert [q["sql"] for q in queries] == [f"EXECUTE {sql.prepared_name(DOUBLE)}(3)"]


@pytest.mark.postgres
def test_a_session_that_lost_track_reads_its_statements_back_instead_of_preparing_twice():
    new_session()
    sql.run([(DOUBLE, [1])])
    sql._PREPARED.pop(connection.connection)

    with CaptureQueriesContext(connection) as queries:
        assert sql.run([(DOUBLE, [4])]) == [[(8,)]]

    assert [q["sql"] for q in queries] == [
        sql.PREPARED_IN_SESSION,
        f"EXECUTE {sql.prepared_name(DOUBLE)}(4)",
    ]


@pytest.mark.postgres
def test_a_failed_prepare_forgets_the_session_and_changes_nothing():
    new_session()
    sql.run([(DOUBLE, [1])])

    with pytest.raises(DatabaseError, match="does_not_exist"), transaction.atomic():
        sql.run([("SELECT %s FROM does_not_exist", [1])])

    assert connection.connection not in sql._PREPARED
    with CaptureQueriesContext(connection) as queries:
        assert sql.run([(DOUBLE, [2])]) == [[(4,)]]
    assert [q["sql"] for q in queries] == [
        sql.PREPARED_IN_SESSION,
        f"EXECUTE {sql.prepared_name(DOUBLE)}(2)",
    ]


@pytest.mark.postgres
def test_past_the_limit_of_a_session_new_statements_run_unprepared(monkeypatch):
    new_session()
    monkeypatch.setattr(sql, "PREPARED_PER_SESSION", 1)

    with CaptureQueriesContext(connection) as queries:
        assert sql.run([(DOUBLE, [1]), (TRIPLE, [1])]) == [[(2,)], [(3,)]]

    assert [q["sql"] for q in queries][1:] == [
        f"PREPARE {sql.prepared_name(DOUBLE)} AS SELECT $1 * 2",
        f"EXECUTE {sql.prepared_name(DOUBLE)}(1);\nSELECT 1 * 3",
    ]


@pytest.mark.postgres
def test_with_preparing_switched_off_statements_run_as_written(settings):
    settings.SQL_PREPARE = False
    new_session()

    with CaptureQueriesContext(connection) as queries:
        assert sql.run([(DOUBLE, [1]), (TRIPLE, [1])]) == [[(2,)], [(3,)]]

    assert [q["sql"] for q in queries] == ["SELECT 1 * 2;\nSELECT 1 * 3"]


AWKWARD_VALUES = [
    0,
    7,
    -1,
    2**63,
    -(2**70),
    True,
    False,
    None,
    "",
    "it's",
    "back\\slash",
    "'); DROP TABLE orders_order; --",
    "保供 蔬菜包",
    Decimal("12.50"),
    Decimal("-0.01"),
    date(2026, 11, 29),
    datetime(2026, 11, 29, 6, 0, 1, 123456, tzinfo=UTC),
    b"\x00\xffraw",
]


@pytest.mark.postgres
def test_values_are_written_in_as_psycopgs_own_client_side_binding_writes_them():
    raw = connection.cursor().cursor
    template = "SELECT " + ", ".join(["%s"] * len(AWKWARD_VALUES)) + ", 10 %% 3"

    written = sql.literal_sql(raw, [(template, AWKWARD_VALUES)])

    assert written.decode() == psycopg.ClientCursor(raw.connection).mogrify(template, AWKWARD_VALUES)


@pytest.mark.postgres
def test_a_connection_keeps_one_transformer_and_does_not_outlive_its_closing():
    url = "postgresql://{USER}@{HOST}:{PORT}/{NAME}".format(**connection.settings_dict)
    raw = psycopg.connect(url)
    first = sql.literal_sql(raw.cursor(), [("SELECT %s, %s", ["a", Decimal("1.50")])])
    transformer = sql._transformer(raw)
    second = sql.literal_sql(raw.cursor(), [("SELECT %s, %s", ["a", Decimal("1.50")])])
    assert (first, second) == (b"SELECT 'a', 1.50", b"SELECT 'a', 1.50")
    assert sql._transformer(raw) is transformer
    gone = weakref.ref(raw)

    raw.close()
    del raw, transformer
    gc.collect()

    assert gone() is None


TEXTS = ["", "it's", "back\\slash", "'); DROP TABLE awkward; --", "%s %% %(x)s", "保供 蔬菜包", "-1"]


def test_awkward_values_come_back_unchanged():
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE awkward (n integer, t text)")
    statements = [("INSERT INTO awkward (n, t) VALUES (%s, %s)", [i, text]) for i, text in enumerate(TEXTS)]

    assert sql.run([*statements, ("SELECT t, 10 %% 3 FROM awkward ORDER BY n", [])]) == [
        *[1] * len(TEXTS),
        [(text, 1) for text in TEXTS],
    ]


PROBE = (
    "CREATE TEMP TABLE atomic_probe (id integer PRIMARY KEY, n integer NOT NULL, "
    "CONSTRAINT atomic_probe_n_not_negative CHECK (n >= 0))"
)
PROBE_INSERT = "INSERT INTO atomic_probe (id, n) VALUES (%s, %s)"
PROBE_TAKE = "UPDATE atomic_probe SET n = n - %s WHERE id = %s"


@pytest.fixture
def probe(settings):
    # A table made for the test, so nothing is prepared against it.
    settings.SQL_PREPARE = False
    with connection.cursor() as cursor:
        cursor.execute(PROBE)
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE atomic_probe")


def _probe_rows() -> list[tuple[int, int]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, n FROM atomic_probe ORDER BY id")
        return [tuple(row) for row in cursor.fetchall()]


def test_run_atomically_writes_all_or_nothing_and_names_what_refused(probe):
    from django.db import IntegrityError

    sql.run_atomically([(PROBE_INSERT, [1, 5])])
    with pytest.raises(IntegrityError) as over:
        sql.run_atomically([(PROBE_INSERT, [2, 1]), (PROBE_TAKE, [9, 1])])
    with pytest.raises(IntegrityError) as twice:
        sql.run_atomically([(PROBE_INSERT, [3, 1]), (PROBE_INSERT, [1, 1])])

    assert (sql.violated_constraint(over.value), sql.violated_constraint(twice.value)) == (
        "atomic_probe_n_not_negative",
        "unique:atomic_probe",
    )
    assert _probe_rows() == [(1, 5)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_list_is_one_round_trip_and_a_transaction_of_its_own(probe):
    from django.db import IntegrityError

    with CaptureQueriesContext(connection) as queries:
        sql.run_atomically([(PROBE_INSERT, [1, 5]), (PROBE_INSERT, [2, 5])])
    with pytest.raises(IntegrityError):
        sql.run_atomically([(PROBE_TAKE, [1, 1]), (PROBE_TAKE, [9, 2])])

    # One query, no BEGIN or COMMIT around it; nothing is left open after it or after the refusal.
    assert [query["sql"] for query in queries] == [
        "INSERT INTO atomic_probe (id, n) VALUES (1, 5);\nINSERT INTO atomic_probe (id, n) VALUES (2, 5)"
    ]
    assert connection.connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert (_probe_rows(), connection.get_autocommit(), connection.in_atomic_block) == ([(1, 5), (2, 5)], True, False)
