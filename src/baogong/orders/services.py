"""Writes of the ordering system: offers, windows, orders, their status, payments, purchase orders.

Placing an order is one database transaction (Brandur's "map the request onto
one transaction"): after plain reads and checks, claim the idempotency key,
write the order, then take the household's quota and the offer quantities
with conditional statements, then commit. A 2xx answer therefore always
means a committed order, and a failed request leaves nothing behind. It is
the request of the 06:00 rush, so it runs hand-written statements in
batches (see `statements`) rather than one ORM query per row.

Concurrency: quantities and caps change only through single conditional
statements (`reserved + n <= quantity`, `taken + n <= cap`) that the database
re-checks against the committed row after waiting for a concurrent writer,
so no interleaving can oversell. Hot rows (an offer line everyone wants at
06:00) are touched last, so their row lock is held only from that UPDATE to
COMMIT. Rows of one kind are always touched in key order, quota rows before
offer rows, so concurrent orders cannot deadlock. On SQLite the transaction
is IMMEDIATE (see settings) and writers simply queue.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from baogong.accounts.models import Role
from baogong.catalog.models import Commodity, Kit
from baogong.core.errors import (
    BadRequest,
    Conflict,
    IdempotencyKeyReused,
    InsufficientStock,
    NotFound,
    PermissionDenied,
    RequestInProgress,
    ValidationFailed,
)
from baogong.core.middleware import current_request_id
from baogong.core.scoping import scope_of
from baogong.core.services import audit_record
from baogong.enterprises.models import EnterpriseType, Organisation
from baogong.regions.models import Region, ZoneStatusKind
from baogong.regions.selectors import region_get

from . import statements
from .models import (
    PROXY_CHANNELS,
    Channel,
    DeliveryMode,
    HouseholdQuota,
    IdempotencyKey,
    OfferKind,
    OfferLine,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    OrderWindow,
    Payment,
    PaymentKind,
    PaymentMethod,
    PaymentStatus,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
)
from .payments import PaymentRequest, payment_gateway
from .selectors import (
    household_for_ordering_query,
    order_get,
    order_present,
    order_window_get,
    ordering_rules,
    orders_awaiting_consolidation,
    purchase_order_get,
    window_from_rule,
)

if TYPE_CHECKING:
    from baogong.accounts.models import User

# Roles that order for other households (代购) by phone, WeChat, door to door or the hotline.
PROXY_ROLES = frozenset({Role.COMMUNITY, Role.SUBDISTRICT})
# Roles that may set order windows and change pairings.
AREA_ADMIN_ROLES = frozenset({Role.COMMAND, Role.SUBDISTRICT})
# Roles that report an order at the gate, checked and handed over.
GATE_ROLES = frozenset({Role.COMMAND, Role.SUBDISTRICT, Role.COMMUNITY, Role.VOLUNTEER})

MAX_ORDER_LINES = 50
# A household order above this per line is a typo or hoarding, never a need.
MAX_LINE_QUANTITY = 100
MAX_OFFER_QUANTITY = 1_000_000
MAX_PRICE = Decimal("100000")
MAX_HOUSEHOLD_CAP = 100
# RFC 8941 sf-string content: printable ASCII; 255 as Stripe allows.
IDEMPOTENCY_KEY_PATTERN = re.compile(r"^[\x20-\x7e]{1,255}$")


# --- offers, windows ------------------------------------------------------------------------------


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


# --- placing an order -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LineRequest:
    offer_line_id: int
    quantity: int


@dataclass(frozen=True)
class PlacedOrder:
    """The answer to a place request: the stored one when `replayed`."""

    order_id: int | None
    status_code: int
    body: dict[str, Any]
    replayed: bool


def _validate_whole(value: object, *, field: str, minimum: int, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(_("Enter a whole number."), field=field)
    if value < minimum:
        raise ValidationFailed(_("Enter %(minimum)s or more.") % {"minimum": minimum}, field=field)
    if value > maximum:
        raise ValidationFailed(_("Enter at most %(maximum)s.") % {"maximum": maximum}, field=field)
    return value


def _validate_request(
    *, role: str, lines: Sequence[LineRequest], channel: str, payment_method: str, read_back_confirmed: bool
) -> None:
    if not lines:
        raise ValidationFailed(_("Choose at least one package or item."), field="lines")
    if len(lines) > MAX_ORDER_LINES:
        raise ValidationFailed(_("An order has at most %(n)s lines.") % {"n": MAX_ORDER_LINES}, field="lines")
    seen: set[int] = set()
    for index, line in enumerate(lines):
        _validate_whole(line.offer_line_id, field=f"lines[{index}].offer_line_id", minimum=1, maximum=2**63 - 1)
        _validate_whole(line.quantity, field=f"lines[{index}].quantity", minimum=1, maximum=MAX_LINE_QUANTITY)
        if line.offer_line_id in seen:
            raise ValidationFailed(_("This line is listed twice."), field=f"lines[{index}].offer_line_id")
        seen.add(line.offer_line_id)
    if channel not in Channel.values:
        raise ValidationFailed(_("Unknown channel."), field="channel")
    if payment_method not in PaymentMethod.values:
        raise ValidationFailed(_("Unknown payment method."), field="payment_method")
    if role == Role.RESIDENT:
        if channel != Channel.ONLINE:
            raise ValidationFailed(_("Residents order online."), field="channel")
        if payment_method == PaymentMethod.FREE:
            raise ValidationFailed(_("Free relief orders are entered by the community office."), field="payment_method")
    elif role in PROXY_ROLES:
        if channel not in PROXY_CHANNELS:
            raise ValidationFailed(
                _("Record how the household asked: phone, WeChat, door to door or hotline."), field="channel"
            )
        if not read_back_confirmed:
            raise ValidationFailed(
                _("Read the order back to the household and tick that they confirmed it."),
                field="read_back_confirmed",
            )
    else:
        raise PermissionDenied(_("Only residents and community workers place orders."))


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


def _quota_release(*, household_id: int, delivery_date: date, key: str, quantity: int) -> None:
    HouseholdQuota.objects.filter(
        household_id=household_id, delivery_date=delivery_date, key=key, taken__gte=quantity
    ).update(taken=F("taken") - quantity)


def _quota_key(offer: OfferLine) -> str:
    if offer.kind == OfferKind.PACKAGE and offer.kit is not None:
        return f"kit:{offer.kit.kind}"
    return f"offer:{offer.pk}"


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


def order_place(
    *,
    actor: User,
    household_id: int,
    delivery_date: date,
    lines: Sequence[LineRequest],
    idempotency_key: str,
    channel: str = Channel.ONLINE,
    payment_method: str = PaymentMethod.ONLINE,
    read_back_confirmed: bool = False,
    read_back_note: str = "",
    now: datetime | None = None,
) -> PlacedOrder:
    """Place an order for a household from its paired supermarket, exactly once per key.

    A resident orders for their own household online; a community worker
    orders for a household in their scope and records the channel and the
    read-back. The key (per account) with the request's fingerprint and the
    response are stored in the order's transaction: a retry gets the stored
    answer, the same key with another body gets 422. Failed requests store
    nothing, so they can be retried as they are.

    This is the request of the 06:00 rush, so it is written for round trips
    (see `statements`): one batch of reads, then a transaction of the key
    claim, the order row, and one batch of everything else.
    """
    if not idempotency_key or not IDEMPOTENCY_KEY_PATTERN.match(idempotency_key):
        raise BadRequest(
            _("Send an Idempotency-Key header: a unique value (e.g. a UUID) per order, reused on retries."),
            field="Idempotency-Key",
        )
    scope = scope_of(actor)
    _validate_request(
        role=scope.role,
        lines=lines,
        channel=channel,
        payment_method=payment_method,
        read_back_confirmed=read_back_confirmed,
    )
    note = read_back_note.strip()[:255]
    fingerprint = request_fingerprint(
        {
            "household_id": household_id,
            "delivery_date": delivery_date.isoformat(),
            "lines": [[line.offer_line_id, line.quantity] for line in lines],
            "channel": channel,
            "payment_method": payment_method,
            "read_back_confirmed": read_back_confirmed,
            "read_back_note": note,
        }
    )
    moment = now or timezone.now()
    # Outside the transaction, read-only and in one round trip: the key, the offers and the household.
    # Retries and visibly sold-out requests end here without taking a write lock. After the 06:00
    # sell-out most requests do, so they do not queue behind real orders (on SQLite they would
    # otherwise each take the single write lock). Nothing read here decides anything the
    # transaction below does not decide again: the key is claimed by a unique insert, caps and
    # quantities are taken by conditional statements.
    offer_ids = [line.offer_line_id for line in lines]
    household_query = household_for_ordering_query(scope=scope, household_id=household_id)
    reads: list[statements.Statement] = [
        (statements.KEY_LOOKUP, [actor.pk, idempotency_key]),
        (statements.offers_select(len(offer_ids)), offer_ids),
    ]
    if household_query is not None:
        reads.append(household_query)
    results = statements.run(reads)
    offers = {row[0]: _offer_from_row(row) for row in statements.rows(results[1])}
    sold_out = _sold_out(lines=lines, offers=offers)
    # Checked either way: a retry of the order that took the last unit must get its order back, not "sold out".
    earlier = statements.rows(results[0])
    if earlier:
        stored_fingerprint, status_code, response, order_id = earlier[0]
        return _replay_stored(
            stored_fingerprint=stored_fingerprint,
            status_code=status_code,
            response=response,
            order_id=order_id,
            fingerprint=fingerprint,
        )
    if sold_out is not None:
        raise sold_out
    household = _ordering_household(statements.rows(results[2]) if household_query is not None else [])
    window_rule, zone_status = ordering_rules(ancestor_ids=household.ancestor_ids, at=moment)
    window = window_from_rule(window_rule, delivery_date)
    if not window.is_open(moment):
        local = timezone.localtime
        raise Conflict(
            _("Ordering for %(day)s is open from %(opens)s to %(closes)s.")
            % {
                "day": delivery_date.isoformat(),
                "opens": f"{local(window.opens_at):%Y-%m-%d %H:%M}",
                "closes": f"{local(window.closes_at):%Y-%m-%d %H:%M}",
            },
            field="delivery_date",
            data={"opens_at": window.opens_at.isoformat(), "closes_at": window.closes_at.isoformat()},
        )
    for index, line in enumerate(lines):
        offer = offers.get(line.offer_line_id)
        if (
            offer is None
            or not offer.is_active
            or offer.supermarket_id != household.supermarket_id
            or offer.delivery_date != delivery_date
        ):
            raise ValidationFailed(
                _("Your supermarket does not offer this for %(day)s.") % {"day": delivery_date.isoformat()},
                field=f"lines[{index}].offer_line_id",
            )
    for index, line in enumerate(lines):
        # Fails fast once a line is sold out without writing anything. This read may be stale; the
        # conditional UPDATE in the transaction is what actually guards the quantity.
        offer = offers[line.offer_line_id]
        if offer.reserved + line.quantity > offer.quantity:
            raise InsufficientStock(
                _("Only %(n)s left.") % {"n": offer.available},
                field=f"lines[{index}].quantity",
                data={"available": offer.available},
            )
    mode = DeliveryMode.PICKUP if zone_status == ZoneStatusKind.CONTROLLED else DeliveryMode.DOOR
    with transaction.atomic():
        existing = _key_claim(user_id=actor.pk, key=idempotency_key, fingerprint=fingerprint, now=moment)
        if existing is not None:
            return _replay(existing, fingerprint)
        order, body = _order_write(
            actor=actor,
            household=household,
            delivery_date=delivery_date,
            lines=lines,
            offers=offers,
            channel=channel,
            payment_method=payment_method,
            read_back_confirmed=read_back_confirmed,
            read_back_note=note,
            delivery_mode=mode,
            idempotency_key=idempotency_key,
        )
    return PlacedOrder(order_id=order.pk, status_code=201, body=body, replayed=False)


@dataclass(frozen=True)
class _OrderingHousehold:
    household_id: int
    compound_id: int
    ancestor_ids: list[int]
    unit_id: int
    building_id: int
    pickup_slot: str
    supermarket_id: int


def _ordering_household(found: list[tuple[Any, ...]]) -> _OrderingHousehold:
    if not found:
        raise NotFound(_("No such household in your area."), field="household_id")
    household_id, compound_id, compound_path, unit_id, unit_name, building_id, building_name, supermarket_id = found[0]
    if supermarket_id is None:
        raise Conflict(_("This compound has no paired supermarket yet; ask the subdistrict office."))
    return _OrderingHousehold(
        household_id=household_id,
        compound_id=compound_id,
        ancestor_ids=[int(part) for part in compound_path.strip("/").split("/") if part],
        unit_id=unit_id,
        # A unit always sits in a building (region_create enforces the level below it).
        building_id=building_id,
        pickup_slot=f"{building_name or ''} {unit_name}".strip(),
        supermarket_id=supermarket_id,
    )


def _offer_from_row(row: tuple[Any, ...]) -> OfferLine:
    """An unsaved-looking OfferLine (with its kit or commodity) from a row of `statements.offers_select`."""
    (
        pk,
        supermarket_id,
        delivery_date,
        kind,
        kit_id,
        commodity_id,
        price,
        quantity,
        reserved,
        household_cap,
        is_active,
        kit_kind,
        kit_name_zh,
        kit_name_en,
        commodity_name_zh,
        commodity_name_en,
        supermarket_name,
    ) = row
    offer = OfferLine(
        id=pk,
        supermarket_id=supermarket_id,
        delivery_date=statements.as_date(delivery_date),
        kind=kind,
        kit=Kit(id=kit_id, kind=kit_kind, name_zh=kit_name_zh, name_en=kit_name_en) if kit_id is not None else None,
        commodity=(
            Commodity(id=commodity_id, name_zh=commodity_name_zh, name_en=commodity_name_en)
            if commodity_id is not None
            else None
        ),
        price=statements.as_decimal(price),
        quantity=quantity,
        reserved=reserved,
        household_cap=household_cap,
        is_active=bool(is_active),
    )
    offer.supermarket_name = supermarket_name  # type: ignore[attr-defined]
    return offer


def _sold_out(*, lines: Sequence[LineRequest], offers: dict[int, OfferLine]) -> InsufficientStock | None:
    """The error naming the first line whose offer is already sold out (a read, possibly stale)."""
    for index, line in enumerate(lines):
        offer = offers.get(line.offer_line_id)
        if offer is not None and offer.is_active and offer.available < line.quantity:
            return InsufficientStock(
                _("Only %(n)s left.") % {"n": offer.available},
                field=f"lines[{index}].quantity",
                data={"available": offer.available},
            )
    return None


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
    # The row audit_record would write, in the same batch (and the same transaction).
    audit_payload = {
        "household": household.household_id,
        "supermarket": household.supermarket_id,
        "delivery_date": delivery_date,
        "channel": channel,
        "proxy": channel != Channel.ONLINE,
        "payment_method": payment_method,
        "lines": [[line.offer_line_id, line.quantity] for line in lines],
        "total": total,
    }
    batch.append(
        (
            statements.AUDIT_INSERT,
            [
                at,
                actor.pk,
                "order.place",
                "order",
                str(order.pk),
                json.dumps(audit_payload, cls=DjangoJSONEncoder),
                current_request_id() or "",
            ],
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


# --- the status machine ---------------------------------------------------------------------------


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


SUPPLIER_ROLES = frozenset({Role.SUPPLIER, Role.COMMAND})


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


# --- consolidation and the supermarket's confirmation ---------------------------------------------


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

    A short line is shared out first to vulnerable households, then in the
    order orders were placed. Each affected order line gets its confirmed
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
    remaining = {offer_line_id: s.confirmed_quantity for offer_line_id, s in short_by_line.items()}

    def priority(line: OrderLine) -> tuple[bool, datetime, int]:
        return (line.order.household.vulnerability_mask == 0, line.order.created_at, line.order_id)

    for line in sorted(order_lines, key=priority):
        line_shortage = short_by_line.get(line.offer_line_id)
        if line_shortage is None:
            line.confirmed_quantity = line.quantity
            continue
        granted = min(line.quantity, remaining[line.offer_line_id])
        remaining[line.offer_line_id] -= granted
        line.confirmed_quantity = granted
        line.short_reason = line_shortage.reason.strip()[:255] if granted < line.quantity else ""
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


def _order_confirm(*, actor: User, order: Order, lines: list[OrderLine]) -> None:
    delivered_amount = sum((line.unit_price * (line.confirmed_quantity or 0) for line in lines), Decimal("0.00"))
    nothing_left = all((line.confirmed_quantity or 0) == 0 for line in lines)
    partial = not nothing_left and any((line.confirmed_quantity or 0) < line.quantity for line in lines)
    reasons = sorted({line.short_reason for line in lines if line.short_reason})
    reason = "; ".join(reasons)[:255]
    new_due = Decimal("0.00") if order.payment_method == PaymentMethod.FREE else delivered_amount
    refund = order.amount_due - new_due if order.payment_status == PaymentStatus.PAID else Decimal("0.00")
    changes: dict[str, Any] = {"amount_due": new_due, "is_partial": partial, "reason": reason}
    if nothing_left and order.payment_status == PaymentStatus.PAID:
        changes["payment_status"] = PaymentStatus.REFUNDED
    _transition(
        order=order,
        actor=actor,
        from_statuses=[OrderStatus.PLACED],
        to_status=OrderStatus.SHORT if nothing_left else OrderStatus.CONFIRMED,
        note=reason,
        action="order.short" if nothing_left else "order.confirm",
        **changes,
    )
    if refund > 0:
        _payment_record(order=order, kind=PaymentKind.REFUND, amount=refund, actor=actor)
