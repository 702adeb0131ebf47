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
4. Measures the raw database ceiling: the same statements the order
   transaction issues (pre-reads, key claim, reads, inserts, quota upsert,
   conditional decrement, commit), run directly with psycopg from as many
   threads as gunicorn has, for a second set of households.

Everything is bounded: at most `--households` orders and `--max-seconds` of
load. Prints orders/s, p50/p95/p99 latency, the checks, the ceiling and the ratio.
"""

from __future__ import annotations

import argparse
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
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
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
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=6, help="threads per gunicorn worker")
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
    app_residents: list[tuple[int, int, str]]  # (user id, household id, session key)
    raw_residents: list[tuple[int, int]]  # (user id, household id)
    raw_compound: int
    raw_building: int
    raw_unit: int
    supermarket: int
    ancestor_ids: list[int] = field(default_factory=list)


def load_fixtures(households: int) -> Fixtures:
    import django

    django.setup()
    from datetime import time as clock
    from datetime import timedelta
    from decimal import Decimal

    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from baogong.accounts.models import Role, User
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
        quantity=supply,
        household_cap=1,
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
    users = {user.pk: user for user in User.objects.filter(pk__in=[u for u, _ in app])}
    store = SessionStore()
    expiry = timezone.now() + timedelta(hours=2)
    sessions = []
    app_residents = []
    for user_id, household_id in app:
        key = secrets.token_hex(16)
        data = store.encode(
            {
                SESSION_KEY: str(user_id),
                BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
                HASH_SESSION_KEY: users[user_id].get_session_auth_hash(),
            }
        )
        sessions.append(Session(session_key=key, session_data=data, expire_date=expiry))
        app_residents.append((user_id, household_id, key))
    Session.objects.bulk_create(sessions, batch_size=1000)
    return Fixtures(
        delivery_date=tomorrow.isoformat(),
        veg_offer=veg.pk,
        rice_offer=rice_line.pk,
        raw_offer=raw_line.pk,
        app_residents=app_residents,
        raw_residents=raw,
        raw_compound=raw_regions[0],
        raw_building=raw_regions[1],
        raw_unit=raw_regions[2],
        supermarket=market.pk,
        ancestor_ids=[county.pk, subdistrict.pk, community.pk, raw_regions[0]],
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
    csrf = secrets.token_hex(16)  # 32 characters: accepted as an unmasked CSRF secret
    work = list(enumerate(fixtures.app_residents))
    lock = threading.Lock()
    outcomes: list[Outcome] = []
    barrier = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def post(conn: http.client.HTTPConnection, session: str, key: str, body: bytes) -> tuple[int, dict]:
        conn.request(
            "POST",
            "/api/orders",
            body=body,
            headers={
                "Content-Type": "application/json",
                "Cookie": f"sessionid={session}; csrftoken={csrf}",
                "X-CSRFToken": csrf,
                "Idempotency-Key": key,
                "Referer": f"http://127.0.0.1:{port}/",
            },
        )
        response = conn.getresponse()
        payload = response.read()
        return response.status, json.loads(payload) if payload else {}

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        barrier.wait()
        while True:
            with lock:
                if not work or time.monotonic() > stop_at[0]:
                    break
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
            key = str(uuid.uuid4())
            started = time.perf_counter()
            try:
                status, data = post(conn, session, key, body)
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                status, data = 599, {}
            outcome = Outcome(status=status, seconds=time.perf_counter() - started, order_id=data.get("id"))
            if index % int(1 / RETRY_SHARE) == 0 and status == 201:
                _retry_status, again = post(conn, session, key, body)
                outcome.retry_order_id = again.get("id")
            with lock:
                outcomes.append(outcome)
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    stop_at[0] = time.monotonic() + max_seconds
    started = time.perf_counter()
    barrier.wait()
    for thread in threads:
        thread.join()
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


RAW_STATEMENTS = {
    "precheck": "SELECT id, quantity - reserved FROM orders_offerline WHERE id = ANY(%s) AND is_active",
    "key_lookup": "SELECT id FROM orders_idempotencykey WHERE user_id = %s AND key = %s",
    "claim": "INSERT INTO orders_idempotencykey (user_id, key, fingerprint, status_code, response, created_at) "
    "VALUES (%s, %s, %s, 0, '{}', now()) ON CONFLICT DO NOTHING RETURNING id",
    "household": "SELECT h.id, h.unit_id, h.compound_id, u.parent_id, c.path FROM regions_household h "
    "JOIN regions_region u ON u.id = h.unit_id JOIN regions_region c ON c.id = h.compound_id WHERE h.id = %s",
    "pairing": "SELECT supermarket_id FROM enterprises_compoundpairing WHERE compound_id = %s",
    "window": "SELECT region_id, opens_days_before, opens_at, closes_days_before, closes_at FROM orders_orderwindow "
    "WHERE region_id = ANY(%s)",
    "offers": "SELECT id, price, quantity, reserved, household_cap, kind FROM orders_offerline "
    "WHERE id = ANY(%s) AND supermarket_id = %s AND delivery_date = %s AND is_active",
    "zone": "SELECT region_id, status FROM regions_zonestatus WHERE region_id = ANY(%s) AND starts_at <= now() "
    "AND (ends_at IS NULL OR ends_at > now()) ORDER BY starts_at DESC, id DESC",
    "order": "INSERT INTO orders_order (household_id, compound_id, building_id, unit_id, supermarket_id, "
    "delivery_date, channel, placed_by_id, read_back_confirmed, read_back_note, status, delivery_mode, pickup_slot, "
    "payment_method, payment_status, total, amount_due, is_partial, reason, created_at, updated_at) "
    "VALUES (%s, %s, %s, %s, %s, %s, 'online', %s, false, '', 'placed', 'door', '', 'online', 'paid', 20, 20, "
    "false, '', now(), now()) RETURNING id",
    "lines": "INSERT INTO orders_orderline (order_id, offer_line_id, kind, quantity, unit_price, amount, short_reason) "
    "VALUES (%s, %s, 'item', 1, 20, 20, '')",
    "event": "INSERT INTO orders_orderevent (order_id, from_status, to_status, actor_id, note, created_at) "
    "VALUES (%s, '', 'placed', %s, 'online', now())",
    "payment": "INSERT INTO orders_payment (order_id, kind, method, amount, gateway, reference, actor_id, created_at) "
    "VALUES (%s, 'charge', 'online', 20, 'simulated', %s, %s, now())",
    "audit": "INSERT INTO core_auditlog (created_at, actor_id, action, target_type, target_id, payload, request_id) "
    "VALUES (now(), %s, 'order.place', 'order', %s, %s, '')",
    "key_done": "UPDATE orders_idempotencykey SET status_code = 201, response = %s, order_id = %s "
    "WHERE user_id = %s AND key = %s",
    "quota": "INSERT INTO orders_householdquota (household_id, delivery_date, key, taken, cap) "
    "VALUES (%s, %s, %s, 1, 1) ON CONFLICT (household_id, delivery_date, key) DO UPDATE "
    "SET taken = orders_householdquota.taken + excluded.taken, cap = excluded.cap "
    "WHERE orders_householdquota.taken + excluded.taken <= excluded.cap RETURNING taken",
    "reserve": "UPDATE orders_offerline SET reserved = reserved + 1 WHERE id = %s AND reserved + 1 <= quantity",
}


def raw_ceiling(database_url: str, fixtures: Fixtures, threads: int) -> tuple[int, float, list[float]]:
    """The order transaction's statements straight through psycopg: what the database alone can do."""
    import psycopg
    from psycopg.types.json import Jsonb

    work = list(fixtures.raw_residents)
    lock = threading.Lock()
    latencies: list[float] = []
    barrier = threading.Barrier(threads + 1)
    s = RAW_STATEMENTS

    def one(conn: psycopg.Connection, user_id: int, household_id: int) -> None:
        key = str(uuid.uuid4())
        conn.execute(s["precheck"], ([fixtures.raw_offer],))
        conn.execute(s["key_lookup"], (user_id, key))
        conn.commit()
        with conn.transaction():
            conn.execute(s["claim"], (user_id, key, "f" * 64))
            conn.execute(s["household"], (household_id,)).fetchone()
            conn.execute(s["pairing"], (fixtures.raw_compound,)).fetchone()
            conn.execute(s["window"], (fixtures.ancestor_ids,)).fetchall()
            conn.execute(s["offers"], ([fixtures.raw_offer], fixtures.supermarket, fixtures.delivery_date)).fetchall()
            conn.execute(s["zone"], (fixtures.ancestor_ids,)).fetchall()
            order_id = conn.execute(
                s["order"],
                (
                    household_id,
                    fixtures.raw_compound,
                    fixtures.raw_building,
                    fixtures.raw_unit,
                    fixtures.supermarket,
                    fixtures.delivery_date,
                    user_id,
                ),
            ).fetchone()[0]
            conn.execute(s["lines"], (order_id, fixtures.raw_offer))
            conn.execute(s["event"], (order_id, user_id))
            conn.execute(s["payment"], (order_id, f"SIM-{key[:16]}", user_id))
            conn.execute(s["audit"], (user_id, str(order_id), Jsonb({"household": household_id, "lines": [[1, 1]]})))
            conn.execute(s["key_done"], (Jsonb({"id": order_id, "status": "placed"}), order_id, user_id, key))
            conn.execute(s["quota"], (household_id, fixtures.delivery_date, f"offer:{fixtures.raw_offer}")).fetchone()
            conn.execute(s["reserve"], (fixtures.raw_offer,))

    def worker() -> None:
        with psycopg.connect(database_url) as conn:
            barrier.wait()
            while True:
                with lock:
                    if not work:
                        return
                    user_id, household_id = work.pop()
                started = time.perf_counter()
                one(conn, user_id, household_id)
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
        outcomes, elapsed = drive(port, fixtures, options.clients, options.max_seconds)
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
    print(f"requests: {len(outcomes)} in {elapsed:.2f} s  statuses: {dict(sorted(statuses.items()))}")
    print(f"orders placed (201): {len(placed)}  orders/s: {app_rate:.0f}  requests/s: {len(outcomes) / elapsed:.0f}")
    print(
        f"latency of placed orders ms: p50 {percentile(placed, 0.5) * ms:.1f}  p95 {percentile(placed, 0.95) * ms:.1f}"
        f"  p99 {percentile(placed, 0.99) * ms:.1f}  (all requests p99 {percentile(every, 0.99) * ms:.1f},"
        f" mean {statistics.fmean(every) * ms if every else 0:.1f})"
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
