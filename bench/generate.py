"""Benchmark: scenario generation.

    python bench/generate.py                       # county preset into a fresh SQLite file, plus baseline
    DATABASE_URL=postgres://... python bench/generate.py --city-fraction 0.1 [--reset-postgres]
                                                   # also the city preset streamed into PostgreSQL

SQLite part: migrates a fresh database file in a temporary directory, then
times `scenario_generate(preset="county")` in a child process and reports wall
time, rows per second and peak RSS. The baseline, measured in the same run, is
the floor for the biggest table: the same household rows, produced beforehand,
inserted with plain `sqlite3.executemany` into a table with the same schema and
indexes (foreign keys off, no Django, no generation).

PostgreSQL part (only when DATABASE_URL points to PostgreSQL): streams the city
preset, or its first `--city-fraction` of subdistricts, and reports the
resident memory after 10 %, 50 % and 100 % of them, so flat memory is visible,
plus the time extrapolated to the whole city from the measured household rate.
The database must hold no regions; `--reset-postgres` drops and recreates its
public schema first (destroys everything in that database).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _django(env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "baogong.config.settings.base")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()


def child_generate(preset: str, seed: int, fraction: float) -> None:
    """Runs in a child process with the database already migrated; prints one JSON line."""
    _django({})
    from baogong.scenario.services import scenario_generate

    marks: list[tuple[int, int, float, float, float]] = []
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        marks.append((done, total, time.perf_counter() - started, _rss_mib(), _peak_rss_mib()))

    rss_before = _rss_mib()
    result = scenario_generate(actor=None, preset=preset, seed=seed, subdistrict_fraction=fraction, progress=progress)
    elapsed = time.perf_counter() - started
    rows = sum(n for n, _ in result.table_seconds.values())
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "rows": rows,
                "counts": result.counts,
                "tables": result.table_seconds,
                "rss_before_mib": rss_before,
                "peak_rss_mib": _peak_rss_mib(),
                "marks": marks,
                "digest": result.digest,
            }
        )
    )


def child_household_rows(preset: str, seed: int, path: str) -> None:
    """Produce the preset's household rows (generation only) and pickle them for the baseline."""
    _django({})
    import pickle

    from baogong.scenario.households import HouseholdDraw, Keys, compound_rows
    from baogong.scenario.parameters import preset_get
    from baogong.scenario.plan import scenario_plan

    spec = preset_get(name=preset)
    plan = scenario_plan(spec, seed=seed, first_region_id=1)
    keys = Keys(region=plan.next_region_id, household=1, user=1)
    draw = HouseholdDraw(spec)
    households: list[tuple[object, ...]] = []
    for compound in plan.compounds():
        compound_rows(
            compound, preset=spec, seed=seed, ids=keys, draw=draw, regions=[], households=households, users=[]
        )
    with open(path, "wb") as out:
        pickle.dump(households, out)


def _run(args: list[str], env: dict[str, str]) -> str:
    completed = subprocess.run(
        [sys.executable, *args], env={**os.environ, **env}, cwd=ROOT, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        sys.stderr.write(completed.stdout + completed.stderr)
        raise SystemExit(completed.returncode)
    return completed.stdout


def _migrate(env: dict[str, str]) -> None:
    _run(["manage.py", "migrate", "--no-input", "-v", "0"], env)


def _baseline(db_file: str, rows_file: str, work: Path) -> tuple[float, int]:
    """Plain executemany of the same household rows into a table with the generated schema."""
    import pickle

    with open(rows_file, "rb") as source:
        households = pickle.load(source)  # noqa: S301 - our own file, written a moment ago
    schema = sqlite3.connect(db_file)
    statements = [
        sql
        for (sql,) in schema.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name = 'regions_household' AND sql IS NOT NULL ORDER BY type DESC"
        )
    ]
    columns = [row[1] for row in schema.execute("PRAGMA table_info(regions_household)")]
    schema.close()
    target = sqlite3.connect(work / "baseline.sqlite3", isolation_level=None)
    target.execute("PRAGMA journal_mode=WAL")
    target.execute("PRAGMA synchronous=FULL")
    target.execute("PRAGMA cache_size=-65536")
    for sql in statements:
        target.execute(sql)
    now = "2024-01-01 00:00:00"
    given = ["id", "unit_id", "compound_id", "room", "head_name", "size", "phone", "id_number", "vulnerability_mask",
             "can_order_online", "notes"]  # fmt: skip
    stamps = [c for c in columns if c not in given]
    sql = f"INSERT INTO regions_household ({', '.join(given + stamps)}) VALUES ({', '.join('?' * len(columns))})"  # noqa: S608
    extra = (now,) * len(stamps)
    started = time.perf_counter()
    target.execute("BEGIN")
    target.executemany(sql, (row + extra for row in households))
    target.execute("COMMIT")
    seconds = time.perf_counter() - started
    target.close()
    return seconds, len(households)


def bench_sqlite(seed: int) -> None:
    with tempfile.TemporaryDirectory(prefix="baogong-bench-") as tmp:
        work = Path(tmp)
        db_file = str(work / "county.sqlite3")
        env = {"BAOGONG_SQLITE_PATH": db_file, "BAOGONG_VAR_DIR": tmp, "DATABASE_URL": ""}
        _migrate(env)
        out = json.loads(_run([__file__, "--child", "generate", "--preset", "county", "--seed", str(seed)], env))
        rows_file = str(work / "households.pickle")
        _run([__file__, "--child", "households", "--preset", "county", "--seed", str(seed), "--out", rows_file], env)
        base_seconds, base_rows = _baseline(db_file, rows_file, work)
        size_mib = sum(f.stat().st_size for f in work.glob("county.sqlite3*")) / 2**20

    households, household_seconds = out["tables"]["regions.Household"]
    print("Scenario generation: county preset into a fresh SQLite file")
    print(f"  wall time                 {out['seconds']:8.2f} s  (one transaction, including the catalogue)")
    print(f"  rows written              {out['rows']:>11,}  ({out['rows'] / out['seconds']:,.0f} rows/s)")
    print(f"  households                {households:>11,}  (write {household_seconds:.2f} s incl. digest)")
    print(f"  residents                 {out['counts']['residents']:>11,}")
    print(f"  peak RSS                  {out['peak_rss_mib']:8.1f} MiB (before generation {out['rss_before_mib']:.1f})")
    print(f"  database size             {size_mib:8.1f} MiB")
    print(f"  baseline: raw sqlite3 executemany of the same {base_rows:,} household rows: {base_seconds:.2f} s")
    print(f"  ratio household write / baseline           {household_seconds / base_seconds:6.2f}")
    print(f"  ratio whole generation / household baseline {out['seconds'] / base_seconds:6.2f}")
    for label, (n, seconds) in sorted(out["tables"].items(), key=lambda item: -item[1][1])[:6]:
        print(f"    {label:<28} {n:>10,} rows {seconds:7.2f} s")


def bench_postgres(seed: int, fraction: float, reset: bool) -> None:
    url = os.environ["DATABASE_URL"]
    env = {"DATABASE_URL": url}
    if reset:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")
    _migrate(env)
    out = json.loads(
        _run([__file__, "--child", "generate", "--preset", "city", "--seed", str(seed), "--fraction", str(fraction)],
             env)
    )  # fmt: skip
    marks = out["marks"]
    total = marks[-1][1]
    start_mark = marks[0]
    households = out["counts"]["households"]
    streaming = marks[-1][2] - start_mark[2]
    fixed = out["seconds"] - streaming
    full_households = 10_580_000
    extrapolated = fixed + streaming * full_households / max(households, 1)
    print(f"Scenario generation: city preset streamed into PostgreSQL ({fraction:.0%} of subdistricts)")
    print(f"  wall time                 {out['seconds']:8.1f} s  ({total} of 215 subdistricts filled)")
    print(f"  rows written              {out['rows']:>11,}  ({out['rows'] / out['seconds']:,.0f} rows/s)")
    print(
        f"  households                {households:>11,}  ({households / streaming:,.0f} households/s while streaming)"
    )
    print(f"  fixed part (plan, organisations, stock)   {fixed:8.1f} s")
    print(f"  extrapolated to 10,580,000 households     {extrapolated:8.0f} s ({extrapolated / 60:.1f} min)")
    print(f"  RSS before generation     {out['rss_before_mib']:8.1f} MiB")
    for share in (0.1, 0.5, 1.0):
        done, _, seconds, rss, peak = next(m for m in marks if m[0] >= max(1, round(total * share)))
        print(f"  RSS after {share:4.0%} ({done:3d} subdistricts, {seconds:7.1f} s): {rss:7.1f} MiB (peak {peak:.1f})")
    print(f"  peak RSS                  {out['peak_rss_mib']:8.1f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--city-fraction", type=float, default=1.0, help="share of the city's subdistricts to fill")
    parser.add_argument("--reset-postgres", action="store_true", help="drop and recreate the public schema first")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--child", choices=["generate", "households"], help=argparse.SUPPRESS)
    parser.add_argument("--preset", default="county", help=argparse.SUPPRESS)
    parser.add_argument("--fraction", type=float, default=1.0, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child == "generate":
        child_generate(options.preset, options.seed, options.fraction)
        return
    if options.child == "households":
        child_household_rows(options.preset, options.seed, options.out)
        return
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    if not options.skip_sqlite:
        bench_sqlite(options.seed)
    if os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        bench_postgres(options.seed, options.city_fraction, options.reset_postgres)


if __name__ == "__main__":
    main()
