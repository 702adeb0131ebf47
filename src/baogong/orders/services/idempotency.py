"""The Idempotency-Key of a place request: claiming it, and replaying the answer stored with it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from baogong.core.errors import IdempotencyKeyReused, RequestInProgress

from ..models import IdempotencyKey


@dataclass(frozen=True)
class PlacedOrder:
    """The answer to a place request: the stored one when `replayed`."""

    order_id: int | None
    status_code: int
    body: dict[str, Any]
    replayed: bool
    # The body's JSON text as this request stored it with its key, when this request wrote the
    # order: the API answers with these very bytes instead of validating and encoding `body` again.
    body_json: str | None = None


def request_fingerprint(payload: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of a request (sorted keys, no spaces)."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


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
