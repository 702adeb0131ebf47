"""Django's ModelBackend, with the account read that every signed-in request makes written out.

Django loads the signed-in account on every request through the ORM, whose
query building cost the 06:00 rush more CPU than any other single step of the
request (`docs/benchmarks.md`, "Order rush"). Here the row is read by a
hand-written statement (prepared on PostgreSQL, like the session read) and
turned into a `User` with the same database converters the ORM applies.
Passwords, permissions and `user_can_authenticate` stay Django's.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import backends
from django.db import connection

from baogong.core import sql

from .models import User


def _columns() -> list[Any]:
    return list(User._meta.concrete_fields)


def user_read_sql() -> str:
    ops = connection.ops
    names = ", ".join(ops.quote_name(field.column) for field in _columns())
    table = ops.quote_name(User._meta.db_table)
    return f"SELECT {names} FROM {table} WHERE {ops.quote_name(User._meta.pk.column)} = %s"  # noqa: S608 - names are ours


def user_from_row(row: tuple[Any, ...]) -> User:
    """A `User` as the ORM would build it from `row` (SQLite hands back text and integers for dates and flags)."""
    fields = _columns()
    values = []
    for field, value in zip(fields, row, strict=True):
        column = field.get_col(User._meta.db_table)
        for converter in connection.ops.get_db_converters(column) + column.get_db_converters(connection):
            value = converter(value, column, connection)
        values.append(value)
    return User.from_db(connection.alias, [field.attname for field in fields], values)


class ModelBackend(backends.ModelBackend):
    def get_user(self, user_id: Any) -> User | None:
        [found] = sql.run([(user_read_sql(), [User._meta.pk.to_python(user_id)])])
        rows = sql.rows(found)
        if not rows:
            return None
        user = user_from_row(rows[0])
        return user if self.user_can_authenticate(user) else None
