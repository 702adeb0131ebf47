"""Database sessions, with the read that every signed-in request makes written out.

Django's database backend reads the session row through the ORM, whose query
building cost the 06:00 rush about a third of a millisecond of CPU per request
(`docs/benchmarks.md`, "Order rush"): more than the database spent on it. The
row, its expiry check and everything else are Django's; only this read is
hand-written and, on PostgreSQL, prepared once per database session.
"""

from __future__ import annotations

import functools

from django.contrib.sessions.backends import db
from django.contrib.sessions.base_session import AbstractBaseSession
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone

from baogong.core import sql


@functools.cache
def session_read_sql() -> str:
    """Built once per process: it runs on every signed-in request."""
    table = connection.ops.quote_name(Session._meta.db_table)
    return f"SELECT session_data FROM {table} WHERE session_key = %s AND expire_date > %s"  # noqa: S608 - names are ours


class SessionStore(db.SessionStore):
    def _get_session_from_db(self) -> AbstractBaseSession | None:
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
        return self.model(session_key=key, session_data=data[0][0])
