"""Django's ModelBackend, with the read of the signed-in account written out.

Django loads the signed-in account on every request through the ORM, whose
query building cost the 06:00 rush more CPU than any other single step of the
request (`docs/benchmarks.md`, "Order rush"). Here the row usually comes with
the session (`accounts/sessions.py`), and otherwise is read by a hand-written
statement (prepared on PostgreSQL); either way it is turned into a `User` with
the same database converters the ORM applies. Passwords, permissions and
`user_can_authenticate` stay Django's.
"""

from __future__ import annotations

import functools
from typing import Any

from django.contrib.auth import backends
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from baogong.core import sql

from .models import User
from .sessions import take_account_row


@functools.cache
def _columns() -> tuple[Any, ...]:
    """The account's columns as the ORM selects them (built once per process)."""
    return tuple(field.get_col(User._meta.db_table) for field in User._meta.concrete_fields)


@functools.cache
def _attnames() -> list[str]:
    return [column.target.attname for column in _columns()]


@functools.cache
def account_columns_sql() -> str:
    """The account's columns, named with their table, in the order `user_from_row` expects."""
    ops = connection.ops
    table = ops.quote_name(User._meta.db_table)
    return ", ".join(f"{table}.{ops.quote_name(column.target.column)}" for column in _columns())


@functools.cache
def account_pk_index() -> int:
    return _attnames().index(User._meta.pk.attname)


@functools.cache
def user_read_sql() -> str:
    """Built once per process: it runs when the session read did not bring the account."""
    ops = connection.ops
    table = ops.quote_name(User._meta.db_table)
    return f"SELECT {account_columns_sql()} FROM {table} WHERE {ops.quote_name(User._meta.pk.column)} = %s"  # noqa: S608 - names are ours


def _converters(wrapper: BaseDatabaseWrapper) -> list[tuple[int, Any, list[Any]]]:
    """Per column that has any, the database converters the ORM would apply, for this connection.

    They belong to the connection (one per thread), so they are looked up once per connection and
    kept on it; on PostgreSQL almost no column has one, and the account read skips the rest.
    """
    found: list[tuple[int, Any, list[Any]]] | None = getattr(wrapper, "_baogong_account_converters", None)
    if found is None:
        found = []
        for index, column in enumerate(_columns()):
            converters = wrapper.ops.get_db_converters(column) + column.get_db_converters(wrapper)
            if converters:
                found.append((index, column, converters))
        wrapper._baogong_account_converters = found  # type: ignore[attr-defined]
    return found


def user_from_row(row: tuple[Any, ...]) -> User:
    """A `User` as the ORM would build it from `row` (SQLite hands back text and integers for dates and flags)."""
    if len(row) != len(_attnames()):
        raise ValueError(f"an account row has {len(_attnames())} columns, not {len(row)}")
    wrapper = connections[DEFAULT_DB_ALIAS]
    values = list(row)
    for index, column, converters in _converters(wrapper):
        value = values[index]
        for converter in converters:
            value = converter(value, column, wrapper)
        values[index] = value
    return User.from_db(wrapper.alias, _attnames(), values)


class ModelBackend(backends.ModelBackend):
    def get_user(self, user_id: Any) -> User | None:
        pk = User._meta.pk.to_python(user_id)
        row = take_account_row(pk)
        if row is None:
            [found] = sql.run([(user_read_sql(), [pk])])
            rows = sql.rows(found)
            if not rows:
                return None
            row = rows[0]
        user = user_from_row(row)
        return user if self.user_can_authenticate(user) else None
