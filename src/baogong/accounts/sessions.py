"""Database sessions that bring the signed-in account with them: one query per signed-in request.

Django's database backend reads the session row through the ORM, and then its
authentication reads the account in a second query. Here the session row
(`accounts.models.Session`) keeps the account id in a column, and one
hand-written statement (prepared once per database session on PostgreSQL)
reads the session data and the account's row together. The account row waits
in this thread's context until the authentication backend asks for that
account (`accounts/backends.py`), which then needs no query of its own. The
row is the session's own: it is taken once, only for the account id the
session names, replaced by the next session read in the thread, and dropped
when the request ends.

Expiry, saving, cycling keys and everything else stay Django's; only this read
and the account id column are added.
"""

from __future__ import annotations

import contextvars
import functools
from typing import Any

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends import db
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import connection
from django.utils import timezone

from baogong.core import sql

# (account id, its row in the column order of `backends.account_columns_sql`) from this thread's
# session read, until the authentication backend takes it or the request ends.
_account_row: contextvars.ContextVar[tuple[int, tuple[Any, ...]] | None] = contextvars.ContextVar(
    "baogong_session_account_row", default=None
)


@functools.cache
def session_read_sql() -> str:
    """Built once per process: it runs on every signed-in request."""
    from .backends import account_columns_sql
    from .models import Session, User

    ops = connection.ops
    session = ops.quote_name(Session._meta.db_table)
    account = ops.quote_name(User._meta.db_table)
    return (
        f"SELECT {session}.session_data, {account_columns_sql()} FROM {session}"  # noqa: S608 - names are ours
        f" LEFT JOIN {account} ON {account}.{ops.quote_name(User._meta.pk.column)}"
        f" = {session}.{ops.quote_name(Session._meta.get_field('account').column)}"
        f" WHERE {session}.session_key = %s AND {session}.expire_date > %s"
    )


def take_account_row(account_id: int) -> tuple[Any, ...] | None:
    """The row of `account_id` read with this thread's last session, once; None if it was not read there."""
    found = _account_row.get()
    if found is None or found[0] != account_id:
        return None
    _account_row.set(None)
    return found[1]


def forget_account_row(**_kwargs: Any) -> None:
    """Drop a row nobody took (connected to `request_finished`): it must not outlive its request."""
    _account_row.set(None)


def _account_id(data: dict[str, Any]) -> int | None:
    try:
        return int(data[SESSION_KEY])
    except (KeyError, TypeError, ValueError):
        return None


class SessionStore(db.SessionStore):
    @classmethod
    def get_model_class(cls) -> type[AbstractBaseSession]:
        from .models import Session

        return Session

    def create_model_instance(self, data: dict[str, Any]) -> AbstractBaseSession:
        """The row to save, with the signed-in account's id (None when nobody is signed in) in its column."""
        row = super().create_model_instance(data)
        row.account_id = _account_id(data)  # type: ignore[attr-defined]  # the model is accounts.Session
        return row

    async def acreate_model_instance(self, data: dict[str, Any]) -> AbstractBaseSession:
        row = await super().acreate_model_instance(data)
        row.account_id = _account_id(data)  # type: ignore[attr-defined]  # the model is accounts.Session
        return row

    def load(self) -> dict[str, Any]:
        # Django's `load` builds a session model instance only to read its data back, on every
        # signed-in request. (Its ORM read `_get_session_from_db` is then no longer called.)
        session_data = self._session_data_from_db()
        return self.decode(session_data) if session_data is not None else {}

    def _session_data_from_db(self) -> str | None:
        """The session's data, unless it is unknown or expired; its account's row is kept for the backend."""
        # Whatever the previous session read in this thread left is not this session's.
        _account_row.set(None)
        key = self.session_key
        if key is None:
            return None
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        [found] = sql.run([(session_read_sql(), [key, now])])
        data = sql.rows(found)
        if not data:
            # Unknown or expired, as in Django's backend: the next save starts a new session.
            self._session_key = None
            return None
        session_data, *account = data[0]
        from .backends import account_pk_index

        # A session of nobody, or of an account deleted since, joins no row: its primary key is NULL.
        account_id = account[account_pk_index()]
        if account_id is not None:
            _account_row.set((account_id, tuple(account)))
        return str(session_data)
