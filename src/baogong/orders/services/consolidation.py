"""Consolidation of placed orders into purchase orders, and the supermarket's confirmation (in full or short)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from baogong.core.errors import Conflict, PermissionDenied, ValidationFailed
from baogong.core.scoping import scope_of
from baogong.core.services import audit_record
from baogong.planning.allocation import AllocationRules, Claim, ItemDemand, Tier, allocate_item
from baogong.regions.models import Region

from ..models import (
    Order,
    OrderLine,
    OrderStatus,
    PaymentMethod,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
)
from ..selectors import order_window_get, orders_awaiting_consolidation, purchase_order_get
from .lifecycle import _order_settle_short
from .rules import SUPPLIER_ROLES, _validate_whole

if TYPE_CHECKING:
    from baogong.accounts.models import User

TIER_RANK = {Tier.RELIEF: 0, Tier.VULNERABLE: 1, Tier.CARRIED_OVER: 2, Tier.GENERAL: 3}


def purchase_orders_consolidate(
    *, delivery_date: date, actor: User | None = None, now: datetime | None = None
) -> list[PurchaseOrder]:
    """Gather the placed orders of each compound whose window has closed into one purchase order
    per supermarket, compound and day.

    Safe to run again (it is the cut-off task and can be re-run by hand): orders
    already in a purchase order are skipped, and a compound whose window is
    still open is left for a later run. Each purchase order is its own
    transaction, so one bad compound does not hold up the others.
    """
    moment = now or timezone.now()
    made: list[PurchaseOrder] = []
    compounds: dict[int, Region] = {}
    for supermarket_id, compound_id in orders_awaiting_consolidation(delivery_date=delivery_date):
        compound = compounds.get(compound_id) or Region.objects.get(pk=compound_id)
        compounds[compound_id] = compound
        if not order_window_get(compound=compound, delivery_date=delivery_date).has_closed(moment):
            continue
        made.append(
            _purchase_order_build(
                actor=actor, supermarket_id=supermarket_id, compound=compound, delivery_date=delivery_date
            )
        )
    return made


@transaction.atomic
def _purchase_order_build(
    *, actor: User | None, supermarket_id: int, compound: Region, delivery_date: date
) -> PurchaseOrder:
    purchase_order, _created = PurchaseOrder.objects.get_or_create(
        supermarket_id=supermarket_id, compound=compound, delivery_date=delivery_date
    )
    if purchase_order.status != PurchaseOrderStatus.OPEN:
        raise Conflict(_("This purchase order is already confirmed."), field="status")
    attached = Order.objects.filter(
        supermarket_id=supermarket_id,
        compound=compound,
        delivery_date=delivery_date,
        status=OrderStatus.PLACED,
        purchase_order__isnull=True,
    ).update(purchase_order=purchase_order)
    totals: dict[int, int] = defaultdict(int)
    amount = Decimal("0.00")
    for offer_line_id, quantity, line_amount in OrderLine.objects.filter(
        order__purchase_order=purchase_order, order__status=OrderStatus.PLACED
    ).values_list("offer_line_id", "quantity", "amount"):
        totals[offer_line_id] += quantity
        amount += line_amount
    purchase_order.lines.all().delete()
    PurchaseOrderLine.objects.bulk_create(
        PurchaseOrderLine(purchase_order=purchase_order, offer_line_id=offer_line_id, quantity=quantity)
        for offer_line_id, quantity in sorted(totals.items())
    )
    purchase_order.order_count = purchase_order.orders.filter(status=OrderStatus.PLACED).count()
    purchase_order.total = amount
    purchase_order.save(update_fields=["order_count", "total"])
    audit_record(
        actor=actor,
        action="purchase_order.consolidate",
        target_type="purchase_order",
        target_id=purchase_order.pk,
        payload={
            "supermarket": supermarket_id,
            "compound": compound.pk,
            "delivery_date": delivery_date,
            "orders_added": attached,
            "orders": purchase_order.order_count,
            "lines": {str(k): v for k, v in sorted(totals.items())},
        },
    )
    return purchase_order


@dataclass(frozen=True)
class Shortage:
    """The supermarket can deliver only `confirmed_quantity` of an offer line, because of `reason`."""

    offer_line_id: int
    confirmed_quantity: int
    reason: str


@transaction.atomic
def purchase_order_confirm(*, actor: User, purchase_order_id: int, shortages: Sequence[Shortage] = ()) -> PurchaseOrder:
    """Confirm a purchase order in full, or with shortages per line, and pass them on to the orders.

    A short line is shared out by the planner's allocation rules
    (`short_split`). Each affected order line gets its confirmed
    quantity and the reason; an order with nothing left becomes `short`, one
    with part left is confirmed as partial. What was paid online for goods
    that will not come is refunded; what is due on delivery is lowered.
    """
    scope = scope_of(actor)
    purchase_order = purchase_order_get(scope=scope, purchase_order_id=purchase_order_id)
    if scope.role not in SUPPLIER_ROLES:
        raise PermissionDenied(_("Only the supermarket's staff confirm its purchase orders."))
    po_lines = {line.offer_line_id: line for line in purchase_order.lines.all()}
    short_by_line: dict[int, Shortage] = {}
    for index, shortage in enumerate(shortages):
        field = f"shortages[{index}]"
        _validate_whole(shortage.offer_line_id, field=f"{field}.offer_line_id", minimum=1, maximum=2**63 - 1)
        po_line = po_lines.get(shortage.offer_line_id)
        if po_line is None:
            raise ValidationFailed(_("This line is not in the purchase order."), field=f"{field}.offer_line_id")
        if shortage.offer_line_id in short_by_line:
            raise ValidationFailed(_("This line is listed twice."), field=f"{field}.offer_line_id")
        _validate_whole(
            shortage.confirmed_quantity, field=f"{field}.confirmed_quantity", minimum=0, maximum=po_line.quantity - 1
        )
        if not shortage.reason.strip():
            raise ValidationFailed(_("Give the reason for the shortage."), field=f"{field}.reason")
        short_by_line[shortage.offer_line_id] = shortage
    target = PurchaseOrderStatus.SHORT_CONFIRMED if short_by_line else PurchaseOrderStatus.CONFIRMED
    changed = PurchaseOrder.objects.filter(pk=purchase_order.pk, status=PurchaseOrderStatus.OPEN).update(
        status=target, confirmed_at=timezone.now(), confirmed_by=actor
    )
    if changed != 1:
        raise Conflict(_("This purchase order is already confirmed."), field="status")
    purchase_order.refresh_from_db()
    for po_line in po_lines.values():
        line_shortage = short_by_line.get(po_line.offer_line_id)
        po_line.confirmed_quantity = line_shortage.confirmed_quantity if line_shortage else po_line.quantity
        po_line.short_reason = line_shortage.reason.strip()[:255] if line_shortage else ""
    PurchaseOrderLine.objects.bulk_update(list(po_lines.values()), ["confirmed_quantity", "short_reason"])

    order_lines = list(
        OrderLine.objects.filter(order__purchase_order=purchase_order, order__status=OrderStatus.PLACED)
        .select_related("order", "order__household")
        .order_by("id")
    )
    by_offer: dict[int, list[OrderLine]] = defaultdict(list)
    for line in order_lines:
        if line.offer_line_id in short_by_line:
            by_offer[line.offer_line_id].append(line)
        else:
            line.confirmed_quantity = line.quantity
    for offer_line_id, lines in by_offer.items():
        line_shortage = short_by_line[offer_line_id]
        granted = short_split(lines=lines, supply=line_shortage.confirmed_quantity)
        for line in lines:
            line.confirmed_quantity = granted[line.pk]
            line.short_reason = line_shortage.reason.strip()[:255] if granted[line.pk] < line.quantity else ""
    OrderLine.objects.bulk_update(order_lines, ["confirmed_quantity", "short_reason"])

    by_order: dict[int, list[OrderLine]] = defaultdict(list)
    for line in order_lines:
        by_order[line.order_id].append(line)
    for lines in by_order.values():
        _order_confirm(actor=actor, order=lines[0].order, lines=lines)
    audit_record(
        actor=actor,
        action="purchase_order.confirm",
        target_type="purchase_order",
        target_id=purchase_order.pk,
        payload={
            "status": target,
            "orders": len(by_order),
            "shortages": [
                {"offer_line": s.offer_line_id, "confirmed": s.confirmed_quantity} for s in short_by_line.values()
            ],
        },
    )
    return purchase_order


def _claim_tier(order: Order) -> Tier:
    if order.payment_method == PaymentMethod.FREE:
        return Tier.RELIEF
    if order.household.vulnerability_mask:
        return Tier.VULNERABLE
    return Tier.GENERAL


def short_split(
    *, lines: Sequence[OrderLine], supply: int, wanted: Callable[[OrderLine], int] | None = None
) -> dict[int, int]:
    """Share `supply` units of one offer line among its order lines; returns units per order line id.

    The same rules as the day's allocation run (planning/allocation.py, default
    `AllocationRules`): relief orders, then vulnerable households, in full
    while supply lasts; then everyone else by max-min fair share weighted by
    household size, with a floor of one unit when supply covers everyone's
    floor; whole units by largest remainder. A household with several orders
    on the line is one claim; its units go to its earliest orders first. The
    lines need `order` and `order.household` loaded. `wanted` says how many
    units a line asks for (default: what was ordered; the gate passes what the
    supermarket had confirmed); lines wanting none get none.
    """
    want = wanted or (lambda line: line.quantity)
    granted: dict[int, int] = {line.pk: 0 for line in lines}
    claims: dict[int, list[OrderLine]] = defaultdict(list)
    for line in lines:
        if want(line) > 0:
            claims[line.order.household_id].append(line)
    demand = ItemDemand(
        item="offer-line",
        supply=supply,
        claims=tuple(
            Claim(
                household_id=household_id,
                # A household counts in its highest tier: relief if any of its orders is relief.
                tier=min((_claim_tier(line.order) for line in own), key=TIER_RANK.__getitem__),
                weight=own[0].order.household.size,
                ordered=sum(want(line) for line in own),
                ordered_at=min(line.order.created_at for line in own),
            )
            for household_id, own in sorted(claims.items())
        ),
    )
    allocated = {
        r.claim.household_id: r.allocated for r in allocate_item(demand=demand, rules=AllocationRules()).results
    }
    for household_id, own in claims.items():
        left = allocated[household_id]
        for line in sorted(own, key=lambda line: (line.order.created_at, line.order_id, line.pk)):
            granted[line.pk] = min(want(line), left)
            left -= granted[line.pk]
    return granted


def _order_confirm(*, actor: User, order: Order, lines: list[OrderLine]) -> None:
    _order_settle_short(
        actor=actor,
        order=order,
        lines=lines,
        from_statuses=[OrderStatus.PLACED],
        kept_status=OrderStatus.CONFIRMED,
        kept_action="order.confirm",
    )
