"""Placing an order: checking the request, its household and offers, then writing it once.

Placing an order is one database transaction (Brandur's "map the request onto
one transaction"): after plain reads and checks, the key with its answer, the
order and all its rows, the household's quota and the offer quantities are
written together, and a 2xx answer therefore always means a committed order;
a failed request leaves nothing behind. It is the request of the 06:00 rush,
so it runs hand-written statements in batches (see `statements`) rather than
one ORM query per row: on PostgreSQL one round trip of reads and one of
writes, which is its own transaction.

Concurrency: nothing is read, checked and then written. The key is stored by
a plain insert that the unique index refuses for a key already stored;
quantities and caps are added to, and the CHECK constraints (`reserved <=
quantity`, `taken <= cap`) refuse a row that would go over, evaluated on the
committed row after waiting for a concurrent writer, so no interleaving can
oversell. A refusal rolls the whole order back. Hot rows (an offer line
everyone wants at 06:00) are touched last, so their row lock is held only
from that UPDATE to the commit. Rows of one kind are always touched in key
order, quota rows before offer rows, so concurrent orders cannot deadlock. On
SQLite the transaction is IMMEDIATE (see settings) and writers simply queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from baogong.accounts.models import Role
from baogong.core.errors import (
    BadRequest,
    Conflict,
    InsufficientStock,
    NotFound,
    PermissionDenied,
    RequestInProgress,
    ValidationFailed,
)
from baogong.core.scoping import scope_of
from baogong.regions.models import ZoneStatusKind

from .. import statements
from ..models import PROXY_CHANNELS, Channel, DeliveryMode, IdempotencyKey, PaymentMethod
from ..selectors import household_for_ordering_query, ordering_rules, ordering_rules_from_rows, window_from_rule
from .idempotency import PlacedOrder, _replay, _replay_stored, request_fingerprint
from .order_write import KeyAlreadyStored, OfferRow, _order_write
from .rules import (
    IDEMPOTENCY_KEY_PATTERN,
    MAX_LINE_QUANTITY,
    MAX_ORDER_LINES,
    PROXY_ROLES,
    _validate_whole,
    quota_key_of,
)

if TYPE_CHECKING:
    from baogong.accounts.models import User


@dataclass(frozen=True)
class LineRequest:
    offer_line_id: int
    quantity: int


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
    (see `statements`): one batch of reads, then one transaction of writes.
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
    # transaction below does not decide again: the key is stored by a plain insert that its unique
    # index refuses when taken, and caps and quantities are guarded by CHECK constraints.
    offer_ids = [line.offer_line_id for line in lines]
    household_query = household_for_ordering_query(scope=scope, household_id=household_id)
    # The offers are read before the key: on PostgreSQL each statement of the batch sees what was
    # committed when it started, so a key looked up first could miss the very commit that the offers
    # read then shows as sold out, and a duplicate of the order that took the last unit would be told
    # "sold out". Read in this order, a reservation the offers show is always matched by its key.
    reads: list[statements.Statement] = [
        (statements.offers_select(len(offer_ids)), offer_ids),
        (statements.KEY_LOOKUP, [actor.pk, idempotency_key]),
    ]
    on_postgresql = connection.vendor == "postgresql"
    if household_query is not None:
        reads.append(household_query)
        if on_postgresql:
            # The window and zone rules above the household, and the new order's id, come with the
            # reads rather than in round trips of their own (SQLite has no round trips to save).
            moment_value = statements.db_datetime(moment)
            reads += [
                (statements.WINDOW_RULES_OF_HOUSEHOLD, [household_id]),
                (statements.ZONE_STATUSES_OF_HOUSEHOLD, [household_id, moment_value, moment_value]),
                (statements.ORDER_ID_NEXT, []),
            ]
    results = statements.run(reads)
    offers = {row[0]: _offer_from_row(row) for row in statements.rows(results[0])}
    sold_out = _sold_out(lines=lines, offers=offers)
    # Checked either way: a retry of the order that took the last unit must get its order back, not "sold out".
    earlier = statements.rows(results[1])
    if earlier:
        stored_fingerprint, status_code, response, stored_order_id = earlier[0]
        return _replay_stored(
            stored_fingerprint=stored_fingerprint,
            status_code=status_code,
            response=response,
            order_id=stored_order_id,
            fingerprint=fingerprint,
        )
    if sold_out is not None:
        raise sold_out
    household = _ordering_household(statements.rows(results[2]) if household_query is not None else [])
    order_id: int | None = None
    if on_postgresql:
        window_rows, zone_rows, [(order_id,)] = (statements.rows(result) for result in results[3:6])
        window_rule, zone_status = ordering_rules_from_rows(
            ancestor_ids=household.ancestor_ids, window_rows=window_rows, zone_rows=zone_rows
        )
    else:
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
        # CHECK on the offer line in the write is what actually guards the quantity.
        offer = offers[line.offer_line_id]
        if offer.reserved + line.quantity > offer.quantity:
            raise InsufficientStock(
                _("Only %(n)s left.") % {"n": offer.available},
                field=f"lines[{index}].quantity",
                data={"available": offer.available},
            )
    mode = DeliveryMode.PICKUP if zone_status == ZoneStatusKind.CONTROLLED else DeliveryMode.DOOR
    try:
        order, body, body_json = _order_write(
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
            fingerprint=fingerprint,
            key_at=moment,
            order_id=order_id,
        )
    except KeyAlreadyStored:
        # An earlier request with this key committed after our reads (on PostgreSQL we waited for
        # it on the key's unique index): its answer is the answer.
        existing = IdempotencyKey.objects.filter(user_id=actor.pk, key=idempotency_key).first()
        if existing is None:
            # Stored and then removed (a purge) in between: nothing to replay, and retrying is safe.
            raise RequestInProgress(field="Idempotency-Key") from None
        return _replay(existing, fingerprint)
    return PlacedOrder(order_id=order.pk, status_code=201, body=body, replayed=False, body_json=body_json)


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


def _offer_from_row(row: tuple[Any, ...]) -> OfferRow:
    """An offer line (with its goods' names and its supermarket's) from a row of `statements.offers_select`."""
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
    with_kit = kit_id is not None
    return OfferRow(
        pk=pk,
        supermarket_id=supermarket_id,
        supermarket_name=supermarket_name,
        delivery_date=statements.as_date(delivery_date),
        kind=kind,
        kit_id=kit_id,
        commodity_id=commodity_id,
        price=statements.as_decimal(price),
        quantity=quantity,
        reserved=reserved,
        household_cap=household_cap,
        is_active=bool(is_active),
        quota_key=quota_key_of(kind=kind, kit_kind=kit_kind if with_kit else None, offer_id=pk),
        name_zh=(kit_name_zh if with_kit else commodity_name_zh) or "",
        name_en=(kit_name_en if with_kit else commodity_name_en) or "",
    )


def _sold_out(*, lines: Sequence[LineRequest], offers: dict[int, OfferRow]) -> InsufficientStock | None:
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
