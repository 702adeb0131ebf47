"""The status machine of an order after it is placed: cancel, pick, load, gate, deliver, fail; payments and refunds."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from baogong.accounts.models import Role
from baogong.core.errors import Conflict, PermissionDenied, ValidationFailed
from baogong.core.scoping import scope_of
from baogong.core.services import audit_record

from ..models import (
    HouseholdQuota,
    OfferLine,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    Payment,
    PaymentKind,
    PaymentMethod,
    PaymentStatus,
)
from ..payments import PaymentRequest, payment_gateway
from ..selectors import order_get, order_window_get
from .rules import GATE_ROLES, PROXY_ROLES, SUPPLIER_ROLES, _quota_key

if TYPE_CHECKING:
    from baogong.accounts.models import User


def _quota_release(*, household_id: int, delivery_date: date, key: str, quantity: int) -> None:
    HouseholdQuota.objects.filter(
        household_id=household_id, delivery_date=delivery_date, key=key, taken__gte=quantity
    ).update(taken=F("taken") - quantity)


def _release(*, offer_line_id: int, quantity: int) -> None:
    OfferLine.objects.filter(pk=offer_line_id, reserved__gte=quantity).update(reserved=F("reserved") - quantity)


def _event(*, order: Order, actor: User | None, from_status: str, to_status: str, note: str = "") -> None:
    OrderEvent.objects.create(
        order=order,
        from_status=from_status,
        to_status=to_status,
        actor=actor if actor is not None and actor.is_authenticated else None,
        note=note[:255],
    )


def _payment_record(*, order: Order, kind: str, amount: Decimal, actor: User | None, method: str = "") -> Payment:
    gateway = payment_gateway()
    request = PaymentRequest(order_id=order.pk, amount=amount, method=method or order.payment_method)
    result = gateway.charge(request) if kind == PaymentKind.CHARGE else gateway.refund(request)
    return Payment.objects.create(
        order=order,
        kind=kind,
        method=request.method,
        amount=result.amount,
        gateway=result.gateway,
        reference=result.reference,
        actor=actor if actor is not None and actor.is_authenticated else None,
    )


def _transition(
    *,
    order: Order,
    actor: User | None,
    from_statuses: Sequence[str],
    to_status: str,
    note: str = "",
    action: str,
    **changes: Any,
) -> Order:
    """Move an order from one of `from_statuses` to `to_status`, or refuse with Conflict.

    The status is checked by the UPDATE itself, so two people pressing
    "delivered" and "failed" at the same moment cannot both win.
    """
    changed = Order.objects.filter(pk=order.pk, status__in=list(from_statuses)).update(
        status=to_status, updated_at=timezone.now(), **changes
    )
    if changed != 1:
        current = Order.objects.values_list("status", flat=True).get(pk=order.pk)
        raise Conflict(
            _("An order that is %(current)s cannot become %(target)s.")
            % {"current": OrderStatus(current).label, "target": OrderStatus(to_status).label},
            field="status",
            data={"status": current},
        )
    from_status = order.status
    order.status = to_status
    for name, value in changes.items():
        setattr(order, name, value)
    _event(order=order, actor=actor, from_status=from_status, to_status=to_status, note=note)
    audit_record(
        actor=actor,
        action=action,
        target_type="order",
        target_id=order.pk,
        # Reasons are free text and may name people: they stay on the order, not in the audit log.
        payload={"from": from_status, "to": to_status, "with_reason": bool(note)},
    )
    return order


def _reason_join(*reasons: str) -> str:
    return "; ".join(reason for reason in reasons if reason)[:255]


def _order_settle_short(
    *,
    actor: User,
    order: Order,
    lines: Sequence[OrderLine],
    from_statuses: Sequence[str],
    kept_status: str,
    kept_action: str,
    note: str = "",
) -> None:
    """Settle an order whose lines' confirmed quantities were cut (by the supermarket or at the gate).

    The amount due becomes what is left (nothing for relief); money paid
    online for what will not come is refunded. An order with nothing left
    becomes `short`, otherwise `kept_status`, partial when any line is short.
    """
    left_amount = sum((line.unit_price * (line.confirmed_quantity or 0) for line in lines), Decimal("0.00"))
    nothing_left = all((line.confirmed_quantity or 0) == 0 for line in lines)
    partial = not nothing_left and any((line.confirmed_quantity or 0) < line.quantity for line in lines)
    reason = _reason_join(*sorted({line.short_reason for line in lines if line.short_reason}))
    new_due = Decimal("0.00") if order.payment_method == PaymentMethod.FREE else left_amount
    refund = order.amount_due - new_due if order.payment_status == PaymentStatus.PAID else Decimal("0.00")
    changes: dict[str, Any] = {"amount_due": new_due, "is_partial": partial, "reason": reason}
    if nothing_left and order.payment_status == PaymentStatus.PAID:
        changes["payment_status"] = PaymentStatus.REFUNDED
    _transition(
        order=order,
        actor=actor,
        from_statuses=from_statuses,
        to_status=OrderStatus.SHORT if nothing_left else kept_status,
        note=_reason_join(note, reason),
        action="order.short" if nothing_left else kept_action,
        **changes,
    )
    if refund > 0:
        _payment_record(order=order, kind=PaymentKind.REFUND, amount=refund, actor=actor)


def _order_for(*, actor: User, order_id: int, roles: frozenset[str] | None = None) -> Order:
    scope = scope_of(actor)
    order = order_get(scope=scope, order_id=order_id)
    if roles is not None and scope.role not in roles:
        raise PermissionDenied()
    return order


@transaction.atomic
def order_cancel(*, actor: User, order_id: int, reason: str, now: datetime | None = None) -> Order:
    """Cancel a placed order before cut-off: release its goods and caps, refund what was paid online.

    After cut-off the supermarket is already buying for it; the order can then
    only fail at delivery.
    """
    cleaned = reason.strip()
    if not cleaned:
        raise ValidationFailed(_("A reason is required."), field="reason")
    scope = scope_of(actor)
    order = order_get(scope=scope, order_id=order_id)
    if scope.household_id is None and scope.role not in PROXY_ROLES | {Role.COMMAND}:
        raise PermissionDenied()
    window = order_window_get(compound=order.compound, delivery_date=order.delivery_date)
    if window.has_closed(now or timezone.now()):
        raise Conflict(
            _("Orders can be cancelled only before the cut-off at %(closes)s.")
            % {"closes": f"{timezone.localtime(window.closes_at):%Y-%m-%d %H:%M}"},
            field="status",
        )
    paid = order.payment_status == PaymentStatus.PAID and order.amount_due > 0
    refund = order.amount_due if paid else Decimal("0.00")
    _transition(
        order=order,
        actor=actor,
        from_statuses=[OrderStatus.PLACED],
        to_status=OrderStatus.CANCELLED,
        note=cleaned[:255],
        action="order.cancel",
        reason=cleaned[:255],
        amount_due=Decimal("0.00"),
        **({"payment_status": PaymentStatus.REFUNDED} if paid else {}),
    )
    lines = list(order.lines.select_related("offer_line__kit").order_by("offer_line_id"))
    released: dict[str, int] = defaultdict(int)
    for line in lines:
        released[_quota_key(line.offer_line)] += line.quantity
    for key in sorted(released):
        _quota_release(
            household_id=order.household_id, delivery_date=order.delivery_date, key=key, quantity=released[key]
        )
    for line in lines:
        _release(offer_line_id=line.offer_line_id, quantity=line.quantity)
    if refund > 0:
        _payment_record(order=order, kind=PaymentKind.REFUND, amount=refund, actor=actor)
    return order


@transaction.atomic
def order_pick(*, actor: User, order_id: int) -> Order:
    """The supermarket has picked and packed the order."""
    order = _order_for(actor=actor, order_id=order_id, roles=SUPPLIER_ROLES)
    return _transition(
        order=order,
        actor=actor,
        from_statuses=[OrderStatus.CONFIRMED],
        to_status=OrderStatus.PICKED,
        action="order.pick",
    )


@transaction.atomic
def order_load(*, actor: User, order_id: int) -> Order:
    order = _order_for(actor=actor, order_id=order_id, roles=SUPPLIER_ROLES)
    return _transition(
        order=order,
        actor=actor,
        from_statuses=[OrderStatus.PICKED],
        to_status=OrderStatus.LOADED,
        action="order.load",
    )


@transaction.atomic
def order_arrive_at_gate(*, actor: User, order_id: int) -> Order:
    order = _order_for(actor=actor, order_id=order_id, roles=GATE_ROLES)
    return _transition(
        order=order,
        actor=actor,
        from_statuses=[OrderStatus.LOADED],
        to_status=OrderStatus.AT_GATE,
        action="order.at_gate",
    )


@transaction.atomic
def order_verify(*, actor: User, order_id: int) -> Order:
    """Checked at the gate (sealed bag, right compound) before volunteers take it in."""
    order = _order_for(actor=actor, order_id=order_id, roles=GATE_ROLES)
    return _transition(
        order=order,
        actor=actor,
        from_statuses=[OrderStatus.AT_GATE],
        to_status=OrderStatus.VERIFIED,
        action="order.verify",
    )


@transaction.atomic
def order_deliver(*, actor: User, order_id: int, paid_by: str = "") -> Order:
    """Handed over to the household. Orders to pay on delivery record the cash or scan payment here (P9)."""
    order = _order_for(actor=actor, order_id=order_id, roles=GATE_ROLES)
    changes: dict[str, Any] = {}
    if order.payment_status == PaymentStatus.DUE and order.amount_due > 0:
        method = paid_by or order.payment_method
        if method not in (PaymentMethod.CASH, PaymentMethod.SCAN):
            raise ValidationFailed(_("Record whether it was paid in cash or by scan."), field="paid_by")
        changes["payment_status"] = PaymentStatus.PAID
        changes["payment_method"] = method
    _transition(
        order=order,
        actor=actor,
        from_statuses=[OrderStatus.VERIFIED],
        to_status=OrderStatus.DELIVERED,
        action="order.deliver",
        **changes,
    )
    if changes:
        _payment_record(
            order=order, kind=PaymentKind.CHARGE, amount=order.amount_due, actor=actor, method=changes["payment_method"]
        )
    return order


@transaction.atomic
def order_fail(*, actor: User, order_id: int, reason: str) -> Order:
    """Delivery failed (nobody home, damaged, refused); money paid online is refunded."""
    cleaned = reason.strip()
    if not cleaned:
        raise ValidationFailed(_("A reason is required."), field="reason")
    order = _order_for(actor=actor, order_id=order_id, roles=GATE_ROLES | SUPPLIER_ROLES)
    paid = order.payment_status == PaymentStatus.PAID and order.amount_due > 0
    refund = order.amount_due if paid else Decimal("0.00")
    _transition(
        order=order,
        actor=actor,
        from_statuses=[
            OrderStatus.CONFIRMED,
            OrderStatus.PICKED,
            OrderStatus.LOADED,
            OrderStatus.AT_GATE,
            OrderStatus.VERIFIED,
        ],
        to_status=OrderStatus.FAILED,
        note=cleaned[:255],
        action="order.fail",
        reason=cleaned[:255],
        **({"payment_status": PaymentStatus.REFUNDED} if paid else {}),
    )
    if refund > 0:
        _payment_record(order=order, kind=PaymentKind.REFUND, amount=refund, actor=actor)
    return order
