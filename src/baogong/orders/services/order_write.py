"""The writes of a new order inside its transaction, after the key claim (see `placing`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.translation import gettext as _

from baogong.core.errors import Conflict, InsufficientStock, ValidationFailed
from baogong.core.services import audit_row_values

from .. import statements
from ..models import (
    Channel,
    DeliveryMode,
    OfferLine,
    Order,
    OrderLine,
    OrderStatus,
    PaymentKind,
    PaymentMethod,
    PaymentStatus,
)
from ..payments import PaymentRequest, payment_gateway
from ..selectors import order_present
from .rules import _quota_key

if TYPE_CHECKING:
    from baogong.accounts.models import User

    from .placing import LineRequest, _OrderingHousehold


def _order_write(
    *,
    actor: User,
    household: _OrderingHousehold,
    delivery_date: date,
    lines: Sequence[LineRequest],
    offers: dict[int, OfferLine],
    channel: str,
    payment_method: str,
    read_back_confirmed: bool,
    read_back_note: str,
    delivery_mode: str,
    idempotency_key: str,
) -> tuple[Order, dict[str, Any]]:
    """Inside the transaction, after the key claim: the order row, then one batch of the rest.

    The batch writes the lines, the event, the payment, the audit row and the
    key's stored answer, then takes the household caps and last the offer
    quantities (the hot rows, so their row locks are held only from there
    to COMMIT). Rows of one kind go in key order, caps before offers, so
    concurrent orders cannot deadlock.
    """
    if payment_method == PaymentMethod.FREE:
        payment_status = PaymentStatus.WAIVED
    elif payment_method == PaymentMethod.ONLINE:
        payment_status = PaymentStatus.PAID
    else:
        payment_status = PaymentStatus.DUE
    order_lines = [
        OrderLine(
            offer_line=offers[line.offer_line_id],
            kind=offers[line.offer_line_id].kind,
            kit=offers[line.offer_line_id].kit,
            commodity=offers[line.offer_line_id].commodity,
            quantity=line.quantity,
            unit_price=offers[line.offer_line_id].price,
            amount=offers[line.offer_line_id].price * line.quantity,
            short_reason="",
        )
        for line in lines
    ]
    total = sum((line.amount for line in order_lines), Decimal("0.00"))
    # A free order owes nothing; the supermarket is paid by the relief budget, not the household.
    amount_due = Decimal("0.00") if payment_method == PaymentMethod.FREE else total
    created = timezone.now()
    order = Order(
        household_id=household.household_id,
        compound_id=household.compound_id,
        building_id=household.building_id,
        unit_id=household.unit_id,
        supermarket_id=household.supermarket_id,
        delivery_date=delivery_date,
        channel=channel,
        placed_by=actor,
        read_back_confirmed=read_back_confirmed,
        read_back_note=read_back_note,
        status=OrderStatus.PLACED,
        delivery_mode=delivery_mode,
        pickup_slot=household.pickup_slot if delivery_mode == DeliveryMode.PICKUP else "",
        payment_method=payment_method,
        payment_status=payment_status,
        total=total,
        amount_due=amount_due,
        is_partial=False,
        reason="",
        created_at=created,
        updated_at=created,
    )
    at = statements.db_datetime(created)
    [(order.pk,)] = statements.rows(
        statements.run(
            [
                (
                    statements.ORDER_INSERT,
                    [
                        order.household_id,
                        order.compound_id,
                        order.building_id,
                        order.unit_id,
                        order.supermarket_id,
                        statements.db_date(delivery_date),
                        channel,
                        actor.pk,
                        read_back_confirmed,
                        read_back_note,
                        order.status,
                        delivery_mode,
                        order.pickup_slot,
                        payment_method,
                        payment_status,
                        statements.db_decimal(total),
                        statements.db_decimal(amount_due),
                        False,
                        "",
                        at,
                        at,
                    ],
                )
            ]
        )[0]
    )
    for order_line in order_lines:
        order_line.order = order
    supermarket_name: str = offers[lines[0].offer_line_id].supermarket_name  # type: ignore[attr-defined]
    body = order_present(order=order, lines=order_lines, supermarket_name=supermarket_name)
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
        (statements.EVENT_INSERT, [order.pk, "", OrderStatus.PLACED, actor.pk, channel[:255], at]),
    ]
    if payment_method == PaymentMethod.ONLINE and total > 0:
        paid = payment_gateway().charge(PaymentRequest(order_id=order.pk, amount=total, method=payment_method))
        batch.append(
            (
                statements.PAYMENT_INSERT,
                [
                    order.pk,
                    PaymentKind.CHARGE,
                    payment_method,
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
                    "delivery_date": delivery_date,
                    "channel": channel,
                    "proxy": channel != Channel.ONLINE,
                    "payment_method": payment_method,
                    "lines": [[line.offer_line_id, line.quantity] for line in lines],
                    "total": total,
                },
                at=at,
            ),
        )
    )
    batch.append((statements.KEY_COMPLETE, [201, json.dumps(body), order.pk, actor.pk, idempotency_key]))
    index_of = {line.offer_line_id: index for index, line in enumerate(lines)}
    quotas: dict[str, list[int]] = {}
    quota_line: dict[str, int] = {}
    for order_line in order_lines:
        offer = order_line.offer_line
        key = _quota_key(offer)
        taken, cap = quotas.get(key, [0, offer.household_cap])
        quotas[key] = [taken + order_line.quantity, min(cap, offer.household_cap)]
        quota_line.setdefault(key, index_of[offer.pk])
    # A request above the cap fails without a statement: the insert would break the CHECK.
    quota_keys = [key for key in sorted(quotas) if quotas[key][0] <= quotas[key][1]]
    for key in quota_keys:
        quantity, cap = quotas[key]
        batch.append(
            (statements.QUOTA_TAKE, [household.household_id, statements.db_date(delivery_date), key, quantity, cap])
        )
    reserves = sorted(lines, key=lambda line: line.offer_line_id)
    for line in reserves:
        batch.append((statements.RESERVE, [line.quantity, line.offer_line_id, line.quantity]))
    results = statements.run(batch)
    first_quota = len(batch) - len(reserves) - len(quota_keys)
    quota_results = dict(zip(quota_keys, results[first_quota : len(batch) - len(reserves)], strict=True))
    for key in sorted(quotas):
        if key not in quota_results or not statements.rows(quota_results[key]):
            cap = quotas[key][1]
            raise Conflict(
                _("Your household may order at most %(cap)s of this per delivery day.") % {"cap": cap},
                field=f"lines[{quota_line[key]}].quantity",
                data={"cap": cap},
            )
    for line, result in zip(reserves, results[len(batch) - len(reserves) :], strict=True):
        if not statements.rows(result):
            quantity_now, reserved_now, active_now = (
                OfferLine.objects.filter(pk=line.offer_line_id).values_list("quantity", "reserved", "is_active").get()
            )
            if not active_now:
                raise ValidationFailed(
                    _("Your supermarket does not offer this for %(day)s.") % {"day": delivery_date.isoformat()},
                    field=f"lines[{index_of[line.offer_line_id]}].offer_line_id",
                )
            raise InsufficientStock(
                _("Only %(n)s left.") % {"n": quantity_now - reserved_now},
                field=f"lines[{index_of[line.offer_line_id]}].quantity",
                data={"available": quantity_now - reserved_now},
            )
    return order, body
