"""The Idempotency-Key of a place request: claiming it, and replaying the answer stored with it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection

from baogong.core.errors import IdempotencyKeyReused, RequestInProgress

from ..models import IdempotencyKey


@dataclass(frozen=True)
class PlacedOrder:
    """The answer to a place request: the stored one when `replayed`."""

    order_id: int | None
    status_code: int
    body: dict[str, Any]
    replayed: bool


def request_fingerprint(payload: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of a request (sorted keys, no spaces)."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _key_claim(*, user_id: int, key: str, fingerprint: str, now: datetime) -> IdempotencyKey | None:
    """Claim `key` for this user; None if we did, else the existing row.

    One arbitrated statement, never SELECT-then-INSERT: on PostgreSQL a
    concurrent claim of the same key waits on the unique index until the
    first transaction ends, then either inserts (first rolled back) or does
    nothing (first committed, and the next statement sees its row).
    """
    table = connection.ops.quote_name(IdempotencyKey._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (user_id, {connection.ops.quote_name('key')}, fingerprint, status_code, response, "  # noqa: S608 - names are ours
            "created_at) VALUES (%s, %s, %s, 0, '{}', %s) ON CONFLICT DO NOTHING RETURNING id",
            [user_id, key, fingerprint, connection.ops.adapt_datetimefield_value(now)],
        )
        inserted = cursor.fetchone()
    if inserted is not None:
        return None
    existing = IdempotencyKey.objects.filter(user_id=user_id, key=key).first()
    if existing is None:
        # Claimed and released between our two statements: the other request failed, so retrying is safe.
        raise RequestInProgress()
    return existing


def _replay(existing: IdempotencyKey, fingerprint: str) -> PlacedOrder:
    return _replay_stored(
        stored_fingerprint=existing.fingerprint,
        status_code=existing.status_code,
        response=existing.response,
        order_id=existing.order_id,
        fingerprint=fingerprint,
    )


def _replay_stored(
    *, stored_fingerprint: str, status_code: int, response: Any, order_id: int | None, fingerprint: str
) -> PlacedOrder:
    if stored_fingerprint != fingerprint:
        raise IdempotencyKeyReused(field="Idempotency-Key")
    if status_code == 0:
        raise RequestInProgress(field="Idempotency-Key")
    body = json.loads(response) if isinstance(response, str | bytes) else response
    return PlacedOrder(order_id=order_id, status_code=status_code, body=body, replayed=True)
