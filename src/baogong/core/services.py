"""Writes to the audit trail. Called by every other service, inside its transaction."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from .middleware import current_request_id
from .models import AuditLog, PersonalDataAccess

if TYPE_CHECKING:
    from baogong.accounts.models import User


def _jsonable(payload: dict[str, Any]) -> dict[str, Any]:
    # Decimals, dates and UUIDs become strings the same way everywhere.
    result: dict[str, Any] = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
    return result


def _audit_actor_id(actor: User | None) -> int | None:
    return actor.pk if actor is not None and actor.is_authenticated else None


def audit_row_values(
    *,
    actor: User | None,
    action: str,
    target_type: str,
    target_id: object = "",
    payload: dict[str, Any] | None = None,
    at: datetime,
) -> list[Any]:
    """The row `audit_record` writes, as values for a hand-written INSERT.

    Column order: created_at, actor_id, action, target_type, target_id,
    payload (JSON text), request_id. For the one hot path that sends its
    statements in a batch (placing an order); the caller still runs it inside
    the transaction of the change it records.
    """
    return [
        at,
        _audit_actor_id(actor),
        action,
        target_type,
        str(target_id),
        json.dumps(payload or {}, cls=DjangoJSONEncoder),
        current_request_id() or "",
    ]


def audit_record(
    *,
    actor: User | None,
    action: str,
    target_type: str,
    target_id: object = "",
    payload: dict[str, Any] | None = None,
) -> AuditLog:
    """Append one audit row. Must run inside the caller's transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must be called inside the transaction of the change it records")
    return AuditLog.objects.create(
        actor_id=_audit_actor_id(actor),
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        payload=_jsonable(payload or {}),
        request_id=current_request_id() or "",
    )


def personal_data_access_record(
    *, actor: User, subject_type: str, subject_ids: Iterable[object], fields: list[str], purpose: str
) -> int:
    """Record that `actor` saw unmasked `fields` of each subject. Returns the number of rows."""
    request_id = current_request_id() or ""
    rows = [
        PersonalDataAccess(
            actor=actor,
            subject_type=subject_type,
            subject_id=str(subject_id),
            fields=fields,
            purpose=purpose,
            request_id=request_id,
        )
        for subject_id in subject_ids
    ]
    PersonalDataAccess.objects.bulk_create(rows)
    return len(rows)
