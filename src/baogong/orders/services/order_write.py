"""The writes of a new order, as one transaction: its rows, its key and answer, caps, reservations (see `placing`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from baogong.catalog.models import localized_name
from baogong.core.errors import Conflict, InsufficientStock, ValidationFailed
from baogong.core.services import audit_row_values
from baogong.core.sql import violated_constraint

from .. import statements
from ..models import (
    Channel,
    DeliveryMode,
    HouseholdQuota,
    IdempotencyKey,
    OfferLine,
    OrderStatus,
    PaymentKind,
    PaymentMethod,
    PaymentStatus,
)
from ..payments import PaymentRequest, payment_gateway
from ..selectors import order_present

if TYPE_CHECKING:
    from baogong.accounts.models import User

    from .placing import LineRequest, _OrderingHousehold


@dataclass(frozen=True, slots=True)
class OfferRow:
    """An offer line as placing reads it (`statements.offers_select`): plain values, not a model.

    Every order of the 06:00 rush builds one per line it asks for, and building an `OfferLine`
    with its kit or commodity from the row took about six times as long as this.
    """

    pk: int
    supermarket_id: int
    supermarket_name: str
    delivery_date: date
    kind: str
    kit_id: int | None
    commodity_id: int | None
    price: Decimal
    quantity: int
    reserved: int
    household_cap: int
    is_active: bool
    quota_key: str
    name_zh: str
    name_en: str

    @property
    def available(self) -> int:
        return self.quantity - self.reserved

    @property
    def goods_name(self) -> str:
        return localized_name(self.name_zh, self.name_en)


@dataclass(frozen=True, slots=True)
class NewOrderLine:
    """A line of the order being written, with what the answer shows of it (`order_present`)."""

    offer_line_id: int
    kind: str
    kit_id: int | None
    commodity_id: int | None
    goods_name: str
    quantity: int
    unit_price: Decimal
    amount: Decimal
    confirmed_quantity: int | None = None
    short_reason: str = ""


@dataclass(slots=True)
class NewOrder:
    """The order being written: its row's values and what the answer shows (`order_present`).

    `pk` is set once the id is known (taken with the reads on PostgreSQL, from the insert on SQLite).
    """

    pk: int
    household_id: int
    compound_id: int
    building_id: int
    unit_id: int
    supermarket_id: int
    delivery_date: date
    channel: str
    placed_by_id: int
    read_back_confirmed: bool
    read_back_note: str
    status: str
    delivery_mode: str
    pickup_slot: str
    payment_method: str
    payment_status: str
    total: Decimal
    amount_due: Decimal
    created_at: datetime
    is_partial: bool = False
    reason: str = ""

    @property
    def is_proxy(self) -> bool:
        return self.channel != Channel.ONLINE


def _order_write(
    *,
    actor: User,
    household: _OrderingHousehold,
    delivery_date: date,
    lines: Sequence[LineRequest],
    offers: dict[int, OfferRow],
    channel: str,
    payment_method: str,
    read_back_confirmed: bool,
    read_back_note: str,
    delivery_mode: str,
    idempotency_key: str,
    fingerprint: str,
    key_at: datetime,
    order_id: int | None,
) -> tuple[NewOrder, dict[str, Any], str]:
    """Write the order, its key with the answer, its caps and its reservations as one transaction.

    `order_id` is the id taken for it with the reads on PostgreSQL, where everything then goes to
    the server as one statement list in one round trip (`run_atomically`); None on SQLite, where
    the insert gives the id. Nothing is checked and then written: the key's unique index, the cap
    and the oversell CHECKs refuse the order in the database, the whole transaction rolls back,
    and the refusal becomes the error the client sees (`KeyAlreadyStored` for a key stored by an
    earlier request, which the caller replays).
    """
    if payment_method == PaymentMethod.FREE:
        payment_status = PaymentStatus.WAIVED
    elif payment_method == PaymentMethod.ONLINE:
        payment_status = PaymentStatus.PAID
    else:
        payment_status = PaymentStatus.DUE
    order_lines = [
        NewOrderLine(
            offer_line_id=offer.pk,
            kind=offer.kind,
            kit_id=offer.kit_id,
            commodity_id=offer.commodity_id,
            goods_name=offer.goods_name,
            quantity=line.quantity,
            unit_price=offer.price,
            amount=offer.price * line.quantity,
        )
        for line in lines
        for offer in (offers[line.offer_line_id],)
    ]
    total = sum((line.amount for line in order_lines), Decimal("0.00"))
    # A free order owes nothing; the supermarket is paid by the relief budget, not the household.
    amount_due = Decimal("0.00") if payment_method == PaymentMethod.FREE else total
    created = timezone.now()
    order = NewOrder(
        pk=0,
        household_id=household.household_id,
        compound_id=household.compound_id,
        building_id=household.building_id,
        unit_id=household.unit_id,
        supermarket_id=household.supermarket_id,
        delivery_date=delivery_date,
        channel=channel,
        placed_by_id=actor.pk,
        read_back_confirmed=read_back_confirmed,
        read_back_note=read_back_note,
        status=OrderStatus.PLACED,
        delivery_mode=delivery_mode,
        pickup_slot=household.pickup_slot if delivery_mode == DeliveryMode.PICKUP else "",
        payment_method=payment_method,
        payment_status=payment_status,
        total=total,
        amount_due=amount_due,
        created_at=created,
    )
    at = statements.db_datetime(created)
    quotas = _quotas_wanted(lines=lines, offers=offers)
    for quantity, cap, index in quotas.values():
        if quantity > cap:
            # More than the cap in one request fails without a statement.
            raise _over_cap(cap=cap, index=index)
    # Every value from `order`, so the row written and the answer stored with the key cannot differ.
    order_values = [
        order.household_id,
        order.compound_id,
        order.building_id,
        order.unit_id,
        order.supermarket_id,
        statements.db_date(order.delivery_date),
        order.channel,
        order.placed_by_id,
        order.read_back_confirmed,
        order.read_back_note,
        order.status,
        order.delivery_mode,
        order.pickup_slot,
        order.payment_method,
        order.payment_status,
        statements.db_decimal(order.total),
        statements.db_decimal(order.amount_due),
        order.is_partial,
        order.reason,
        at,
        at,
    ]

    def key_and_rows(order_id: int) -> tuple[dict[str, Any], str, statements.Statement, list[statements.Statement]]:
        """The answer and its JSON text, the key's row holding it, and every other row of the order but the order."""
        order.pk = order_id
        body = order_present(
            order=order, lines=order_lines, supermarket_name=offers[lines[0].offer_line_id].supermarket_name
        )
        body_json = json.dumps(body)
        key_row = (
            statements.KEY_STORE,
            [actor.pk, idempotency_key, fingerprint, 201, body_json, order_id, statements.db_datetime(key_at)],
        )
        return (
            body,
            body_json,
            key_row,
            _order_rows(
                order=order,
                order_lines=order_lines,
                actor=actor,
                household=household,
                lines=lines,
                quotas=quotas,
                at=at,
            ),
        )

    try:
        if order_id is None:
            # SQLite: the id comes from the insert, and the writer holds the database's one write lock
            # from the start of the (IMMEDIATE) transaction, so several statements cost no more.
            with transaction.atomic():
                [(new_id,)] = statements.rows(statements.run([(statements.ORDER_INSERT, order_values)])[0])
                body, body_json, key_row, rows = key_and_rows(new_id)
                statements.run([key_row, *rows])
        else:
            body, body_json, key_row, rows = key_and_rows(order_id)
            statements.run_atomically([(statements.ORDER_INSERT_WITH_ID, [order_id, *order_values]), key_row, *rows])
    except IntegrityError as error:
        refusal = _refusal(
            error, household_id=household.household_id, delivery_date=delivery_date, lines=lines, quotas=quotas
        )
        if refusal is error:
            raise
        raise refusal from error
    return order, body, body_json


class KeyAlreadyStored(Exception):
    """The order's Idempotency-Key was stored by an earlier request, which committed: replay its answer."""


def _quotas_wanted(*, lines: Sequence[LineRequest], offers: dict[int, OfferRow]) -> dict[str, tuple[int, int, int]]:
    """Per quota key, in key order: (quantity asked for, cap, index of its first line in the request)."""
    wanted: dict[str, tuple[int, int, int]] = {}
    for index, line in enumerate(lines):
        offer = offers[line.offer_line_id]
        key = offer.quota_key
        taken, cap, first = wanted.get(key, (0, offer.household_cap, index))
        wanted[key] = (taken + line.quantity, min(cap, offer.household_cap), first)
    return dict(sorted(wanted.items()))


def _order_rows(
    *,
    order: NewOrder,
    order_lines: list[NewOrderLine],
    actor: User,
    household: _OrderingHousehold,
    lines: Sequence[LineRequest],
    quotas: dict[str, tuple[int, int, int]],
    at: Any,
) -> list[statements.Statement]:
    """The lines, the event, the payment, the audit row, then the caps and last the offer quantities.

    Rows of one kind go in key order, caps before offers, so concurrent orders cannot deadlock.
    """
    batch: list[statements.Statement] = [
        (
            statements.order_lines_insert(len(order_lines)),
            [
                value
                for line in order_lines
                for value in (
                    order.pk,
                    line.offer_line_id,
                    line.kind,
                    line.kit_id,
                    line.commodity_id,
                    line.quantity,
                    statements.db_decimal(line.unit_price),
                    statements.db_decimal(line.amount),
                )
            ],
        ),
        (statements.EVENT_INSERT, [order.pk, "", OrderStatus.PLACED, actor.pk, order.channel[:255], at]),
    ]
    if order.payment_method == PaymentMethod.ONLINE and order.total > 0:
        paid = payment_gateway().charge(
            PaymentRequest(order_id=order.pk, amount=order.total, method=order.payment_method)
        )
        batch.append(
            (
                statements.PAYMENT_INSERT,
                [
                    order.pk,
                    PaymentKind.CHARGE,
                    order.payment_method,
                    statements.db_decimal(paid.amount),
                    paid.gateway,
                    paid.reference,
                    actor.pk,
                    at,
                ],
            )
        )
    batch.append(
        (
            statements.AUDIT_INSERT,
            audit_row_values(
                actor=actor,
                action="order.place",
                target_type="order",
                target_id=order.pk,
                payload={
                    "household": household.household_id,
                    "supermarket": household.supermarket_id,
                    "delivery_date": order.delivery_date,
                    "channel": order.channel,
                    "proxy": order.is_proxy,
                    "payment_method": order.payment_method,
                    "lines": [[line.offer_line_id, line.quantity] for line in lines],
                    "total": order.total,
                },
                at=at,
            ),
        )
    )
    day = statements.db_date(order.delivery_date)
    for key, (quantity, cap, _index) in quotas.items():
        batch.append((statements.QUOTA_TAKE, [household.household_id, day, key, quantity, cap]))
    for line in sorted(lines, key=lambda line: line.offer_line_id):
        batch.append((statements.RESERVE, [line.quantity, line.offer_line_id]))
    return batch


def _over_cap(*, cap: int, index: int) -> Conflict:
    return Conflict(
        _("Your household may order at most %(cap)s of this per delivery day.") % {"cap": cap},
        field=f"lines[{index}].quantity",
        data={"cap": cap},
    )


def _refusal(
    error: IntegrityError,
    *,
    household_id: int,
    delivery_date: date,
    lines: Sequence[LineRequest],
    quotas: dict[str, tuple[int, int, int]],
) -> Exception:
    """What to tell the client after the database refused the order (nothing of it was written).

    The constraint says what was refused; the rows, read again now, say which line. Should they
    no longer show it (stock released by a cancellation in between), the line nearest to its
    limit is named, with what is left of it now.
    """
    constraint = violated_constraint(error)
    if constraint == f"unique:{IdempotencyKey._meta.db_table}":
        return KeyAlreadyStored()
    if constraint == "household_quota_within_cap":
        taken = dict(
            HouseholdQuota.objects.filter(household_id=household_id, delivery_date=delivery_date).values_list(
                "key", "taken"
            )
        )
        key = max(quotas, key=lambda key: taken.get(key, 0) + quotas[key][0] - quotas[key][1])
        return _over_cap(cap=quotas[key][1], index=quotas[key][2])
    if constraint == "offer_line_not_oversold":
        now = {
            pk: (quantity - reserved, is_active)
            for pk, quantity, reserved, is_active in OfferLine.objects.filter(
                pk__in=[line.offer_line_id for line in lines]
            ).values_list("pk", "quantity", "reserved", "is_active")
        }
        for index, line in enumerate(lines):
            if not now.get(line.offer_line_id, (0, False))[1]:
                return ValidationFailed(
                    _("Your supermarket does not offer this for %(day)s.") % {"day": delivery_date.isoformat()},
                    field=f"lines[{index}].offer_line_id",
                )
        index = min(range(len(lines)), key=lambda i: now[lines[i].offer_line_id][0] - lines[i].quantity)
        available = max(now[lines[index].offer_line_id][0], 0)
        return InsufficientStock(
            _("Only %(n)s left.") % {"n": available},
            field=f"lines[{index}].quantity",
            data={"available": available},
        )
    return error
