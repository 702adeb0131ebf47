"""The only code that moves stock.

Each service appends ledger rows and changes the cached balance in one
transaction. Decrements are conditional (`UPDATE ... SET on_hand = on_hand - n
WHERE on_hand >= n`) so two concurrent issues can never both take the last
unit; balance rows are locked in primary-key order so concurrent multi-lot
movements cannot deadlock. On SQLite the transaction itself is IMMEDIATE (see
settings), which serialises writers.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from baogong.core.errors import InsufficientStock, ValidationFailed
from baogong.core.services import audit_record

from .models import MovementKind, StockBalance, StockMovement, StockPoint

if TYPE_CHECKING:
    from baogong.accounts.models import User
    from baogong.catalog.models import Commodity

# A single movement above this is a typo, not a delivery (a 40-t truck of rice
# in 10-kg bags is 4,000 units).
MAX_MOVEMENT_QUANTITY = 10_000_000


def _validate_quantity(quantity: int, *, field: str = "quantity") -> None:
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise ValidationFailed(_("The quantity must be a whole number."), field=field)
    if quantity <= 0:
        raise ValidationFailed(_("The quantity must be greater than zero."), field=field)
    if quantity > MAX_MOVEMENT_QUANTITY:
        raise ValidationFailed(_("The quantity is implausibly large."), field=field)


def _validate_reason(reason: str) -> str:
    cleaned = reason.strip()
    if not cleaned:
        raise ValidationFailed(_("A reason is required."), field="reason")
    return cleaned[:255]


def _balance_for_lot(*, point: StockPoint, commodity: Commodity, lot: str, expires_on: date | None) -> StockBalance:
    balance, created = StockBalance.objects.get_or_create(
        point=point, commodity=commodity, lot=lot, defaults={"expires_on": expires_on}
    )
    if not created and expires_on is not None and balance.expires_on is None:
        StockBalance.objects.filter(pk=balance.pk, expires_on__isnull=True).update(expires_on=expires_on)
        balance.expires_on = expires_on
    return balance


def _append(
    *,
    balance: StockBalance,
    kind: str,
    quantity: int,
    balance_after: int,
    actor: User | None,
    reason: str,
    reference: str = "",
    transfer_group: uuid.UUID | None = None,
    counterparty: StockPoint | None = None,
) -> StockMovement:
    return StockMovement.objects.create(
        point_id=balance.point_id,
        commodity_id=balance.commodity_id,
        balance=balance,
        lot=balance.lot,
        expires_on=balance.expires_on,
        kind=kind,
        quantity=quantity,
        balance_after=balance_after,
        actor=actor if actor is not None and actor.is_authenticated else None,
        reason=reason,
        reference=reference,
        transfer_group=transfer_group,
        counterparty=counterparty,
    )


def _increase(balance: StockBalance, quantity: int) -> int:
    StockBalance.objects.filter(pk=balance.pk).update(on_hand=F("on_hand") + quantity)
    return StockBalance.objects.values_list("on_hand", flat=True).get(pk=balance.pk)


def _decrease(balance: StockBalance, quantity: int) -> int | None:
    """Conditional decrement; None when the lot does not hold `quantity`."""
    changed = StockBalance.objects.filter(pk=balance.pk, on_hand__gte=quantity).update(on_hand=F("on_hand") - quantity)
    if changed != 1:
        return None
    return StockBalance.objects.values_list("on_hand", flat=True).get(pk=balance.pk)


@transaction.atomic
def stock_receive(
    *,
    actor: User | None,
    point: StockPoint,
    commodity: Commodity,
    quantity: int,
    reason: str,
    lot: str = "",
    expires_on: date | None = None,
    reference: str = "",
) -> StockMovement:
    _validate_quantity(quantity)
    reason = _validate_reason(reason)
    balance = _balance_for_lot(point=point, commodity=commodity, lot=lot, expires_on=expires_on)
    after = _increase(balance, quantity)
    movement = _append(
        balance=balance,
        kind=MovementKind.RECEIPT,
        quantity=quantity,
        balance_after=after,
        actor=actor,
        reason=reason,
        reference=reference,
    )
    audit_record(
        actor=actor,
        action="stock.receive",
        target_type="stock_point",
        target_id=point.pk,
        payload={"commodity": commodity.code, "lot": lot, "quantity": quantity, "movement": movement.pk},
    )
    return movement


def _lock_balances(*, points: list[StockPoint], commodity: Commodity) -> None:
    """Lock every balance row of `commodity` at `points`, in primary-key order.

    A movement that touches two points (a transfer) takes all its locks up
    front and in one global order, so two opposite transfers wait for each
    other instead of deadlocking.
    """
    list(
        StockBalance.objects.select_for_update()
        .filter(point__in=[p.pk for p in points], commodity=commodity)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


@dataclass(frozen=True)
class LotTake:
    balance: StockBalance
    quantity: int


def _plan_fefo(*, point: StockPoint, commodity: Commodity, quantity: int, lot: str | None) -> list[LotTake]:
    """Lock the point's balances of this commodity (pk order) and plan which lots to draw.

    First-expiry-first-out: lots with the earliest expiry go first, lots
    without an expiry last. With `lot` given only that lot is drawn.
    """
    balances = list(
        StockBalance.objects.select_for_update().filter(point=point, commodity=commodity, on_hand__gt=0).order_by("pk")
    )
    if lot is not None:
        balances = [b for b in balances if b.lot == lot]
    balances.sort(key=lambda b: (b.expires_on is None, b.expires_on or date.max, b.pk))
    available = sum(b.on_hand for b in balances)
    if available < quantity:
        raise InsufficientStock(
            _("Only %(available)s %(unit)s of %(name)s on hand at %(point)s; %(wanted)s requested.")
            % {
                "available": available,
                "unit": commodity.unit,
                "name": commodity.name,
                "point": point.name,
                "wanted": quantity,
            },
            field="quantity",
            data={"available": available, "requested": quantity, "commodity": commodity.code},
        )
    takes: list[LotTake] = []
    remaining = quantity
    for balance in balances:
        if remaining == 0:
            break
        take = min(balance.on_hand, remaining)
        takes.append(LotTake(balance=balance, quantity=take))
        remaining -= take
    return takes


def _draw(
    *,
    actor: User | None,
    point: StockPoint,
    commodity: Commodity,
    quantity: int,
    kind: str,
    reason: str,
    lot: str | None,
    reference: str,
    transfer_group: uuid.UUID | None = None,
    counterparty: StockPoint | None = None,
) -> list[StockMovement]:
    movements = []
    for take in _plan_fefo(point=point, commodity=commodity, quantity=quantity, lot=lot):
        after = _decrease(take.balance, take.quantity)
        if after is None:  # pragma: no cover - the rows are locked; kept as the last line of defence
            raise InsufficientStock(field="quantity", data={"commodity": commodity.code})
        movements.append(
            _append(
                balance=take.balance,
                kind=kind,
                quantity=-take.quantity,
                balance_after=after,
                actor=actor,
                reason=reason,
                reference=reference,
                transfer_group=transfer_group,
                counterparty=counterparty,
            )
        )
    return movements


@transaction.atomic
def stock_issue(
    *,
    actor: User | None,
    point: StockPoint,
    commodity: Commodity,
    quantity: int,
    reason: str,
    lot: str | None = None,
    reference: str = "",
) -> list[StockMovement]:
    """Issue goods out of a point, first-expiry-first-out unless a lot is named."""
    _validate_quantity(quantity)
    reason = _validate_reason(reason)
    movements = _draw(
        actor=actor,
        point=point,
        commodity=commodity,
        quantity=quantity,
        kind=MovementKind.ISSUE,
        reason=reason,
        lot=lot,
        reference=reference,
    )
    audit_record(
        actor=actor,
        action="stock.issue",
        target_type="stock_point",
        target_id=point.pk,
        payload={"commodity": commodity.code, "quantity": quantity, "movements": [m.pk for m in movements]},
    )
    return movements


@transaction.atomic
def stock_transfer(
    *,
    actor: User | None,
    source: StockPoint,
    destination: StockPoint,
    commodity: Commodity,
    quantity: int,
    reason: str,
    lot: str | None = None,
    reference: str = "",
) -> list[StockMovement]:
    """Move goods between points: each lot drawn at the source arrives as the same lot."""
    _validate_quantity(quantity)
    reason = _validate_reason(reason)
    if source.pk == destination.pk:
        raise ValidationFailed(_("Source and destination must differ."), field="destination")
    _lock_balances(points=[source, destination], commodity=commodity)
    group = uuid.uuid4()
    outs = _draw(
        actor=actor,
        point=source,
        commodity=commodity,
        quantity=quantity,
        kind=MovementKind.TRANSFER_OUT,
        reason=reason,
        lot=lot,
        reference=reference,
        transfer_group=group,
        counterparty=destination,
    )
    ins = []
    for out in outs:
        balance = _balance_for_lot(point=destination, commodity=commodity, lot=out.lot, expires_on=out.expires_on)
        after = _increase(balance, -out.quantity)
        ins.append(
            _append(
                balance=balance,
                kind=MovementKind.TRANSFER_IN,
                quantity=-out.quantity,
                balance_after=after,
                actor=actor,
                reason=reason,
                reference=reference,
                transfer_group=group,
                counterparty=source,
            )
        )
    audit_record(
        actor=actor,
        action="stock.transfer",
        target_type="stock_point",
        target_id=source.pk,
        payload={
            "commodity": commodity.code,
            "quantity": quantity,
            "destination": destination.pk,
            "transfer_group": group,
        },
    )
    return outs + ins


@transaction.atomic
def stock_adjust(
    *,
    actor: User | None,
    point: StockPoint,
    commodity: Commodity,
    delta: int,
    reason: str,
    lot: str = "",
) -> StockMovement:
    """Correct a lot by a signed amount (damage, spoilage, found goods); never below zero."""
    if isinstance(delta, bool) or not isinstance(delta, int) or delta == 0:
        raise ValidationFailed(_("The adjustment must be a non-zero whole number."), field="delta")
    _validate_quantity(abs(delta), field="delta")
    reason = _validate_reason(reason)
    balance = _balance_for_lot(point=point, commodity=commodity, lot=lot, expires_on=None)
    after = _increase(balance, delta) if delta > 0 else _decrease(balance, -delta)
    if after is None:
        raise InsufficientStock(
            _("The adjustment would take %(name)s below zero.") % {"name": commodity.name}, field="delta"
        )
    movement = _append(
        balance=balance, kind=MovementKind.ADJUSTMENT, quantity=delta, balance_after=after, actor=actor, reason=reason
    )
    audit_record(
        actor=actor,
        action="stock.adjust",
        target_type="stock_point",
        target_id=point.pk,
        payload={"commodity": commodity.code, "lot": lot, "delta": delta, "movement": movement.pk},
    )
    return movement


@transaction.atomic
def stock_count(
    *,
    actor: User | None,
    point: StockPoint,
    commodity: Commodity,
    counted: int,
    reason: str,
    lot: str = "",
) -> StockMovement:
    """Record a physical count: the ledger row carries the difference to what the books said."""
    if isinstance(counted, bool) or not isinstance(counted, int) or counted < 0:
        raise ValidationFailed(_("The count must be zero or a positive whole number."), field="counted")
    reason = _validate_reason(reason)
    balance = _balance_for_lot(point=point, commodity=commodity, lot=lot, expires_on=None)
    locked = StockBalance.objects.select_for_update().get(pk=balance.pk)
    delta = counted - locked.on_hand
    StockBalance.objects.filter(pk=balance.pk).update(on_hand=counted)
    movement = _append(
        balance=locked, kind=MovementKind.COUNT, quantity=delta, balance_after=counted, actor=actor, reason=reason
    )
    audit_record(
        actor=actor,
        action="stock.count",
        target_type="stock_point",
        target_id=point.pk,
        payload={"commodity": commodity.code, "lot": lot, "counted": counted, "delta": delta, "movement": movement.pk},
    )
    return movement
