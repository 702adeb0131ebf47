"""What the gate check does to households' orders: arrival, verification, and shortfalls found at the gate.

The gate (the delivery app's receiving service) counts what a purchase order
really brought. What arrived usable of an item is shared again among the
orders of that purchase order by the same rules as a short confirmation and
the day's allocation run (`consolidation.short_split`): relief orders and
vulnerable households first, in full while it lasts, then max-min fair
share by household size with a floor of one unit, each capped at what the
supermarket had confirmed for it. So a shortage at the gate never takes
goods from an elderly resident living alone while an ordinary order still
has them, and households of the same tier lose in proportion, not by who
ordered last.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from django.db import transaction

from baogong.regions.models import Region

from ..models import (
    Order,
    OrderLine,
    OrderStatus,
    PurchaseOrder,
)
from .consolidation import short_split
from .lifecycle import _order_settle_short, _reason_join, _transition

if TYPE_CHECKING:
    from baogong.accounts.models import User

# Orders whose goods are on their way to the gate. A supermarket that did not
# record picking or loading does not hold the count up: what is at the gate is at the gate.
IN_TRANSIT_STATUSES = (OrderStatus.CONFIRMED, OrderStatus.PICKED, OrderStatus.LOADED, OrderStatus.AT_GATE)
BEFORE_GATE_STATUSES = (OrderStatus.CONFIRMED, OrderStatus.PICKED, OrderStatus.LOADED)


@dataclass(frozen=True)
class GateShortfall:
    """`units` of an offer line of the purchase order did not arrive usable, because of `reason`."""

    offer_line_id: int
    units: int
    reason: str


@dataclass(frozen=True)
class OrderLineCut:
    """How many units one order lost on one offer line."""

    order_id: int
    offer_line_id: int
    units: int


def orders_in_transit(*, purchase_order_ids: Sequence[int]) -> list[Order]:
    """The orders of these purchase orders still on their way, locked in primary-key order."""
    return list(
        Order.objects.select_for_update()
        .filter(purchase_order_id__in=list(purchase_order_ids), status__in=IN_TRANSIT_STATUSES)
        .order_by("pk")
    )


@transaction.atomic
def orders_arrive_at_gate(*, actor: User, compound: Region, delivery_date: date) -> int:
    """A vehicle reached the compound: its day's loaded orders are now at the gate. Returns how many moved."""
    orders = list(
        Order.objects.select_for_update()
        .filter(compound=compound, delivery_date=delivery_date, status=OrderStatus.LOADED)
        .order_by("pk")
    )
    for order in orders:
        _transition(
            order=order,
            actor=actor,
            from_statuses=[OrderStatus.LOADED],
            to_status=OrderStatus.AT_GATE,
            action="order.at_gate",
        )
    return len(orders)


def _confirmed_of(confirmed: dict[int, int]) -> Callable[[OrderLine], int]:
    def wanted(line: OrderLine) -> int:
        return confirmed[line.pk]

    return wanted


@transaction.atomic
def orders_gate_verify(
    *, actor: User, purchase_order: PurchaseOrder, shortfalls: Sequence[GateShortfall], note: str = ""
) -> list[OrderLineCut]:
    """Take the gate's shortfalls out of the purchase order's orders and mark them checked at the gate.

    Each order in transit moves to `at_gate` (if it was not there yet) and then
    to `verified`, or to `short` when nothing of it is left. Amounts due are
    recomputed from what is left; money paid online for what will not come is
    refunded. Returns every cut made, in the order it was made.
    """
    orders = orders_in_transit(purchase_order_ids=[purchase_order.pk])
    by_id = {order.pk: order for order in orders}
    lines = list(
        OrderLine.objects.filter(order_id__in=list(by_id)).select_related("order__household").order_by("order_id", "id")
    )
    for line in lines:
        # The household object carries the vulnerability; the order object must be the locked one.
        household = line.order.household
        line.order = by_id[line.order_id]
        line.order.household = household
        if line.confirmed_quantity is None:
            line.confirmed_quantity = line.quantity
    cuts: list[OrderLineCut] = []
    touched: set[int] = set()
    for shortfall in shortfalls:
        item_lines = [line for line in lines if line.offer_line_id == shortfall.offer_line_id]
        confirmed = {line.pk: line.confirmed_quantity or 0 for line in item_lines}
        usable = max(0, sum(confirmed.values()) - shortfall.units)
        granted = short_split(lines=item_lines, supply=usable, wanted=_confirmed_of(confirmed))
        for line in item_lines:
            taken = confirmed[line.pk] - granted[line.pk]
            if taken == 0:
                continue
            line.confirmed_quantity = granted[line.pk]
            line.short_reason = _reason_join(line.short_reason, shortfall.reason)
            touched.add(line.pk)
            cuts.append(OrderLineCut(order_id=line.order_id, offer_line_id=line.offer_line_id, units=taken))
    OrderLine.objects.bulk_update(
        [line for line in lines if line.pk in touched], ["confirmed_quantity", "short_reason"]
    )
    lines_of: dict[int, list[OrderLine]] = defaultdict(list)
    for line in lines:
        lines_of[line.order_id].append(line)
    cut_orders = {cut.order_id for cut in cuts}
    for order in orders:
        if order.status in BEFORE_GATE_STATUSES:
            _transition(
                order=order,
                actor=actor,
                from_statuses=BEFORE_GATE_STATUSES,
                to_status=OrderStatus.AT_GATE,
                note=note,
                action="order.at_gate",
            )
        if order.pk in cut_orders:
            _order_settle_short(
                actor=actor,
                order=order,
                lines=lines_of[order.pk],
                from_statuses=[OrderStatus.AT_GATE],
                kept_status=OrderStatus.VERIFIED,
                kept_action="order.verify",
                note=note,
            )
        else:
            _transition(
                order=order,
                actor=actor,
                from_statuses=[OrderStatus.AT_GATE],
                to_status=OrderStatus.VERIFIED,
                note=note,
                action="order.verify",
            )
    return cuts
