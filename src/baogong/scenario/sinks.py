"""Where generated rows go: nowhere (digest only), SQLite, or PostgreSQL.

The generator hands over batches of plain tuples with explicit primary keys,
in foreign-key order. Every sink folds each batch into one SHA-256 digest, so
two runs with the same seed can be compared without reading the database
back. Timestamps are digested as offsets from the run's clock and volunteer
account keys are left out (the account table may already hold other users),
so the digest depends on the seed and the parameters only.

SQLite gets `executemany` on the raw connection (no model instances, no
per-row Python in Django); PostgreSQL gets `COPY ... FROM STDIN`, one COPY per
batch, so neither the process nor the server's trigger queue grows with the
number of households.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, models


@dataclass
class Table:
    model: type[models.Model]
    fields: tuple[str, ...]
    # Positions of datetime values inside the generator's rows.
    datetime_positions: tuple[int, ...] = ()
    # Positions left out of the digest.
    digest_skip: tuple[int, ...] = ()
    columns: tuple[str, ...] = ()
    extra: tuple[Any, ...] = ()
    rows: int = 0
    seconds: float = 0.0

    @property
    def db_table(self) -> str:
        return self.model._meta.db_table


@dataclass
class RowSink:
    """Digest-only sink; the database sinks extend it."""

    now: datetime
    tables: dict[str, Table] = field(default_factory=dict)
    _hash: Any = field(default_factory=hashlib.sha256)

    def table(
        self,
        model: type[models.Model],
        fields: tuple[str, ...],
        *,
        datetime_positions: tuple[int, ...] = (),
        digest_skip: tuple[int, ...] = (),
    ) -> Table:
        """Declare a table once; concrete fields the generator does not give get their default."""
        concrete = {f.name: f for f in model._meta.concrete_fields}
        columns = [concrete[name].column for name in fields]
        extra: list[Any] = []
        for name, model_field in concrete.items():
            if name in fields:
                continue
            if getattr(model_field, "auto_now", False) or getattr(model_field, "auto_now_add", False):
                value: Any = self.now
            elif model_field.has_default():
                value = model_field.get_default()
            elif model_field.null:
                value = None
            else:
                raise ValueError(f"{model.__name__}.{name} needs a value from the generator")
            columns.append(model_field.column)
            extra.append(self.adapt(value))
        spec = Table(
            model=model,
            fields=fields,
            datetime_positions=datetime_positions,
            digest_skip=digest_skip,
            columns=tuple(columns),
            extra=tuple(extra),
        )
        self.tables[model._meta.label] = spec
        return spec

    def adapt(self, value: Any) -> Any:
        return value

    def write(self, table: Table, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        started = time.perf_counter()
        self._digest(table, rows)
        self._store(table, rows)
        table.rows += len(rows)
        table.seconds += time.perf_counter() - started

    def _digest(self, table: Table, rows: list[tuple[Any, ...]]) -> None:
        self._hash.update(table.db_table.encode())
        if not table.datetime_positions and not table.digest_skip:
            self._hash.update(repr(rows).encode())
            return
        now = self.now
        skip = set(table.digest_skip)
        dated = set(table.datetime_positions)
        cleaned = [
            tuple(
                ((value - now).total_seconds() if value is not None else None) if i in dated else value
                for i, value in enumerate(row)
                if i not in skip
            )
            for row in rows
        ]
        self._hash.update(repr(cleaned).encode())

    def _store(self, table: Table, rows: list[tuple[Any, ...]]) -> None:
        return None

    def finish(self) -> None:
        return None

    @property
    def digest(self) -> str:
        return str(self._hash.hexdigest())


class SqliteSink(RowSink):
    def adapt(self, value: Any) -> Any:
        if isinstance(value, datetime):
            return connection.ops.adapt_datetimefield_value(value)
        return value

    def _store(self, table: Table, rows: list[tuple[Any, ...]]) -> None:
        # Table and column names come from model metadata, never from input.
        sql = (
            f'INSERT INTO "{table.db_table}" ({", ".join(table.columns)}) '  # noqa: S608
            f"VALUES ({', '.join('?' * len(table.columns))})"
        )
        extra = table.extra
        adapt = self.adapt
        if table.datetime_positions:
            positions = table.datetime_positions
            rows = [tuple(adapt(value) if i in positions else value for i, value in enumerate(row)) for row in rows]
        raw = connection.connection
        assert raw is not None
        if extra:
            raw.executemany(sql, [row + extra for row in rows])
        else:
            raw.executemany(sql, rows)


class PostgresSink(RowSink):
    def _store(self, table: Table, rows: list[tuple[Any, ...]]) -> None:
        raw = connection.connection
        assert raw is not None
        extra = table.extra
        statement = f'COPY "{table.db_table}" ({", ".join(table.columns)}) FROM STDIN'
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            write = copy.write_row
            if extra:
                for row in rows:
                    write(row + extra)
            else:
                for row in rows:
                    write(row)


def sink_for_connection(*, now: datetime) -> RowSink:
    if connection.vendor == "sqlite":
        return SqliteSink(now=now)
    if connection.vendor == "postgresql":
        return PostgresSink(now=now)
    raise NotImplementedError(connection.vendor)
