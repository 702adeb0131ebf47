"""Deployment checks that Django's own `check --deploy` does not make.

Durability (reliability plan R9): an order acknowledged to a resident must
survive a crash of the server or the machine. That holds only while SQLite
runs WAL with synchronous=FULL (foreign keys on), and PostgreSQL runs with
fsync, synchronous_commit and full_page_writes on. The SQLite options are
checked from settings on every `check --deploy`; the live values of both
databases are queried when the check is given a database
(`check --deploy --database default`), as Django does for its own database
checks, so the command works without a reachable server.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register
from django.db import connections

SQLITE_REQUIRED_PRAGMAS = {"journal_mode": "wal", "synchronous": "full", "foreign_keys": "on"}
# What PRAGMA returns when queried: journal_mode a name, the others integers.
SQLITE_LIVE_VALUES = {"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1"}
POSTGRES_REQUIRED_SETTINGS = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}

_PRAGMA = re.compile(r"pragma\s+(\w+)\s*=\s*'?(\w+)'?", re.IGNORECASE)


def sqlite_pragmas_configured(options: dict[str, Any]) -> dict[str, str]:
    """The PRAGMA assignments in a SQLite `init_command`, lower-cased."""
    command = str(options.get("init_command", ""))
    return {name.lower(): value.lower() for name, value in _PRAGMA.findall(command)}


def sqlite_pragmas_live(alias: str) -> dict[str, str]:
    with connections[alias].cursor() as cursor:
        values = {}
        for name in SQLITE_LIVE_VALUES:
            cursor.execute(f"PRAGMA {name}")
            values[name] = str(cursor.fetchone()[0]).lower()
    return values


def postgres_settings_live(alias: str) -> dict[str, str]:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT name, setting FROM pg_settings WHERE name = ANY(%s)", [list(POSTGRES_REQUIRED_SETTINGS)])
        return {name: str(value).lower() for name, value in cursor.fetchall()}


def _mismatches(required: dict[str, str], actual: dict[str, str]) -> list[str]:
    return [
        f"{name}={actual.get(name, 'unset')} (needs {value})"
        for name, value in required.items()
        if actual.get(name) != value
    ]


@register(Tags.database, deploy=True)
def durable_database_check(
    app_configs: Sequence[AppConfig] | None = None, databases: Iterable[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    return durable_database_problems(configs=settings.DATABASES, queried=set(databases or []))


def durable_database_problems(*, configs: dict[str, dict[str, Any]], queried: set[str]) -> list[CheckMessage]:
    """Errors for each database not in its durable mode; only aliases in `queried` are connected to."""
    messages: list[CheckMessage] = []
    for alias, config in configs.items():
        engine = str(config.get("ENGINE", ""))
        if engine.endswith("sqlite3"):
            wrong = _mismatches(SQLITE_REQUIRED_PRAGMAS, sqlite_pragmas_configured(config.get("OPTIONS", {})))
            if not wrong and alias in queried:
                wrong = _mismatches(SQLITE_LIVE_VALUES, sqlite_pragmas_live(alias))
            if wrong:
                messages.append(
                    Error(
                        f"SQLite database '{alias}' is not in its durable mode: {', '.join(wrong)}.",
                        hint="Use settings.base.sqlite_options(): PRAGMA journal_mode=WAL; synchronous=FULL; "
                        "foreign_keys=ON.",
                        id="baogong.E001",
                    )
                )
        elif engine.endswith("postgresql") and alias in queried:
            wrong = _mismatches(POSTGRES_REQUIRED_SETTINGS, postgres_settings_live(alias))
            if wrong:
                messages.append(
                    Error(
                        f"PostgreSQL server of database '{alias}' may lose acknowledged writes: {', '.join(wrong)}.",
                        hint="Set fsync, synchronous_commit and full_page_writes to on in postgresql.conf.",
                        id="baogong.E002",
                    )
                )
    return messages
