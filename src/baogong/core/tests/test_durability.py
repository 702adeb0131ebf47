"""R9 durability configuration: production settings keep both databases in their durable modes."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from baogong.core.checks import durable_database_check, durable_database_problems, sqlite_pragmas_configured

REPO = Path(__file__).resolve().parents[4]

# Run in a fresh interpreter with the production settings module: what a server would really open.
PROBE = """
import json, django
django.setup()
from django.db import connection
from baogong.core import checks
if connection.vendor == "sqlite":
    values = checks.sqlite_pragmas_live("default")
else:
    values = checks.postgres_settings_live("default")
print(json.dumps({"vendor": connection.vendor, "values": values}))
"""


def production_env(tmp_path: Path, database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        DJANGO_SETTINGS_MODULE="baogong.config.settings.production",
        BAOGONG_SECRET_KEY=secrets.token_urlsafe(50),
        BAOGONG_VAR_DIR=str(tmp_path),
        PYTHONPATH=str(REPO / "src"),
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False)


def probe(env: dict[str, str]) -> dict[str, object]:
    result = run([sys.executable, "-c", PROBE], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def current_postgres_url() -> str:
    config = connection.settings_dict
    password = f":{quote(config['PASSWORD'])}" if config.get("PASSWORD") else ""
    return (
        f"postgres://{quote(config['USER'])}{password}@{config.get('HOST') or '127.0.0.1'}:"
        f"{config.get('PORT') or 5432}/{config['NAME']}"
    )


def test_production_sqlite_runs_wal_synchronous_full_with_foreign_keys(tmp_path, record_property):
    assert probe(production_env(tmp_path, None)) == {
        "vendor": "sqlite",
        "values": {"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1"},
    }
    record_property("figure", "SQLite journal_mode=wal synchronous=2 foreign_keys=1")


@pytest.mark.postgres
@pytest.mark.django_db
def test_production_postgresql_runs_fsync_synchronous_commit_and_full_page_writes(tmp_path, record_property):
    env = production_env(tmp_path, current_postgres_url())

    assert probe(env) == {
        "vendor": "postgresql",
        "values": {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"},
    }
    check = run(
        [sys.executable, "manage.py", "check", "--deploy", "--database", "default", "--fail-level", "WARNING"], env
    )
    assert check.returncode == 0, check.stdout + check.stderr
    record_property("figure", "PostgreSQL fsync=on synchronous_commit=on full_page_writes=on")


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_deploy_check_catches_a_postgresql_session_without_synchronous_commit():
    assert durable_database_check(databases=["default"]) == []
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
    try:
        [error] = durable_database_check(databases=["default"])
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO on")

    assert error.id == "baogong.E002"
    assert error.msg == (
        "PostgreSQL server of database 'default' may lose acknowledged writes: synchronous_commit=off (needs on)."
    )


def test_the_deploy_check_catches_sqlite_options_without_synchronous_full():
    weak = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": ":memory:",
        "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;"},
    }
    [error] = durable_database_problems(configs={"default": weak}, queried=set())

    assert error.id == "baogong.E001"
    assert error.msg == (
        "SQLite database 'default' is not in its durable mode: synchronous=normal (needs full), "
        "foreign_keys=unset (needs on)."
    )


def test_the_pragmas_of_the_sqlite_options_are_read_whatever_their_spelling():
    assert sqlite_pragmas_configured(
        {"init_command": "pragma Journal_Mode = 'wal' ; PRAGMA synchronous=FULL;PRAGMA foreign_keys=ON;"}
    ) == {"journal_mode": "wal", "synchronous": "full", "foreign_keys": "on"}
