"""The PostgreSQL connection check: no round trip for a healthy idle connection, a dead one replaced."""

from __future__ import annotations

import time

import psycopg
import pytest
from django.conf import settings
from django.db import connection, connections

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _terminate(pid: int) -> None:
    database = settings.DATABASES["default"]
    with psycopg.connect(
        host=database["HOST"], port=database["PORT"], user=database["USER"], dbname=database["NAME"], autocommit=True
    ) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def test_the_backend_is_ours_with_health_checks_on():
    assert (connection.vendor, type(connections["default"]).__module__, connection.health_check_enabled) == (
        "postgresql",
        "baogong.core.postgresql.base",
        True,
    )


def test_a_healthy_idle_connection_passes_without_a_statement(monkeypatch):
    _backend_pid()
    sent: list[str] = []
    monkeypatch.setattr(connection.connection, "cursor", lambda *a, **k: sent.append("cursor"))
    monkeypatch.setattr(connection.connection, "execute", lambda *a, **k: sent.append("execute"))

    assert (connection.is_usable(), sent) == (True, [])


def test_a_connection_the_server_ended_fails_the_check_and_the_next_query_gets_a_new_one():
    first = _backend_pid()
    _terminate(first)
    deadline = time.monotonic() + 5
    while connection.is_usable() and time.monotonic() < deadline:
        time.sleep(0.01)

    assert connection.is_usable() is False
    connection.health_check_done = False
    connection.close_if_health_check_failed()
    assert connection.connection is None
    assert _backend_pid() != first


def test_a_connection_inside_a_transaction_gets_djangos_round_trip_check():
    from django.db import transaction

    with transaction.atomic():
        _backend_pid()
        sent: list[str] = []
        real_cursor = connection.connection.cursor

        def counting_cursor(*args, **kwargs):
            sent.append("cursor")
            return real_cursor(*args, **kwargs)

        connection.connection.cursor = counting_cursor
        try:
            assert (connection.is_usable(), sent) == (True, ["cursor"])
        finally:
            del connection.connection.cursor


def test_a_connection_whose_socket_cannot_be_asked_is_not_usable(monkeypatch):
    _backend_pid()

    def gone() -> int:
        raise OSError("socket closed")

    monkeypatch.setattr(connection.connection, "fileno", gone)

    assert connection.is_usable() is False
