"""Database-enforced append-only tables.

The application never updates or deletes ledger and audit rows, but "never"
must hold for admin shells, raw SQL and future bugs too, so the database
itself refuses: a trigger on each table raises on UPDATE and DELETE. Migrations
use `AppendOnly(table)`, which emits the right SQL for SQLite or PostgreSQL and
is reversible.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import migrations, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

MESSAGE = "append-only table"

# Every table a migration made append-only. `flush` (the one sanctioned way to
# wipe a database, used between transactional tests) lifts the triggers for
# its own transaction only; a test checks this list against the database.
APPEND_ONLY_TABLES = (
    "core_auditlog",
    "core_personaldataaccess",
    "stock_stockmovement",
    "delivery_passcheck",
    "lastmile_deliveryevent",
)


def _create_sql(vendor: str, table: str) -> list[str]:
    if vendor == "sqlite":
        return [
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}: {table}'); END;",
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}: {table}'); END;",
        ]
    if vendor == "postgresql":
        return [
            "CREATE OR REPLACE FUNCTION baogong_refuse_change() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{MESSAGE}: %', TG_TABLE_NAME USING ERRCODE = 'restrict_violation'; END; "
            "$$ LANGUAGE plpgsql;",
            f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION baogong_refuse_change();",
            # TRUNCATE bypasses row triggers; refuse it too.
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION baogong_refuse_change();",
        ]
    raise NotImplementedError(f"append-only triggers are not written for {vendor}")


def _drop_sql(vendor: str, table: str) -> list[str]:
    if vendor == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {table}_no_update;", f"DROP TRIGGER IF EXISTS {table}_no_delete;"]
    return [
        f"DROP TRIGGER IF EXISTS {table}_no_change ON {table};",
        f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};",
    ]


def AppendOnly(table: str) -> migrations.RunPython:  # noqa: N802 - reads like an operation class
    def forwards(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        # Through a plain cursor with no parameters: the trigger body contains
        # "%", which the schema editor would take for a placeholder.
        with schema_editor.connection.cursor() as cursor:
            for statement in _create_sql(schema_editor.connection.vendor, table):
                cursor.execute(statement)

    def backwards(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        with schema_editor.connection.cursor() as cursor:
            for statement in _drop_sql(schema_editor.connection.vendor, table):
                cursor.execute(statement)

    return migrations.RunPython(forwards, backwards, elidable=False)


@contextmanager
def append_only_suspended(connection: BaseDatabaseWrapper) -> Iterator[None]:
    """Drop the triggers, run the block, put them back, all in one transaction.

    Both databases run DDL transactionally, so if the block fails the triggers
    are back as they were, and no other connection ever sees them missing
    (PostgreSQL holds an exclusive lock on the tables until commit).
    """
    vendor = connection.vendor
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        for table in APPEND_ONLY_TABLES:
            for statement in _drop_sql(vendor, table):
                cursor.execute(statement)
        yield
        for table in APPEND_ONLY_TABLES:
            for statement in _create_sql(vendor, table):
                cursor.execute(statement)
