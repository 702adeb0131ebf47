"""CPU per request of the application's own code, without a server or a network in between.

    DATABASE_URL=postgres://user@127.0.0.1:5432/baogong .venv/bin/python bench/request_cpu.py
    .venv/bin/python bench/request_cpu.py              # SQLite, in a temporary folder

The order rush (`order_rush.py`) measures the whole machine: gunicorn, the
database and the load client share two cores, and runs of the same code
differ by a fifth from one minute to the next. A change worth a few percent of
a request's CPU drowns in that. This script measures what such a change moves:
the CPU time this process spends per request, through Django's test client
(every middleware, the session, CSRF, django-ninja and the service, but no
gunicorn and no HTTP parsing), against the database of DATABASE_URL.

It builds the crash test's world (`tests/reliability/crash_world.py`) in a
scratch database `<name>_cpu` (recreated, and dropped at the end; never the
database itself), then
times blocks of signed-in `GET /api/me` and of `POST /api/orders` (one new
order per request, each with its own Idempotency-Key) and prints the CPU and
wall time per request of each block. Run it on two commits one after the
other and compare: the fixed reference loop of `plan_time.py`, timed before
and after, says whether the machine's speed changed in between.

On a shared machine even this moves by a fifth from block to block. With
`--instructions` it counts instead: each kind of request runs in a child
process under valgrind's cachegrind (Debian package `valgrind`), once with
`--small` and once with `--large` requests after the same warm-up, and the
difference in instructions executed, divided by the difference in requests,
is the instructions per request. It does not depend on the machine's speed or
load (runs of the same code agreed within 2 % for an order, 5.5 % for a
signed-in read), so it shows changes of several percent. On PostgreSQL the
database's own work, in its own processes, is not counted; on SQLite it runs
in this process and is. About two minutes per kind of request.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
# This checkout's code, whatever the environment has installed: comparing two commits means running
# this script from each.
sys.path.insert(0, str(ROOT / "src"))

from order_rush import recreate_database  # noqa: E402
from plan_time import reference_loop  # noqa: E402

CSRF = "0123456789abcdef0123456789abcdef"  # 32 characters: an unmasked CSRF secret
HOUSEHOLDS = 1000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--blocks", type=int, default=5, help="timed blocks of each kind of request")
    parser.add_argument("--per-block", type=int, default=800, help="requests per block")
    parser.add_argument("--instructions", action="store_true", help="count instructions under cachegrind instead")
    parser.add_argument("--small", type=int, default=100, help="with --instructions: requests of the smaller run")
    parser.add_argument("--large", type=int, default=1100, help="with --instructions: requests of the larger run")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "COUNT"), help=argparse.SUPPRESS)
    return parser.parse_args()


def scratch_env(var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "BAOGONG_SQLITE_PATH"}}
    (var_dir / "static").mkdir(parents=True, exist_ok=True)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "baogong.config.settings.base",
            "BAOGONG_VAR_DIR": str(var_dir),
            "BAOGONG_DEBUG": "0",
            "BAOGONG_ALLOWED_HOSTS": "testserver",
            "BAOGONG_LOG_LEVEL": "WARNING",
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT / "tests" / "reliability")]),
        }
    )
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        parts = urlsplit(url)
        name = (parts.path.lstrip("/") or "baogong") + "_cpu"
        recreate_database(urlunsplit(parts._replace(path="/postgres")), name)
        env["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))
    else:
        env["BAOGONG_SQLITE_PATH"] = str(var_dir / "cpu.sqlite3")
    return env


def build_world(env: dict[str, str], lines: int) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "reliability" / "crash_world.py"), str(HOUSEHOLDS), str(lines)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(completed.stderr[-3000:])
    return dict(json.loads(completed.stdout))


class Requests:
    """Signed-in requests through Django's test client against a built world, each order on a fresh line."""

    def __init__(self, world: dict[str, Any]) -> None:
        from django.test import Client

        self.world = world
        self.client = Client(enforce_csrf_checks=True)
        self.attempts = iter([(s, line) for line in world["offer_line_ids"] for s in world["sessions"]])
        self.sessions = world["sessions"]
        self.count = 0

    def me(self) -> None:
        self.client.cookies["sessionid"] = self.sessions[self.count % len(self.sessions)]
        self.count += 1
        answer = self.client.get("/api/me")
        assert answer.status_code == 200, answer.content[:300]

    def order(self) -> None:
        session, line = next(self.attempts)
        self.client.cookies["sessionid"] = session
        self.client.cookies["csrftoken"] = CSRF
        answer = self.client.post(
            "/api/orders",
            data=json.dumps(
                {"delivery_date": self.world["delivery_date"], "lines": [{"offer_line_id": line, "quantity": 1}]}
            ),
            content_type="application/json",
            headers={"X-CSRFToken": CSRF, "Idempotency-Key": str(uuid.uuid4()), "Referer": "http://testserver/"},
        )
        assert answer.status_code == 201, answer.content[:300]


KINDS = {"me": ("GET /api/me", Requests.me), "order": ("POST /api/orders", Requests.order)}
WARM_UP = 50
_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def in_scratch_world(orders: int, work: Callable[[Requests], None]) -> None:
    """Build the world for `orders` orders in a scratch database, set Django up on it, run `work`, drop it."""
    # Orders needed, one per (household, line).
    lines = -(-orders // HOUSEHOLDS)
    with tempfile.TemporaryDirectory(prefix="baogong-cpu-") as folder:
        env = scratch_env(Path(folder))
        world = build_world(env, lines)
        os.environ.update(env)
        from django.db import connection

        # Set up as the server's workers are (`baogong.config.wsgi`: the URLconf loaded, the start-up
        # objects frozen out of the garbage collector's way).
        import baogong.config.wsgi  # noqa: F401

        try:
            work(Requests(world))
        finally:
            if connection.vendor == "postgresql":
                scratch = connection.settings_dict["NAME"]
                connection.close()
                drop_database(os.environ["DATABASE_URL"], scratch)


def child(kind: str, count: int) -> None:
    """Under cachegrind: the same warm-up, then `count` requests of `kind`."""
    request = KINDS[kind][1]

    def work(requests: Requests) -> None:
        for _ in range(WARM_UP + count):
            request(requests)

    in_scratch_world(WARM_UP + count, work)


def instructions(options: argparse.Namespace) -> None:
    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (Debian: apt-get install valgrind)")
    if not 0 < options.small < options.large:
        raise SystemExit("--small must be above 0 and below --large")
    print(f"instructions per request (cachegrind; {options.small} and {options.large} requests after {WARM_UP})")
    for kind, (label, _request) in KINDS.items():
        counts = []
        for count in (options.small, options.large):
            completed = subprocess.run(
                [
                    "valgrind",
                    "--tool=cachegrind",
                    "--cache-sim=no",
                    "--cachegrind-out-file=/dev/null",
                    sys.executable,
                    str(Path(__file__).resolve()),
                    "--child",
                    kind,
                    str(count),
                ],
                # A fixed hash seed and the system allocator: the same code then runs the same instructions.
                env={**os.environ, "PYTHONHASHSEED": "0", "PYTHONMALLOC": "malloc"},
                capture_output=True,
                text=True,
                check=False,
            )
            found = _REFS.findall(completed.stderr)
            if completed.returncode != 0 or not found:
                raise SystemExit(completed.stderr[-3000:])
            counts.append(int(found[-1].replace(",", "")))
        per_request = (counts[1] - counts[0]) / (options.large - options.small)
        print(f"{label}: {per_request / 1e6:.3f} million instructions per request (runs: {counts[0]:,} {counts[1]:,})")


def main() -> None:
    options = parse_args()
    if options.child:
        child(options.child[0], int(options.child[1]))
        return
    if options.instructions:
        instructions(options)
        return
    in_scratch_world(options.per_block * (options.blocks + 1), lambda requests: timed(options, requests))


def timed(options: argparse.Namespace, requests: Requests) -> None:
    from django.db import connection

    print(f"database: {connection.vendor}  households: {HOUSEHOLDS}  blocks: {options.blocks} x {options.per_block}")
    before = reference_loop()
    print(f"reference loop (as in plan_time.py) before: {before:.3f} s")
    medians = {}
    for label, request in KINDS.values():
        figures = []
        for block in range(options.blocks + 1):
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(options.per_block):
                request(requests)
            if block > 0:  # the first block warms caches and prepared statements up
                per = 1000 / options.per_block
                figures.append(((time.process_time() - cpu) * per, (time.perf_counter() - wall) * per))
        medians[label] = statistics.median(c for c, _ in figures)
        print(
            f"{label}: CPU ms per request {' '.join(f'{c:.3f}' for c, _ in figures)}"
            f"  (median {medians[label]:.3f}); wall ms {' '.join(f'{w:.3f}' for _, w in figures)}"
        )
    after = reference_loop()
    print(f"reference loop (as in plan_time.py) after: {after:.3f} s")
    # The baseline of this run: the same fixed loop, so figures from machines of different speed compare.
    loop_ms = (before + after) / 2 * 1000
    for label, median in medians.items():
        print(f"{label}: median CPU per request / reference loop: {median / loop_ms:.5f}")


def drop_database(url: str, name: str) -> None:
    import psycopg

    maintenance = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
