"""Hand-written SQL for the hottest paths: several statements in one round trip, prepared once per session.

Building ORM queries costs more CPU than the database spends running the few
statements of the order path or of reading a signed-in session and its
account, so those are written out (`baogong.orders.statements`,
`baogong.accounts.sessions`, `baogong.accounts.backends`) and run here. On
PostgreSQL several statements go in one simple query, executed in order in the
caller's transaction (an error in any of them aborts the rest and the
transaction); SQLite runs them one by one.

On PostgreSQL each statement is also prepared once per database session
(`PREPARE`) and then sent as `EXECUTE name(...)`: planning the same dozen
statements again on every order cost the database more than running them
(measured in `docs/benchmarks.md`, "Order rush"). Prepared statements live in
the database session, so a connection pooler in transaction mode would hand an
`EXECUTE` to a session that never saw the `PREPARE`; behind one, set
`BAOGONG_SQL_PREPARE=0`.
"""

from __future__ import annotations

import functools
import hashlib
import re
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from psycopg import abc, pq
from psycopg.adapt import Transformer

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

Statement = tuple[str, Sequence[Any]]
# Rows for a statement that returns rows, else the number of rows it changed.
Result = list[tuple[Any, ...]] | int


def run(statements: Sequence[Statement]) -> list[Result]:
    """Run `statements` in order on the default connection; one round trip on PostgreSQL.

    Each result is the list of rows for a statement that returns rows (a
    SELECT, or RETURNING), else its row count.
    """
    results: list[Result] = []
    # The wrapper itself, looked up once: every attribute read through `django.db.connection` looks
    # the thread's connection up again (a context-variable lookup each).
    db = connections[DEFAULT_DB_ALIAS]
    with db.cursor() as cursor:
        if db.vendor == "postgresql":
            if settings.SQL_PREPARE:
                statements = _prepared(db, cursor, statements)
            # One simple query, its values written in as literals here (see `literal_sql`).
            cursor.execute(literal_sql(cursor.cursor, statements))  # type: ignore[arg-type]  # psycopg takes bytes
            return results_of(cursor.cursor)
        for sql, params in statements:
            cursor.execute(sql, params)
            results.append(cursor.fetchall() if cursor.description is not None else cursor.rowcount)
    return results


def run_atomically(statements: Sequence[Statement]) -> list[Result]:
    """Run `statements` as one transaction: all of them, or none if any fails.

    On PostgreSQL outside a transaction this is one round trip and nothing else: the server runs
    the statements of one simple query as a single transaction of their own, committed (durably,
    as any COMMIT) when the last one succeeds and rolled back when one fails. That saves the
    BEGIN and COMMIT round trips of `transaction.atomic`. Inside a caller's transaction, and on
    SQLite, the statements run in a savepoint or an IMMEDIATE transaction, with the same outcome.
    """
    # Only in autocommit is the list its own transaction: with autocommit switched off by hand,
    # psycopg would open a transaction that nobody commits.
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor == "postgresql" and not db.in_atomic_block and db.get_autocommit():
        return run(statements)
    with transaction.atomic():
        return run(statements)


# SQLite names the failed constraint only in its message: "CHECK constraint failed: <name>".
_SQLITE_CHECK = re.compile(r"CHECK constraint failed: (\w+)")
_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (\w+)\.")


def violated_constraint(error: BaseException) -> str | None:
    """The name of the CHECK constraint an IntegrityError broke, or `unique:<table>` for a unique one.

    None when it is neither (a foreign key, say) or the database does not say.
    """
    cause = error.__cause__ or error
    diag = getattr(cause, "diag", None)
    if diag is not None:
        if getattr(cause, "sqlstate", None) == "23505":
            return f"unique:{diag.table_name}"
        if getattr(cause, "sqlstate", None) == "23514":
            return str(diag.constraint_name)
        return None
    message = str(cause)
    for pattern, prefix in ((_SQLITE_CHECK, ""), (_SQLITE_UNIQUE, "unique:")):
        found = pattern.search(message)
        if found:
            return prefix + found.group(1)
    return None


# Statements prepared so far, per database session (psycopg connection). A session opened again
# (after a failure or CONN_MAX_AGE) is a new key and starts empty; a dead one drops out.
_PREPARED: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()
# Enough for every statement of the order path with any number of lines several times over; texts
# beyond it (a caller building SQL per request, say) run unprepared rather than fill the session.
PREPARED_PER_SESSION = 256
_PLACEHOLDER = re.compile(r"%(.)", re.DOTALL)


# The hot paths send the same few texts on every request; hashing them each time showed in profiles.
@functools.lru_cache(maxsize=1024)
def prepared_name(sql: str) -> str:
    """A name for `sql` that is the same in every session, so a session's list can be rebuilt."""
    return "baogong_" + hashlib.sha256(sql.encode()).hexdigest()[:24]


def prepare_sql(sql: str) -> str | None:
    """`PREPARE name AS sql` with `%s` placeholders numbered; None if `sql` has other `%` escapes."""
    count = 0

    def number(match: re.Match[str]) -> str:
        nonlocal count
        if match.group(1) == "%":
            return "%"
        if match.group(1) != "s":
            raise ValueError(match.group(0))
        count += 1
        return f"${count}"

    try:
        text = _PLACEHOLDER.sub(number, sql)
    except ValueError:
        return None
    return f"PREPARE {prepared_name(sql)} AS {text}"


@functools.lru_cache(maxsize=1024)
def execute_sql(sql: str, parameter_count: int) -> str:
    """The `EXECUTE` of the prepared form of `sql`, with `%s` for each of its parameters."""
    arguments = f"({', '.join(['%s'] * parameter_count)})" if parameter_count else ""
    return f"EXECUTE {prepared_name(sql)}{arguments}"


# What a session has prepared of ours, read back when its record here is missing.
PREPARED_IN_SESSION = "SELECT name FROM pg_prepared_statements WHERE starts_with(name, 'baogong_')"


def prepared_form(statements: Sequence[Statement], known: set[str]) -> tuple[dict[str, str], list[Statement]]:
    """For a session that has prepared `known`: the PREPAREs still needed (by name), and `statements` as EXECUTEs.

    A statement that cannot be prepared, or is new once the session holds PREPARED_PER_SESSION,
    stays as written.
    """
    converted: list[Statement] = []
    new: dict[str, str] = {}
    for sql, params in statements:
        name = prepared_name(sql)
        if name not in known and name not in new:
            prepare = prepare_sql(sql) if len(known) + len(new) < PREPARED_PER_SESSION else None
            if prepare is None:
                converted.append((sql, params))
                continue
            new[name] = prepare
        converted.append((execute_sql(sql, len(params)), params))
    return new, converted


def _prepared(db: BaseDatabaseWrapper, cursor: Any, statements: Sequence[Statement]) -> list[Statement]:
    """`statements` as EXECUTEs of prepared statements, preparing in one round trip what is new to this session.

    PREPARE is not transactional: a statement prepared inside a transaction that then rolls back
    stays prepared, so what is recorded here stays true. If a PREPARE itself fails the session's
    record is dropped and read back from `pg_prepared_statements` on the next call.
    """
    session = db.connection
    known = _PREPARED.get(session)
    if known is None:
        cursor.execute(PREPARED_IN_SESSION)
        known = {name for (name,) in cursor.fetchall()}
        _PREPARED[session] = known
    new, converted = prepared_form(statements, known)
    if new:
        try:
            cursor.execute(";\n".join(new.values()))
        except Exception:
            _PREPARED.pop(session, None)
            raise
        known.update(new)
    return converted


@functools.lru_cache(maxsize=1024)
def _encoded(text: str, encoding: str) -> bytes:
    return text.encode(encoding)


def literal(value: Any, transformer: abc.Transformer) -> bytes:
    """`value` as an SQL literal, the same bytes psycopg's client-side binding writes."""
    kind = type(value)
    if kind is int:
        # A leading space, as psycopg writes it: "x -%s" with -1 must not become the comment "x --1".
        return b"%d" % value if value >= 0 else b" %d" % value
    if value is None:
        return b"NULL"
    if kind is bool:
        return b"true" if value else b"false"
    return transformer.as_literal(value)


def _transformer(raw_connection: Any) -> abc.Transformer:
    """The connection's own transformer, made once: it keeps the dumper it found for each type.

    A new one for every statement list looked each type up again through the adapters map. It is
    kept on the connection itself, not in a table keyed by it: the transformer refers back to its
    connection, so a table entry would keep every closed connection alive, while an attribute
    makes a cycle the garbage collector frees with the connection.
    """
    transformer: abc.Transformer | None = getattr(raw_connection, "_baogong_transformer", None)
    if transformer is None:
        transformer = Transformer.from_context(raw_connection)
        raw_connection._baogong_transformer = transformer
    return transformer


def literal_sql(raw_cursor: Any, statements: Sequence[Statement]) -> bytes:
    """`statements` as one query text with every `%s` replaced by its value as a literal.

    psycopg's client-side binding does the same, but splits the text on every call once it
    has more than 50 values (its cache stops there) and looks up an adapter for every
    value: about seven times the CPU of this for a text of 100 values (measured in
    `docs/benchmarks.md`, "Order rush"). Integers, None and booleans are written here;
    every other value, text included, goes through psycopg's own adapters and quoting.
    As with psycopg, `%%` stands for `%`.
    """
    transformer = _transformer(raw_cursor.connection)
    text = _encoded(";\n".join(sql for sql, _params in statements), transformer.encoding)
    return text % tuple(literal(value, transformer) for _sql, params in statements for value in params)


def results_of(raw_cursor: Any) -> list[Result]:
    """The result of every statement of the query a psycopg cursor just ran, in order."""
    results: list[Result] = []
    while True:
        # The result's status says whether it has rows; `description` would build a column list
        # for every result to say the same (4 % of a worker's CPU in the order rush).
        has_rows = raw_cursor.pgresult is not None and raw_cursor.pgresult.status == pq.ExecStatus.TUPLES_OK
        results.append(raw_cursor.fetchall() if has_rows else raw_cursor.rowcount)
        if not raw_cursor.nextset():
            return results


def rows(result: Result) -> list[tuple[Any, ...]]:
    if isinstance(result, int):
        raise TypeError("the statement returned no rows")
    return result
