"""Django's PostgreSQL backend, with a connection check that costs no round trip.

With CONN_HEALTH_CHECKS Django sends `SELECT 1` before the first query of
every request on a reused connection: one more round trip on every request of
the 06:00 rush, for the database about the cost of one of the order's
statements. A connection that the server ends (a restart, a failover,
`pg_terminate_backend`, an idle timeout) is not ended silently: the server
sends an error message and closes the socket, so an idle connection's socket
turns readable. A healthy idle connection has nothing to read, since baogong
uses no LISTEN/NOTIFY. So an idle connection is checked by asking the kernel,
without waiting, whether its socket has anything to read, and one that psycopg
already knows to be closed or broken fails at once.

What this cannot see is a network path that died without a word from the
server; neither does `SELECT 1` until TCP gives up. The first query on such a
connection fails that request, and Django closes the connection at the end of
it. A connection that is not idle (inside a transaction, or after an error)
gets Django's own check.
"""

from __future__ import annotations

import select

import psycopg
from django.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        if connection.info.transaction_status != pq.TransactionStatus.IDLE:
            return bool(super().is_usable())
        poller = select.poll()
        try:
            poller.register(connection.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
            # Anything to read on an idle connection is the server's goodbye (or a notice we do not
            # use): a new connection is cheaper than finding out which.
            return not poller.poll(0)
        except (psycopg.Error, OSError, ValueError):
            # As Django's own check: a connection that cannot even be asked is not usable.
            return False
