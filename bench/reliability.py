"""`make reliability`: run the reliability tests of docs/reliability.md and record a summary.

The tests R1-R21 come from the project's reliability plan. The ones that exist
run here: the pytest ones once on SQLite and, when DATABASE_URL points to
PostgreSQL, once more there; R15 runs bandit and pip-audit. Tests that cannot
be written yet are listed as NOT YET, never as PASS. A dependency audit whose
vulnerability service cannot be reached is SKIP with the reason, never PASS.

The summary table is printed and written between the markers in
docs/reliability.md. Exit status 1 when any test failed.

    python bench/reliability.py                        # what `make reliability` runs
    python bench/reliability.py --update-bandit-baseline  # accept today's medium bandit findings
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DOC = REPO / "docs" / "reliability.md"
BANDIT_BASELINE = REPO / "bench" / "bandit-baseline.json"
BEGIN, END = "<!-- reliability-results:begin -->", "<!-- reliability-results:end -->"
# The plan's budget for the whole run; a run over it is reported, not failed (a loaded machine is not
# a broken promise). Tests still running at HANG_SECONDS are stopped and count as failed. A machine three
# times slower than an idle one took 701 s with R8 at 1,500 orders; at 5,000 it needs several minutes more.
BUDGET_SECONDS = 300
HANG_SECONDS = 1800

PASS, FAIL, SKIP, NOT_YET = "PASS", "FAIL", "SKIP", "NOT YET"


@dataclass(frozen=True)
class RTest:
    id: str
    name: str
    # Test modules (paths from the repository root) or single tests ("path::test_name", every
    # parametrisation of it); empty when the test is not written yet.
    modules: tuple[str, ...] = ()
    # Whether it runs on PostgreSQL too. The plan's PostgreSQL leg is the concurrency and crash
    # tests (R5, R6, R8); R2, R7, R9, R14 and R17 join them because they exercise locking,
    # server settings, the API on that backend or code written per backend. The others check
    # behaviour that cannot depend on the database, and leaving them out of the second leg keeps
    # the whole run inside its budget on a 2-core machine.
    database: bool = True
    waiting_for: str = ""


CORE_TESTS = "src/baogong/core/tests"
ORDERS_TESTS = "src/baogong/orders/tests"
STOCK_TESTS = "src/baogong/stock/tests"
REL = "tests/reliability"
R_TESTS = [
    RTest(
        "R1",
        "idem-sequential-retry",
        (
            f"{REL}/test_idempotency.py::test_r1_each_order_sent_three_times_is_stored_once",
            f"{ORDERS_TESTS}/test_api.py::test_place_then_retry_returns_the_same_response",
            f"{ORDERS_TESTS}/test_services.py::test_retry_with_the_same_key_returns_the_first_answer",
        ),
        database=False,
    ),
    RTest(
        "R2",
        "idem-concurrent-duplicate",
        (
            f"{REL}/test_idempotency.py::test_r2_simultaneous_copies_of_one_key_make_one_order",
            f"{ORDERS_TESTS}/test_concurrency.py::test_concurrent_duplicates_with_one_key_make_one_order",
        ),
    ),
    RTest(
        "R3",
        "idem-misuse",
        (
            f"{REL}/test_idempotency.py::test_r3_misuse_is_refused_and_changes_nothing",
            f"{ORDERS_TESTS}/test_api.py::test_same_key_different_body_is_422_and_changes_nothing",
            f"{ORDERS_TESTS}/test_api.py::test_missing_key_is_400_with_a_clear_message",
            f"{ORDERS_TESTS}/test_services.py::test_keys_are_per_account",
            f"{ORDERS_TESTS}/test_services.py::test_missing_or_malformed_key_is_refused",
            f"{ORDERS_TESTS}/test_services.py::test_a_failed_request_stores_no_key_so_it_can_be_retried",
        ),
        database=False,
    ),
    RTest(
        "R4",
        "idem-lost-response",
        (f"{REL}/test_idempotency.py::test_r4_a_response_lost_after_commit_is_recovered_by_the_retry",),
        database=False,
    ),
    RTest(
        "R5",
        "oversell-orm",
        (
            f"{REL}/test_oversell_ledger.py::test_r5_500_buyers_on_100_units_never_oversell",
            f"{ORDERS_TESTS}/test_concurrency.py::test_fifty_simultaneous_attempts_of_one_household_make_one_order",
            f"{ORDERS_TESTS}/test_concurrency.py::test_concurrent_buyers_of_several_lines_do_not_deadlock",
        ),
    ),
    RTest("R6", "oversell-http", (f"{REL}/test_oversell_http.py",)),
    RTest(
        "R7",
        "ledger-invariant",
        (
            f"{REL}/test_oversell_ledger.py::test_r7_ledger_equals_on_hand_after_2000_concurrent_movements",
            f"{STOCK_TESTS}/test_services.py::test_database_refuses_update_and_delete_of_ledger_rows",
            f"{STOCK_TESTS}/test_services.py::test_orm_update_and_delete_of_ledger_rows_are_refused",
            f"{STOCK_TESTS}/test_concurrency.py",
        ),
    ),
    RTest("R8", "crash-kill9", (f"{REL}/test_crash_kill9.py",)),
    RTest("R9", "durability-config", (f"{CORE_TESTS}/test_durability.py",)),
    RTest("R10", "deploy-check + headers", (f"{CORE_TESTS}/test_deploy_baseline.py",), database=False),
    RTest("R11", "login-throttle", (f"{CORE_TESTS}/test_login_throttle.py",), database=False),
    RTest("R12", "idor-matrix", (f"{REL}/test_idor_matrix.py",), database=False),
    # R13 scans the bodies and logs of the R12 run, so both report the same module.
    RTest("R13", "pii-masking (BOPLA)", (f"{REL}/test_idor_matrix.py",), database=False),
    RTest("R14", "api-fuzz (schemathesis)", (f"{REL}/test_api_fuzz.py",)),
    RTest("R15", "sast + deps", database=False),
    RTest("R16", "pii-read-audit", (f"{REL}/test_pii_read_audit.py",), database=False),
    RTest("R17", "retention-purge", (f"{REL}/test_purge.py",)),
    RTest(
        "R18",
        "xlsx-malicious",
        (f"{CORE_TESTS}/test_xlsx_hostile.py", f"{CORE_TESTS}/test_spreadsheets.py"),
        database=False,
    ),
    RTest("R19", "xlsx-roster-data", (f"{REL}/test_roster_reliability.py",), database=False),
    RTest("R20", "export-formula-injection", (f"{CORE_TESTS}/test_exports.py",), database=False),
    RTest(
        "R21",
        "offline-delivery-sync",
        (f"{REL}/test_offline_sync.py", "src/baogong/lastmile/tests/test_concurrency.py"),
    ),
]


@dataclass
class Outcome:
    status: str
    figure: str
    seconds: float = 0.0


@dataclass
class CaseResults:
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    # Summed from junit: with two workers per leg this is test time, not the leg's wall time.
    seconds: float = 0.0
    figures: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def module_of(classname: str) -> str:
    # junit classnames look like "src.baogong.core.tests.test_exports" (+ ".TestClass").
    parts = classname.split(".")
    for index in range(len(parts), 0, -1):
        candidate = "/".join(parts[:index]) + ".py"
        if (REPO / candidate).is_file():
            return candidate
    return classname


def pytest_run(modules: list[str], env: dict[str, str], deadline: float) -> tuple[dict[str, CaseResults], str]:
    """Run the modules in one pytest process; per-module results and figures from its junit report."""
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "junit.xml"
        # worksteal: an idle worker takes tests queued on the busy one, so the two long server
        # tests (crash, HTTP rush) do not end up one after the other on the same worker.
        command = [
            str(BIN / "pytest"),
            "-q",
            "-p",
            "no:cacheprovider",
            "-n",
            "2",
            "--dist",
            "worksteal",
            f"--junitxml={report}",
            *modules,
        ]
        try:
            completed = subprocess.run(
                command,
                cwd=REPO,
                env=env,
                capture_output=True,
                text=True,
                timeout=max(deadline - time.monotonic(), 10),
                check=False,
            )
        except subprocess.TimeoutExpired:
            return {}, "timed out"
        results: dict[str, CaseResults] = collections.defaultdict(CaseResults)
        if not report.exists():
            return {}, (completed.stdout + completed.stderr)[-2000:]
        for case in ET.parse(report).getroot().iter("testcase"):  # noqa: S314 - our own file
            module = module_of(case.get("classname", ""))
            single = f"{module}::{case.get('name', '').split('[')[0]}"
            for result in (results[module], results[single]):
                _record(result, case)
        tail = completed.stdout.strip().splitlines()[-1:] if completed.stdout.strip() else []
        return dict(results), " ".join(tail)


def _record(result: CaseResults, case: ET.Element) -> None:
    problem = case.find("failure")
    if problem is None:
        problem = case.find("error")
    if problem is not None:
        result.failed += 1
        message = " ".join(str(problem.get("message", "")).split())[:200]
        result.failures.append(f"{case.get('name', '?')} ({message})")
    elif case.find("skipped") is not None:
        result.skipped += 1
    else:
        result.passed += 1
    result.seconds += float(case.get("time", 0) or 0)
    result.figures += [p.get("value", "") for p in case.iter("property") if p.get("name") == "figure"]


def pytest_outcome(test: RTest, results: dict[str, CaseResults]) -> Outcome:
    merged = CaseResults()
    for module in test.modules:
        result = results.get(module)
        if result is None:
            return Outcome(FAIL, f"{module}: no result (collection error or timeout)")
        merged.passed += result.passed
        merged.failed += result.failed
        merged.skipped += result.skipped
        merged.seconds += result.seconds
        merged.figures += result.figures
        merged.failures += result.failures
    total = merged.passed + merged.failed + merged.skipped
    if merged.failed:
        return Outcome(FAIL, f"{merged.failed}/{total} tests failed: {'; '.join(merged.failures[:3])}", merged.seconds)
    if not merged.passed:
        return Outcome(SKIP, f"{merged.skipped}/{total} tests skipped", merged.seconds)
    summary = f"{merged.passed}/{total} tests passed" + (f" ({merged.skipped} skipped)" if merged.skipped else "")
    return Outcome(PASS, "; ".join([summary, *sorted(merged.figures)]), merged.seconds)


def bandit_findings(*arguments: str) -> list[dict[str, object]]:
    completed = subprocess.run(
        [str(BIN / "bandit"), "-r", "src", "-q", "-f", "json", *arguments],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return list(json.loads(completed.stdout)["results"])


def finding_key(finding: dict[str, object]) -> tuple[str, ...]:
    # Line numbers move with every edit; bandit's own baseline matching ignores them too.
    return tuple(str(finding[k]) for k in ("filename", "test_id", "issue_severity", "issue_confidence", "issue_text"))


def bandit_outcome(update_baseline: bool) -> Outcome:
    high = bandit_findings("-lll", "-iii")
    medium = bandit_findings("-ll")
    if update_baseline:
        previous = {}
        if BANDIT_BASELINE.exists():
            previous = {
                tuple(e["key"]): e.get("reason", "") for e in json.loads(BANDIT_BASELINE.read_text())["accepted"]
            }
        accepted = [
            {"key": list(finding_key(f)), "reason": previous.get(finding_key(f), "TODO: say why this is safe")}
            for f in sorted(medium, key=finding_key)
        ]
        BANDIT_BASELINE.write_text(json.dumps({"accepted": accepted}, ensure_ascii=False, indent=2) + "\n")
    # An entry counts as accepted only once someone has written why it is safe.
    baseline = collections.Counter(
        tuple(entry["key"])
        for entry in json.loads(BANDIT_BASELINE.read_text(encoding="utf-8"))["accepted"]
        if entry.get("reason") and not str(entry["reason"]).startswith("TODO")
    )
    new = collections.Counter(finding_key(f) for f in medium) - baseline
    figure = f"bandit: {len(high)} high/high; {len(medium)} medium+, {sum(new.values())} new vs baseline"
    if high or new:
        details = [f"{k[0]} {k[1]}" for k in list(new)[:3]] + [f"{f['filename']}:{f['line_number']}" for f in high[:3]]
        return Outcome(FAIL, f"{figure} ({', '.join(details)})")
    return Outcome(PASS, figure)


def pip_audit_outcome() -> Outcome:
    """Audit the locked runtime dependencies; an unreachable vulnerability service is SKIP, never PASS."""
    lock = REPO / "requirements.lock"
    command = [
        str(BIN / "pip-audit"),
        "-r",
        str(lock),
        "--no-deps",
        "--disable-pip",
        "--progress-spinner",
        "off",
        "--timeout",
        "15",
        "-f",
        "json",
    ]
    if not shutil.which(command[0]):
        return Outcome(SKIP, "pip-audit is not installed (make install)")
    try:
        completed = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=90, check=False)
    except subprocess.TimeoutExpired:
        return Outcome(SKIP, "pip-audit: vulnerability service did not answer within 90 s")
    try:
        report = json.loads(completed.stdout)
    except json.JSONDecodeError:
        reason = (completed.stderr.strip().splitlines() or ["no output"])[-1][:160]
        return Outcome(SKIP, f"pip-audit could not reach its vulnerability service: {reason}")
    dependencies = report.get("dependencies", [])
    vulnerable = [d for d in dependencies if d.get("vulns")]
    unaudited = [d for d in dependencies if d.get("skip_reason")]
    if vulnerable:
        names = ", ".join(f"{d['name']} {d['version']} ({', '.join(v['id'] for v in d['vulns'])})" for d in vulnerable)
        return Outcome(FAIL, f"pip-audit: {len(vulnerable)} vulnerable: {names}")
    if unaudited or not dependencies:
        reason = unaudited[0]["skip_reason"] if unaudited else "no dependencies audited"
        return Outcome(
            SKIP,
            f"pip-audit: {len(unaudited)}/{len(dependencies)} dependencies could not be audited "
            f"(vulnerability service unreachable: {reason})",
        )
    return Outcome(PASS, f"pip-audit: 0 known vulnerabilities in {len(dependencies)} locked dependencies")


def static_outcome(update_baseline: bool) -> Outcome:
    started = time.monotonic()
    bandit = bandit_outcome(update_baseline)
    audit = pip_audit_outcome()
    # The worse of the two decides: FAIL > SKIP > PASS. A skipped audit never reads as PASS.
    order = [FAIL, SKIP, PASS]
    status = min((bandit.status, audit.status), key=order.index)
    return Outcome(status, f"{bandit.figure}; {audit.figure}", time.monotonic() - started)


def database_label(url: str | None) -> str:
    return "PostgreSQL" if url and url.startswith(("postgres://", "postgresql://")) else "SQLite"


def table(rows: list[tuple[str, str, str, str, str, str]]) -> str:
    lines = ["| ID | Test | Database | Result | s | Figure |", "|---|---|---|---|---:|---|"]
    lines += [f"| {' | '.join(cell.replace('|', '/') for cell in row)} |" for row in rows]
    return "\n".join(lines)


def document_write(markdown: str) -> None:
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else f"# Reliability\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        text = text.rstrip("\n") + f"\n\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    DOC.write_text(f"{head}{BEGIN}\n{markdown}\n{END}{tail}", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--update-bandit-baseline", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="print the table but leave docs/reliability.md alone")
    options = parser.parse_args()

    started = time.monotonic()
    deadline = started + HANG_SECONDS
    base_env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "PYTEST_ADDOPTS"}}
    legs: list[tuple[str, dict[str, str]]] = [("SQLite", base_env)]
    url = os.environ.get("DATABASE_URL")
    if database_label(url) == "PostgreSQL":
        legs.append(("PostgreSQL", {**base_env, "DATABASE_URL": str(url)}))

    outcomes: dict[tuple[str, str], Outcome] = {}
    # The static checks mostly wait for pip-audit's vulnerability service: run them alongside the tests.
    static: dict[str, Outcome] = {}
    static_thread = threading.Thread(
        target=lambda: static.update(R15=static_outcome(options.update_bandit_baseline)), daemon=True
    )
    static_thread.start()
    lock = threading.Lock()

    def leg(label: str, env: dict[str, str]) -> None:
        tests = [t for t in R_TESTS if t.modules and (label == "SQLite" or t.database)]
        modules = sorted({m for t in tests for m in t.modules})
        leg_started = time.monotonic()
        print(f"[reliability] pytest on {label}: {len(modules)} modules", flush=True)
        results, tail = pytest_run(modules, env, deadline)
        print(f"[reliability]   {label}: {tail} ({time.monotonic() - leg_started:.0f} s)", flush=True)
        with lock:
            for test in tests:
                outcomes[(test.id, label)] = pytest_outcome(test, results)

    # The two legs run at the same time: each spends much of its time waiting (servers starting
    # and being killed, fsync, the other database), so together they take little longer than one.
    threads = [threading.Thread(target=leg, args=(label, env)) for label, env in legs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print("[reliability] bandit and pip-audit", flush=True)
    static_thread.join(timeout=max(deadline - time.monotonic(), 120))
    outcomes[("R15", "-")] = static.get("R15", Outcome(FAIL, "bandit and pip-audit did not finish"))

    rows = []
    for test in R_TESTS:
        if not test.modules and test.id != "R15":
            rows.append((test.id, test.name, "-", NOT_YET, "", f"waits for the {test.waiting_for}"))
            continue
        # SQLite first, then PostgreSQL, whichever leg finished first.
        for label in [*(label for label, _ in legs), "-"]:
            outcome = outcomes.get((test.id, label))
            if outcome is not None:
                rows.append((test.id, test.name, label, outcome.status, f"{outcome.seconds:.0f}", outcome.figure))

    elapsed = time.monotonic() - started
    counts = collections.Counter(row[3] for row in rows)
    budget = "within" if elapsed <= BUDGET_SECONDS else "OVER"
    summary = (
        f"{counts[PASS]} PASS, {counts[FAIL]} FAIL, {counts[SKIP]} SKIP, {counts[NOT_YET]} NOT YET "
        f"on {' and '.join(label for label, _ in legs)} in {elapsed:.0f} s ({budget} the {BUDGET_SECONDS} s budget)"
    )
    markdown = f"{table(rows)}\n\n{summary} (Python {sys.version.split()[0]}, {time.strftime('%Y-%m-%d')})."
    print()
    print(markdown)
    if not options.no_write:
        document_write(markdown)
        print(f"\n[reliability] written to {DOC.relative_to(REPO)}")
    if elapsed > BUDGET_SECONDS:
        print(f"[reliability] OVER the {BUDGET_SECONDS} s budget: {elapsed:.0f} s", file=sys.stderr)
    # Repeated last: a CI log is often read from its end, and the table's failed rows may be far above.
    for row in rows:
        if row[3] == FAIL:
            print(f"[reliability] FAILED {row[0]} {row[1]} on {row[2]}: {row[5]}", file=sys.stderr)
    return 1 if counts[FAIL] else 0


if __name__ == "__main__":
    sys.exit(main())
