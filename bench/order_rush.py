"""The 06:00 order rush against the real server on PostgreSQL.

    DATABASE_URL=postgres://user@127.0.0.1:5432/baogong .venv/bin/python bench/order_rush.py

What it does, in one run:

1. Recreates a scratch database `<name>_rush` on the server of DATABASE_URL
   (never the database itself), migrates it, and loads its own fixtures: one
   compound per 250 households, every compound paired with one supermarket,
   a vegetable package and a rice item on offer for tomorrow with 90 % of
   the demand, the ordering window open all of today, and one signed-in
   session per resident.
2. Starts gunicorn (gthread) on a loopback port and drives the rush: every
   resident places one order (package + rice) at once from `--clients`
   keep-alive connections; 10 % of them resend the same request with the
   same Idempotency-Key, as a phone does after a lost response.
3. Checks the database afterwards: oversold units (reserved > quantity, or
   order lines not matching reservations) and lost acknowledged orders (a
   2xx order id that is not in the database) must both be 0; a retry must
   return the same order id.
4. Measures the raw database ceiling: the same statements in the same round
   trips as an order request (the session read with its account, the batch
   of reads, the batch of writes that is its own transaction), run directly
   with psycopg from as many threads as gunicorn has, for a second set of
   households.

Everything is bounded: at most `--households` orders and `--max-seconds` of
load. Prints orders/s, p50/p95/p99 latency, the checks, the ceiling and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

# The fixed loop of the planning benchmark: how fast a core of this machine is, so that runs on
# different machines can be compared (the rush is CPU-bound on two cores).
from plan_time import reference_loop  # noqa: E402

PYTHON = sys.executable
HOUSEHOLDS_PER_COMPOUND = 250
SUPPLY_SHARE = 0.9
RETRY_SHARE = 0.1
# Residents sign in through sessions made by the fixtures, never with a password.
UNUSABLE = "!"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=3000, help="residents who order (one order each)")
    parser.add_argument("--clients", type=int, default=48, help="concurrent client connections")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (one per core)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="stop sending after this long")
    parser.add_argument("--port", type=int, default=0, help="loopback port (default: a free one)")
    return parser.parse_args()


def rush_database_url() -> tuple[str, str, str]:
    """(scratch database URL, maintenance URL, scratch name) derived from DATABASE_URL."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL to a PostgreSQL server (postgres://user@host:port/name).")
    parts = urlsplit(url)
    name = (parts.path.lstrip("/") or "baogong") + "_rush"
    scratch = urlunsplit(parts._replace(path=f"/{name}"))
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    return scratch, maintenance, name


def recreate_database(maintenance_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(maintenance_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def server_env(database_url: str, var_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": database_url,
            "DJANGO_SETTINGS_MODULE": "baogong.config.settings.base",
            "BAOGONG_VAR_DIR": str(var_dir),
            "BAOGONG_LOG_LEVEL": "WARNING",
            "BAOGONG_DEBUG": "0",
            "BAOGONG_ALLOWED_HOSTS": "127.0.0.1,localhost",
            # The database's CPU is read from the backends alive at the rush's start and end: a
            # connection closed in between at the 60 s default age takes its CPU with it (a slow
            # run of over a minute printed a tenth of the real figure).
            "BAOGONG_CONN_MAX_AGE": "3600",
            "PYTHONPATH": str(ROOT / "src"),
        }
    )
    return env


# --- fixtures (in this process, through Django) ---------------------------------------------------


@dataclass
class Fixtures:
    delivery_date: str
    veg_offer: int
    rice_offer: int
    raw_offer: int
    raw_rice_offer: int
    app_residents: list[tuple[int, int, str]]  # (user id, household id, session key)
    raw_residents: list[tuple[int, int, str]]  # (user id, household id, session key)
    raw_compound: int
    raw_building: int
    raw_unit: int
    supermarket: int


def load_fixtures(households: int) -> Fixtures:
    import django

    django.setup()
    from datetime import time as clock
    from datetime import timedelta
    from decimal import Decimal

    from django.utils import timezone

    from baogong.accounts.models import Role, Session, User
    from baogong.accounts.tests.factories import signed_in_session
    from baogong.catalog.models import Commodity, Kit, KitKind, KitLine
    from baogong.enterprises.models import CompoundPairing, EnterpriseType, Organisation, OrganisationKind
    from baogong.orders.models import OfferKind, OfferLine, OrderWindow
    from baogong.regions.models import Household, RegionLevel
    from baogong.regions.services import region_create

    tomorrow = timezone.localdate() + timedelta(days=1)
    county = region_create(actor=None, parent=None, level=RegionLevel.COUNTY, code="RUSH", name="Rush county")
    subdistrict = region_create(actor=None, parent=county, level=RegionLevel.SUBDISTRICT, code="RUSH-S", name="S")
    community = region_create(actor=None, parent=subdistrict, level=RegionLevel.COMMUNITY, code="RUSH-C", name="C")
    # Open all of today for tomorrow's delivery, whatever time the bench runs.
    OrderWindow.objects.create(
        region=county, opens_days_before=1, opens_at=clock(0, 0), closes_days_before=0, closes_at=clock(0, 0)
    )
    market = Organisation.objects.create(
        kind=OrganisationKind.ENTERPRISE,
        enterprise_type=EnterpriseType.SUPERMARKET,
        code="RUSH-MART",
        name="Rush mart",
        region=county,
    )
    cabbage = Commodity.objects.create(
        code="R-CABBAGE",
        name_zh="大白菜",
        name_en="Cabbage",
        category="leafy_vegetables",
        unit="kg",
        weight_kg=Decimal("1"),
        volume_l=Decimal("2"),
    )
    rice = Commodity.objects.create(
        code="R-RICE",
        name_zh="大米",
        name_en="Rice",
        category="rice",
        unit="bag 10 kg",
        weight_kg=Decimal("10"),
        volume_l=Decimal("12"),
    )
    package = Kit.objects.create(code="R-VEG", kind=KitKind.VEGETABLE_PACKAGE, name_zh="蔬菜包", name_en="Vegetables")
    KitLine.objects.create(kit=package, commodity=cabbage, quantity=5)
    supply = int(households * SUPPLY_SHARE)
    veg = OfferLine.objects.create(
        supermarket=market,
        delivery_date=tomorrow,
        kind=OfferKind.PACKAGE,
        kit=package,
        price=Decimal("38.00"),
        quantity=supply,
        household_cap=1,
        weight_kg=Decimal("5"),
    )
    # Half the residents want one bag of rice, half two: 1.5 per order on average.
    rice_line = OfferLine.objects.create(
        supermarket=market,
        delivery_date=tomorrow,
        kind=OfferKind.ITEM,
        commodity=rice,
        price=Decimal("55.50"),
        quantity=int(supply * 1.5),
        household_cap=2,
    )
    raw_goods = Commodity.objects.create(
        code="R-RAW",
        name_zh="面粉",
        name_en="Flour",
        category="flour",
        unit="bag",
        weight_kg=Decimal("5"),
        volume_l=Decimal("6"),
    )
    raw_line = OfferLine.objects.create(
        supermarket=market,
        delivery_date=tomorrow,
        kind=OfferKind.ITEM,
        commodity=raw_goods,
        price=Decimal("20.00"),
        # The raw ceiling must never sell out: it measures completed orders only.
        quantity=households,
        household_cap=1,
    )
    raw_rice = OfferLine.objects.create(
        supermarket=market,
        delivery_date=tomorrow,
        kind=OfferKind.ITEM,
        commodity=Commodity.objects.create(
            code="R-RAW-RICE",
            name_zh="米",
            name_en="Rice (raw)",
            category="rice",
            unit="bag 10 kg",
            weight_kg=Decimal("10"),
            volume_l=Decimal("12"),
        ),
        price=Decimal("55.50"),
        quantity=households * 2,
        household_cap=2,
    )

    def residents(prefix: str, count: int) -> tuple[list[tuple[int, int]], list[int]]:
        made: list[tuple[int, int]] = []
        last: list[int] = []
        for start in range(0, count, HOUSEHOLDS_PER_COMPOUND):
            number = start // HOUSEHOLDS_PER_COMPOUND
            compound = region_create(
                actor=None,
                parent=community,
                level=RegionLevel.COMPOUND,
                code=f"{prefix}-{number}",
                name=f"{prefix} 小区 {number}",
            )
            building = region_create(
                actor=None, parent=compound, level=RegionLevel.BUILDING, code=f"{prefix}-{number}-B", name="1号楼"
            )
            unit = region_create(
                actor=None, parent=building, level=RegionLevel.UNIT, code=f"{prefix}-{number}-U", name="1单元"
            )
            CompoundPairing.objects.create(compound=compound, supermarket=market)
            batch = Household.objects.bulk_create(
                Household(
                    unit=unit,
                    compound=compound,
                    room=str(1000 + i),
                    head_name="住户",
                    size=2,
                    phone=f"139{number:04d}{i:04d}",
                )
                for i in range(min(HOUSEHOLDS_PER_COMPOUND, count - start))
            )
            accounts = User.objects.bulk_create(
                User(username=f"{prefix}-{h.pk}", role=Role.RESIDENT, household=h, password=UNUSABLE) for h in batch
            )
            made.extend((account.pk, h.pk) for account, h in zip(accounts, batch, strict=True))
            last = [compound.pk, building.pk, unit.pk]
        return made, last

    app, _ = residents("APP", households)
    raw, raw_regions = residents("RAW", households)
    users = {user.pk: user for user in User.objects.filter(pk__in=[u for u, _ in app + raw])}
    expiry = timezone.now() + timedelta(hours=2)
    sessions = []

    def signed_in(pairs: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
        made = []
        for user_id, household_id in pairs:
            session = signed_in_session(users[user_id], expires_at=expiry)
            sessions.append(session)
            made.append((user_id, household_id, session.session_key))
        return made

    app_residents = signed_in(app)
    raw_residents = signed_in(raw)
    Session.objects.bulk_create(sessions, batch_size=1000)
    return Fixtures(
        delivery_date=tomorrow.isoformat(),
        veg_offer=veg.pk,
        rice_offer=rice_line.pk,
        raw_offer=raw_line.pk,
        raw_rice_offer=raw_rice.pk,
        app_residents=app_residents,
        raw_residents=raw_residents,
        raw_compound=raw_regions[0],
        raw_building=raw_regions[1],
        raw_unit=raw_regions[2],
        supermarket=market.pk,
    )


# --- the rush over HTTP ---------------------------------------------------------------------------


@dataclass
class Outcome:
    status: int
    seconds: float
    order_id: int | None
    retry_order_id: int | None = None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/openapi.json")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not come up")


def drive(port: int, fixtures: Fixtures, clients: int, max_seconds: float) -> tuple[list[Outcome], float]:
    """Every resident's order from `clients` keep-alive connections, all in one thread.

    The load client shares the two cores with the server it measures, so it is kept lean: one
    asyncio loop instead of a thread per connection, and HTTP/1.1 written and read directly
    instead of through `http.client`, since the server's answers always carry a
    Content-Length (together a third less CPU per request than 48 threads with `http.client`).
    Latency runs from the first byte sent to the last byte of the answer read, as before.
    """
    return asyncio.run(_drive(port, fixtures, clients, max_seconds))


# What a request over a dropped, refused or stalled connection, or a garbled answer, raises.
FAILURES = (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError)


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, dict[str, Any]]:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    payload = await reader.readexactly(length) if length else b""
    return status, json.loads(payload) if payload else {}


async def _drive(port: int, fixtures: Fixtures, clients: int, max_seconds: float) -> tuple[list[Outcome], float]:
    csrf = secrets.token_hex(16)  # 32 characters: accepted as an unmasked CSRF secret
    work = list(enumerate(fixtures.app_residents))
    outcomes: list[Outcome] = []
    connections = [await asyncio.open_connection("127.0.0.1", port) for _ in range(clients)]
    stop_at = time.monotonic() + max_seconds

    def request(session: str, key: str, body: bytes) -> bytes:
        return (
            f"POST /api/orders HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nCookie: sessionid={session}; csrftoken={csrf}\r\n"
            f"X-CSRFToken: {csrf}\r\nIdempotency-Key: {key}\r\nReferer: http://127.0.0.1:{port}/\r\n\r\n"
        ).encode() + body

    async def reconnect(writer: asyncio.StreamWriter) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        writer.close()
        return await asyncio.open_connection("127.0.0.1", port)

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while work and time.monotonic() <= stop_at:
            index, (_user_id, _household_id, session) = work.pop()
            body = json.dumps(
                {
                    "delivery_date": fixtures.delivery_date,
                    "lines": [
                        {"offer_line_id": fixtures.veg_offer, "quantity": 1},
                        {"offer_line_id": fixtures.rice_offer, "quantity": 1 + index % 2},
                    ],
                }
            ).encode()
            sent = request(session, str(uuid.uuid4()), body)
            started = time.perf_counter()
            try:
                status, data = await asyncio.wait_for(_exchange(reader, writer, sent), timeout=30)
            except FAILURES:
                reader, writer = await reconnect(writer)
                status, data = 599, {}
            outcome = Outcome(status=status, seconds=time.perf_counter() - started, order_id=data.get("id"))
            if index % int(1 / RETRY_SHARE) == 0 and status == 201:
                # The same request again, key and all, as a phone does after a lost answer. A retry
                # that fails itself counts as no retry.
                try:
                    _retry_status, again = await asyncio.wait_for(_exchange(reader, writer, sent), timeout=30)
                    outcome.retry_order_id = again.get("id")
                except FAILURES:
                    reader, writer = await reconnect(writer)
            outcomes.append(outcome)
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(reader, writer) for reader, writer in connections))
    return outcomes, time.perf_counter() - started


# --- checks and the raw ceiling -------------------------------------------------------------------


def check(database_url: str, fixtures: Fixtures, outcomes: list[Outcome]) -> dict[str, int]:
    import psycopg

    acked = {o.order_id for o in outcomes if 200 <= o.status < 300 and o.order_id is not None}
    with psycopg.connect(database_url) as conn:
        stored = {row[0] for row in conn.execute("SELECT id FROM orders_order")}
        oversold = conn.execute(
            "SELECT COALESCE(SUM(GREATEST(reserved - quantity, 0)), 0) FROM orders_offerline"
        ).fetchone()[0]
        mismatched = conn.execute(
            "SELECT COUNT(*) FROM orders_offerline o WHERE o.reserved <> COALESCE("
            "(SELECT SUM(l.quantity) FROM orders_orderline l JOIN orders_order r ON r.id = l.order_id "
            "WHERE l.offer_line_id = o.id AND r.status <> 'cancelled'), 0) AND o.id IN (%s, %s)",
            (fixtures.veg_offer, fixtures.rice_offer),
        ).fetchone()[0]
        over_cap = conn.execute(
            "SELECT COUNT(*) FROM (SELECT household_id FROM orders_order GROUP BY household_id HAVING COUNT(*) > 1) x"
        ).fetchone()[0]
        sold = dict(conn.execute("SELECT id, reserved FROM orders_offerline").fetchall())
    retries = [o for o in outcomes if o.retry_order_id is not None]
    return {
        "acked": len(acked),
        "stored": len(stored),
        "lost_acknowledged": len(acked - stored),
        "oversold_units": int(oversold),
        "reservation_mismatches": int(mismatched),
        "households_with_two_orders": int(over_cap),
        "retries": len(retries),
        "retries_with_a_different_order": sum(1 for o in retries if o.retry_order_id != o.order_id),
        "veg_sold": int(sold[fixtures.veg_offer]),
        "rice_sold": int(sold[fixtures.rice_offer]),
    }


def raw_ceiling(database_url: str, fixtures: Fixtures, threads: int) -> tuple[int, float, list[float]]:
    """One order request's statements straight through psycopg: what the database alone can do.

    The order statements are the application's own (`baogong.orders.statements`), sent in the same
    round trips: the session read with its account (the connection check takes none), one batch of
    reads (with the window and zone rules and the new order's id), then one batch of every write,
    which the server runs as a transaction of its own. Values are written into the text as `run`
    writes them, two lines per order like the rush.
    """
    from decimal import Decimal

    import psycopg
    from django.utils import timezone

    from baogong.accounts.sessions import session_read_sql
    from baogong.core import sql as runner
    from baogong.orders import statements as st

    PRICE, RICE_PRICE = Decimal("20.00"), Decimal("55.50")  # noqa: N806 - constants of this run

    work = list(fixtures.raw_residents)
    lock = threading.Lock()
    latencies: list[float] = []
    barrier = threading.Barrier(threads + 1)
    offers = [fixtures.raw_offer, fixtures.raw_rice_offer]
    day = fixtures.delivery_date

    def batch(cur: psycopg.ClientCursor, statements: list[tuple[str, list]], prepared: set[str]) -> list:
        # Prepared once per connection and then executed by name, as `baogong.core.sql.run` does.
        new, statements = runner.prepared_form(statements, prepared)
        if new:
            cur.execute(";\n".join(new.values()))
            prepared.update(new)
        cur.execute(runner.literal_sql(cur, statements))
        return runner.results_of(cur)

    def one(
        conn: psycopg.Connection, user_id: int, household_id: int, session: str, rice: int, prepared: set[str]
    ) -> None:
        key = str(uuid.uuid4())
        now = timezone.now()
        cur = conn.cursor()
        # The session comes with its account's row, as in the app.
        batch(cur, [(session_read_sql(), [session, now])], prepared)
        [*_, [(order_id,)]] = batch(
            cur,
            [
                (st.offers_select(2), offers),
                (st.KEY_LOOKUP, [user_id, key]),
                (st.HOUSEHOLD_FOR_ORDERING, [household_id]),
                (st.WINDOW_RULES_OF_HOUSEHOLD, [household_id]),
                (st.ZONE_STATUSES_OF_HOUSEHOLD, [household_id, now, now]),
                (st.ORDER_ID_NEXT, []),
            ],
            prepared,
        )
        total = PRICE + RICE_PRICE * rice
        body = json.dumps({"id": order_id, "status": "placed", "lines": [[offers[0], 1], [offers[1], rice]]})
        # One simple query on a connection in autocommit: a transaction of its own, as in the app. A
        # refused write (supply or caps run out) raises and stops the run.
        batch(
            cur,
            [
                (
                    st.ORDER_INSERT_WITH_ID,
                    [
                        order_id,
                        household_id,
                        fixtures.raw_compound,
                        fixtures.raw_building,
                        fixtures.raw_unit,
                        fixtures.supermarket,
                        day,
                        "online",
                        user_id,
                        False,
                        "",
                        "placed",
                        "door",
                        "",
                        "online",
                        "paid",
                        total,
                        total,
                        False,
                        "",
                        now,
                        now,
                    ],
                ),
                (st.KEY_STORE, [user_id, key, "f" * 64, 201, body, order_id, now]),
                (
                    st.order_lines_insert(2),
                    [
                        *(order_id, offers[0], "item", None, None, 1, PRICE, PRICE),
                        *(order_id, offers[1], "item", None, None, rice, RICE_PRICE, RICE_PRICE * rice),
                    ],
                ),
                (st.EVENT_INSERT, [order_id, "", "placed", user_id, "online", now]),
                (
                    st.PAYMENT_INSERT,
                    [order_id, "charge", "online", total, "simulated", f"SIM-{key[:16]}", user_id, now],
                ),
                (st.AUDIT_INSERT, [now, user_id, "order.place", "order", str(order_id), body, ""]),
                (st.QUOTA_TAKE, [household_id, day, f"offer:{offers[0]}", 1, 1]),
                (st.QUOTA_TAKE, [household_id, day, f"offer:{offers[1]}", rice, 2]),
                (st.RESERVE, [1, offers[0]]),
                (st.RESERVE, [rice, offers[1]]),
            ],
            prepared,
        )

    def worker() -> None:
        with psycopg.connect(database_url, autocommit=True, cursor_factory=psycopg.ClientCursor) as conn:
            prepared: set[str] = set()
            barrier.wait()
            while True:
                with lock:
                    if not work:
                        return
                    index = len(work)
                    user_id, household_id, session = work.pop()
                started = time.perf_counter()
                one(conn, user_id, household_id, session, 1 + index % 2, prepared)
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    started = time.perf_counter()
    barrier.wait()
    for thread in pool:
        thread.join()
    return len(latencies), time.perf_counter() - started, latencies


def cpu_seconds(server_pid: int, maintenance_url: str, name: str) -> tuple[float, float]:
    """CPU seconds used so far by the gunicorn workers and by the PostgreSQL backends of the scratch database."""
    import psycopg

    def used(pid: int) -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone, or not Linux
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    children = Path(f"/proc/{server_pid}/task/{server_pid}/children")
    workers = [int(pid) for pid in children.read_text().split()] if children.exists() else []
    with psycopg.connect(maintenance_url, autocommit=True) as conn:
        backends = [row[0] for row in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (name,))]
    return sum(used(pid) for pid in workers), sum(used(pid) for pid in backends)


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    options = parse_args()
    scratch_url, maintenance_url, name = rush_database_url()
    var_dir = Path(os.environ.get("BAOGONG_VAR_DIR", f"/tmp/{name}-var"))  # noqa: S108 - scratch files only
    var_dir.mkdir(parents=True, exist_ok=True)
    env = server_env(scratch_url, var_dir)
    print(
        f"database: {name} (recreated)  households: {options.households}  clients: {options.clients}  "
        f"gunicorn: {options.workers} workers x {options.threads} threads  cores: {os.cpu_count()}"
    )
    recreate_database(maintenance_url, name)
    subprocess.run([PYTHON, str(ROOT / "manage.py"), "migrate", "--no-input", "-v", "0"], env=env, check=True)
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "BAOGONG_VAR_DIR")})
    sys.path.insert(0, str(ROOT / "src"))
    fixtures = load_fixtures(options.households)
    from django.db import connections

    connections.close_all()

    port = options.port or free_port()
    server_log = (var_dir / "order_rush_server.log").open("w")
    server = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "gunicorn",
            "baogong.config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(options.workers),
            "--threads",
            str(options.threads),
            "--worker-class",
            "gthread",
            "--keep-alive",
            "30",
            "--log-level",
            "warning",
        ],
        env=env,
        start_new_session=True,
        stdout=server_log,
        stderr=server_log,
    )
    try:
        wait_for(port)
        reference_before = reference_loop()
        load_before = os.getloadavg()
        (server_cpu, database_cpu), client_cpu = cpu_seconds(server.pid, maintenance_url, name), time.process_time()
        outcomes, elapsed = drive(port, fixtures, options.clients, options.max_seconds)
        after = cpu_seconds(server.pid, maintenance_url, name)
        server_cpu, database_cpu = after[0] - server_cpu, after[1] - database_cpu
        client_cpu = time.process_time() - client_cpu
        load_after = os.getloadavg()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        server_log.close()

    statuses: dict[int, int] = {}
    for outcome in outcomes:
        statuses[outcome.status] = statuses.get(outcome.status, 0) + 1
    placed = [o.seconds for o in outcomes if o.status == 201]
    every = [o.seconds for o in outcomes]
    checks = check(scratch_url, fixtures, outcomes)
    ceiling_count, ceiling_seconds, ceiling_latencies = raw_ceiling(
        scratch_url, fixtures, options.workers * options.threads
    )
    app_rate = len(placed) / elapsed
    raw_rate = ceiling_count / ceiling_seconds

    ms = 1000.0
    print(f"load average (1 min) before / after the rush: {load_before[0]:.2f} / {load_after[0]:.2f}")
    print(f"reference loop (as in plan_time.py) before / after: {reference_before:.3f} / {reference_loop():.3f} s")
    print(f"requests: {len(outcomes)} in {elapsed:.2f} s  statuses: {dict(sorted(statuses.items()))}")
    print(f"orders placed (201): {len(placed)}  orders/s: {app_rate:.0f}  requests/s: {len(outcomes) / elapsed:.0f}")
    print(
        f"latency of placed orders ms: p50 {percentile(placed, 0.5) * ms:.1f}  p95 {percentile(placed, 0.95) * ms:.1f}"
        f"  p99 {percentile(placed, 0.99) * ms:.1f}  (all requests p99 {percentile(every, 0.99) * ms:.1f},"
        f" mean {statistics.fmean(every) * ms if every else 0:.1f})"
    )
    per_request = ms / len(outcomes) if outcomes else 0.0
    print(
        f"CPU per request ms: gunicorn workers {server_cpu * per_request:.2f}  PostgreSQL backends "
        f"{database_cpu * per_request:.2f}  load client {client_cpu * per_request:.2f}"
    )
    print(
        f"oversold units: {checks['oversold_units']}  reservation mismatches: {checks['reservation_mismatches']}  "
        f"households with two orders: {checks['households_with_two_orders']}"
    )
    print(
        f"acknowledged: {checks['acked']}  stored: {checks['stored']}  lost acknowledged: "
        f"{checks['lost_acknowledged']}  retries: {checks['retries']} (different order: "
        f"{checks['retries_with_a_different_order']})"
    )
    supply = int(options.households * SUPPLY_SHARE)
    print(f"sold: packages {checks['veg_sold']} / {supply}, rice {checks['rice_sold']} / {int(supply * 1.5)}")
    print(
        f"raw database ceiling ({options.workers * options.threads} psycopg threads, same statements): "
        f"{raw_rate:.0f} orders/s  p50 {percentile(ceiling_latencies, 0.5) * ms:.1f} ms  "
        f"p99 {percentile(ceiling_latencies, 0.99) * ms:.1f} ms"
    )
    print(f"ratio app / raw ceiling: {app_rate / raw_rate:.2f}  (server log: {var_dir / 'order_rush_server.log'})")
    failed = checks["oversold_units"] or checks["lost_acknowledged"] or checks["retries_with_a_different_order"]
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
