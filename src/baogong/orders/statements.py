"""The hand-written SQL of placing an order (run by `baogong.core.sql.run`, several statements at once).

Placing an order is the one request that has to hold up under the 06:00 rush,
and building ORM queries cost more CPU than the database spends running them.
So its statements are written out here, once, and sent in as few round trips
as the guarantees allow: on PostgreSQL several statements go in one simple
query (executed in order, as one transaction; an error in any of them aborts
the rest and the transaction). SQLite runs the same statements one by one.
The order rush benchmark runs these very statements for its raw database
ceiling.

The writes of an order never check a condition and carry on: a key that
exists, a cap or a quantity that would be exceeded, a withdrawn line, each
makes its statement fail (the key's unique index, the CHECK constraints
`household_quota_within_cap` and `offer_line_not_oversold`), and the failure
rolls the whole order back. That is what lets PostgreSQL take an order's
writes as one statement list in one round trip, with no BEGIN or COMMIT of
their own (see `baogong.core.sql.run_atomically`).

On PostgreSQL each statement is also prepared once per connection and then
executed by name (see `baogong.core.sql`).

Every statement is portable between PostgreSQL and SQLite 3.35+ (`RETURNING`,
`ON CONFLICT`), takes `%s` parameters adapted by `connection.ops`, and returns
plain values that `as_decimal`, `as_date` and `as_time` normalise (SQLite
hands back text and floats where PostgreSQL hands back typed values).
"""

from __future__ import annotations

import functools
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.db import connection

from baogong.catalog.models import Commodity, Kit
from baogong.core.models import AuditLog
from baogong.core.sql import Result, Statement, rows, run, run_atomically  # noqa: F401 - callers reach them through this module
from baogong.enterprises.models import CompoundPairing, Organisation
from baogong.regions.models import Household, Region, ZoneStatus

from .models import HouseholdQuota, IdempotencyKey, OfferLine, Order, OrderEvent, OrderLine, OrderWindow, Payment

CENT = Decimal("0.01")


def _table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


# Read before the transaction (plain reads; the transaction re-decides everything that matters).
KEY_LOOKUP = (
    f"SELECT fingerprint, status_code, response, order_id FROM {_table(IdempotencyKey)} "  # noqa: S608 - names are ours
    f"WHERE user_id = %s AND {_q('key')} = %s"
)


# The builders below run on every order with the same few counts (lines per order, areas above a
# compound); kept, each text is built once per count instead of quoting table names again.
@functools.lru_cache(maxsize=64)
def offers_select(count: int) -> str:
    """Offer lines by id with what an order needs of them: goods, names, price, what is left."""
    ids = ", ".join(["%s"] * count)
    return (
        "SELECT o.id, o.supermarket_id, o.delivery_date, o.kind, o.kit_id, o.commodity_id, o.price, "  # noqa: S608
        "o.quantity, o.reserved, o.household_cap, o.is_active, k.kind, k.name_zh, k.name_en, "
        "c.name_zh, c.name_en, s.name "
        f"FROM {_table(OfferLine)} o "
        f"JOIN {_table(Organisation)} s ON s.id = o.supermarket_id "
        f"LEFT JOIN {_table(Kit)} k ON k.id = o.kit_id "
        f"LEFT JOIN {_table(Commodity)} c ON c.id = o.commodity_id "
        f"WHERE o.id IN ({ids})"
    )


@functools.lru_cache(maxsize=64)
def window_rules_select(count: int) -> str:
    ids = ", ".join(["%s"] * count)
    return (
        "SELECT region_id, opens_days_before, opens_at, closes_days_before, closes_at "  # noqa: S608
        f"FROM {_table(OrderWindow)} WHERE region_id IN ({ids})"
    )


@functools.lru_cache(maxsize=64)
def zone_statuses_select(count: int) -> str:
    """Statuses in force at a moment (two parameters after the ids), newest first per region."""
    ids = ", ".join(["%s"] * count)
    return (
        f"SELECT region_id, status FROM {_table(ZoneStatus)} "  # noqa: S608
        f"WHERE region_id IN ({ids}) AND starts_at <= %s AND (ends_at IS NULL OR ends_at > %s) "
        "ORDER BY starts_at DESC, id DESC"
    )


HOUSEHOLD_FOR_ORDERING = (
    "SELECT h.id, h.compound_id, c.path, h.unit_id, u.name, u.parent_id, b.name, "  # noqa: S608
    f"(SELECT p.supermarket_id FROM {_table(CompoundPairing)} p WHERE p.compound_id = h.compound_id "
    "ORDER BY p.id LIMIT 1) "
    f"FROM {_table(Household)} h JOIN {_table(Region)} c ON c.id = h.compound_id "
    f"JOIN {_table(Region)} u ON u.id = h.unit_id LEFT JOIN {_table(Region)} b ON b.id = u.parent_id "
    "WHERE h.id = %s"
)


# PostgreSQL only, read with the reads before the write: the id of the order about to be written,
# so that every row of it can be written in the same statement list. A request that then writes
# nothing (a replay, a sold-out line) leaves a gap in the ids, as a rolled-back insert does. The
# sequence logs one write per 32 ids it hands out, so about one read batch in 32 waits for a
# flush of the write-ahead log: cheaper than the BEGIN and COMMIT round trips it saves.
ORDER_ID_NEXT = f"SELECT nextval(pg_get_serial_sequence('{Order._meta.db_table}', 'id'))"


def _compound_ancestors_of_household() -> str:
    """PostgreSQL: the ids on the path of a household's compound (one `%s`: the household id)."""
    return (
        "ANY (string_to_array(btrim((SELECT c.path "  # noqa: S608 - names are ours
        f"FROM {_table(Household)} h JOIN {_table(Region)} c ON c.id = h.compound_id WHERE h.id = %s), '/'), "
        "'/')::bigint[])"
    )


# PostgreSQL only, with the reads: the window rules and the zone statuses in force above a
# household's compound, found from the household id so they need no round trip of their own. The
# caller picks the nearest ancestor's from the compound's path (`selectors.ordering_rules_from_rows`).
WINDOW_RULES_OF_HOUSEHOLD = (
    "SELECT region_id, opens_days_before, opens_at, closes_days_before, closes_at "  # noqa: S608
    f"FROM {_table(OrderWindow)} WHERE region_id = {_compound_ancestors_of_household()}"
)
ZONE_STATUSES_OF_HOUSEHOLD = (
    f"SELECT region_id, status FROM {_table(ZoneStatus)} "  # noqa: S608
    f"WHERE region_id = {_compound_ancestors_of_household()} AND starts_at <= %s "
    "AND (ends_at IS NULL OR ends_at > %s) ORDER BY starts_at DESC, id DESC"
)


# The writes, in this order: the order row, then the key (which refers to it, and foreign keys are
# checked at once where a caller has set its constraints IMMEDIATE), so that a duplicate request
# waits on the key's unique index before it touches any shared row; the offer lines (the hot rows)
# last, so that their row locks are held only from there to the commit.
_ORDER_COLUMNS = (
    "household_id, compound_id, building_id, unit_id, supermarket_id, delivery_date, channel, placed_by_id, "
    "read_back_confirmed, read_back_note, status, delivery_mode, pickup_slot, payment_method, payment_status, "
    "total, amount_due, is_partial, reason, created_at, updated_at"
)
# SQLite, where the id comes from the insert; PostgreSQL gives it (ORDER_ID_NEXT).
ORDER_INSERT = (
    f"INSERT INTO {_table(Order)} ({_ORDER_COLUMNS}) "  # noqa: S608
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id"
)
ORDER_INSERT_WITH_ID = (
    f"INSERT INTO {_table(Order)} (id, {_ORDER_COLUMNS}) "  # noqa: S608
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
# The key with its answer. No ON CONFLICT: a key already stored fails the whole order, and the
# caller then replays what is stored. On PostgreSQL a concurrent request with the same key waits
# here until the first one's transaction ends.
KEY_STORE = (
    f"INSERT INTO {_table(IdempotencyKey)} (user_id, {_q('key')}, fingerprint, status_code, response, "  # noqa: S608
    "order_id, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s)"
)


@functools.lru_cache(maxsize=64)
def order_lines_insert(count: int) -> str:
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, '')"] * count)
    return (
        f"INSERT INTO {_table(OrderLine)} (order_id, offer_line_id, kind, kit_id, commodity_id, "  # noqa: S608
        f"quantity, unit_price, amount, short_reason) VALUES {values}"
    )


EVENT_INSERT = (
    f"INSERT INTO {_table(OrderEvent)} (order_id, from_status, to_status, actor_id, note, created_at) "  # noqa: S608
    "VALUES (%s, %s, %s, %s, %s, %s)"
)
PAYMENT_INSERT = (
    f"INSERT INTO {_table(Payment)} (order_id, kind, method, amount, gateway, reference, actor_id, "  # noqa: S608
    "created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
)
AUDIT_INSERT = (
    f"INSERT INTO {_table(AuditLog)} (created_at, actor_id, action, target_type, target_id, payload, "  # noqa: S608
    "request_id) VALUES (%s, %s, %s, %s, %s, %s, %s)"
)
_QUOTA = _table(HouseholdQuota)
# Adds to what the household has taken; more than the cap breaks `household_quota_within_cap`.
QUOTA_TAKE = (
    f"INSERT INTO {_QUOTA} (household_id, delivery_date, {_q('key')}, taken, cap) "  # noqa: S608
    f"VALUES (%s, %s, %s, %s, %s) ON CONFLICT (household_id, delivery_date, {_q('key')}) DO UPDATE "
    f"SET taken = {_QUOTA}.taken + excluded.taken, cap = excluded.cap"
)
# The guard against overselling is the CHECK `offer_line_not_oversold` (reserved <= quantity), which
# the database evaluates on the row as it is after waiting for a concurrent writer. A withdrawn line
# takes no more orders, even from a request that read it a moment before withdrawal: its reservation
# is pushed past the quantity so that the same CHECK refuses it.
RESERVE = (
    f"UPDATE {_table(OfferLine)} SET reserved = reserved + "  # noqa: S608
    "CASE WHEN is_active THEN %s ELSE quantity + 1 END WHERE id = %s"
)


def as_decimal(value: Any) -> Decimal:
    return (value if isinstance(value, Decimal) else Decimal(str(value))).quantize(CENT)


def as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def as_time(value: Any) -> time:
    return value if isinstance(value, time) else time.fromisoformat(str(value))


def db_datetime(value: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def db_date(value: date) -> Any:
    return connection.ops.adapt_datefield_value(value)


def db_decimal(value: Decimal) -> Any:
    return connection.ops.adapt_decimalfield_value(value)
