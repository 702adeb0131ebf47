"""The `baogong` console command, run as a user would run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BAOGONG = [sys.executable, "-m", "baogong.cli"]


def run(*args: str, var_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}}
    env["BAOGONG_VAR_DIR"] = str(var_dir)
    return subprocess.run([*BAOGONG, *args], capture_output=True, text=True, env=env, timeout=300, check=False)


def test_help_lists_the_commands(tmp_path):
    result = run("--help", var_dir=tmp_path)
    assert result.returncode == 0
    for command in (
        "demo",
        "serve",
        "worker",
        "generate",
        "import",
        "check-ledger",
        "plan",
        "purge-personal-data",
        "manage",
    ):
        assert command in result.stdout


@pytest.mark.slow
def test_migrate_then_check_ledger_on_a_fresh_embedded_database(tmp_path):
    migrated = run("manage", "migrate", "--no-input", "-v", "0", var_dir=tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    assert (tmp_path / "baogong.sqlite3").exists()
    checked = run("check-ledger", var_dir=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.strip() == "OK: 0 balances agree with 0 ledger rows"


def test_unknown_preset_is_refused(tmp_path):
    result = run("generate", "--preset", "planet", var_dir=tmp_path)
    assert result.returncode == 2
    assert "invalid choice: 'planet'" in result.stderr
