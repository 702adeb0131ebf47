"""Writes of what supermarkets offer for a delivery day, and of the ordering windows of areas."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext as _

from baogong.accounts.models import Role
from baogong.catalog.models import Commodity, Kit
from baogong.core.errors import Conflict, PermissionDenied, ValidationFailed
from baogong.core.scoping import scope_of
from baogong.core.services import audit_record
from baogong.enterprises.models import EnterpriseType, Organisation
from baogong.regions.models import Region
from baogong.regions.selectors import region_get

from ..models import OfferKind, OfferLine, OrderWindow
from .rules import AREA_ADMIN_ROLES, MAX_HOUSEHOLD_CAP, MAX_OFFER_QUANTITY, MAX_PRICE, _validate_whole

if TYPE_CHECKING:
    from baogong.accounts.models import User


def _supermarket_validate(supermarket: Organisation) -> None:
    if supermarket.enterprise_type != EnterpriseType.SUPERMARKET or not supermarket.is_active:
        raise ValidationFailed(_("Choose an active supermarket."), field="supermarket")


def _actor_runs_supermarket(actor: User, supermarket: Organisation) -> None:
    scope = scope_of(actor)
    if scope.is_command:
        return
    if scope.role == Role.SUPPLIER and scope.organisation_id == supermarket.pk:
        return
    raise PermissionDenied(_("Only the supermarket's own staff or the command office can do this."))


@transaction.atomic
def offer_line_publish(
    *,
    actor: User,
    supermarket: Organisation,
    delivery_date: date,
    price: Decimal,
    quantity: int,
    kit: Kit | None = None,
    commodity: Commodity | None = None,
    household_cap: int = 1,
) -> OfferLine:
    """Publish (or update) what a supermarket offers for a delivery day.

    A standard package names a `kit`, an individual item a `commodity`. An
    existing line keeps what is already ordered: its quantity cannot drop
    below `reserved` (checked by the same conditional UPDATE that sets it).
    """
    _actor_runs_supermarket(actor, supermarket)
    _supermarket_validate(supermarket)
    if (kit is None) == (commodity is None):
        raise ValidationFailed(_("Offer either a standard package or an individual item."), field="kit")
    _validate_whole(quantity, field="quantity", minimum=0, maximum=MAX_OFFER_QUANTITY)
    _validate_whole(household_cap, field="household_cap", minimum=1, maximum=MAX_HOUSEHOLD_CAP)
    if not isinstance(price, Decimal) or not price.is_finite() or price < 0 or price > MAX_PRICE:
        raise ValidationFailed(_("The price must be between 0 and 100,000 yuan."), field="price")
    price = price.quantize(Decimal("0.01"))
    weight = None
    if kit is not None:
        weight = sum(
            (line.quantity * line.commodity.weight_kg for line in kit.lines.select_related("commodity")), Decimal(0)
        )
    existing = OfferLine.objects.filter(supermarket=supermarket, delivery_date=delivery_date)
    line = (existing.filter(kit=kit) if kit is not None else existing.filter(commodity=commodity)).first()
    if line is None:
        line = OfferLine.objects.create(
            supermarket=supermarket,
            delivery_date=delivery_date,
            kind=OfferKind.PACKAGE if kit is not None else OfferKind.ITEM,
            kit=kit,
            commodity=commodity,
            price=price,
            quantity=quantity,
            household_cap=household_cap,
            weight_kg=weight,
            published_by=actor,
        )
        action = "offer.publish"
    else:
        changed = OfferLine.objects.filter(pk=line.pk, reserved__lte=quantity).update(
            price=price, quantity=quantity, household_cap=household_cap, is_active=True, weight_kg=weight
        )
        if changed != 1:
            line.refresh_from_db()
            raise Conflict(
                _("%(reserved)s are already ordered; the quantity cannot be lower.") % {"reserved": line.reserved},
                field="quantity",
            )
        line.refresh_from_db()
        action = "offer.update"
    audit_record(
        actor=actor,
        action=action,
        target_type="offer_line",
        target_id=line.pk,
        payload={
            "supermarket": supermarket.pk,
            "delivery_date": delivery_date,
            "kit": kit.code if kit else None,
            "commodity": commodity.code if commodity else None,
            "price": price,
            "quantity": quantity,
            "household_cap": household_cap,
        },
    )
    return line


@transaction.atomic
def offer_line_withdraw(*, actor: User, offer_line: OfferLine) -> OfferLine:
    """Stop offering a line to new orders; orders already placed keep it."""
    _actor_runs_supermarket(actor, offer_line.supermarket)
    OfferLine.objects.filter(pk=offer_line.pk).update(is_active=False)
    offer_line.is_active = False
    audit_record(actor=actor, action="offer.withdraw", target_type="offer_line", target_id=offer_line.pk)
    return offer_line


@transaction.atomic
def order_window_set(
    *,
    actor: User,
    region: Region,
    opens_days_before: int,
    opens_at: time,
    closes_days_before: int,
    closes_at: time,
) -> OrderWindow:
    """Set the ordering window of an area (county, subdistrict, community or compound).

    Compounds below take the rule of their nearest area that has one.
    """
    scope = scope_of(actor)
    if scope.role not in AREA_ADMIN_ROLES:
        raise PermissionDenied()
    region_get(scope=scope, region_id=region.pk)
    _validate_whole(opens_days_before, field="opens_days_before", minimum=0, maximum=14)
    _validate_whole(closes_days_before, field="closes_days_before", minimum=0, maximum=14)
    if (opens_days_before, -opens_at.hour * 60 - opens_at.minute) <= (
        closes_days_before,
        -closes_at.hour * 60 - closes_at.minute,
    ):
        raise ValidationFailed(_("Ordering must open before it closes."), field="closes_at")
    window, _created = OrderWindow.objects.update_or_create(
        region=region,
        defaults={
            "opens_days_before": opens_days_before,
            "opens_at": opens_at,
            "closes_days_before": closes_days_before,
            "closes_at": closes_at,
            "updated_by": actor,
        },
    )
    audit_record(
        actor=actor,
        action="order_window.set",
        target_type="region",
        target_id=region.pk,
        payload={
            "opens": f"D-{opens_days_before} {opens_at:%H:%M}",
            "closes": f"D-{closes_days_before} {closes_at:%H:%M}",
        },
    )
    return window
