"""Scoped reads of offers, order windows, orders and purchase orders.

Scopes: a resident sees their own household's orders; region roles see the
orders of households under their region; supplier staff see only their own
organisation's orders and purchase orders. Anything outside the scope answers
NotFound, exactly like something that does not exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from django.core.exceptions import EmptyResultSet
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import OuterRef, QuerySet, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from baogong.accounts.models import Role
from baogong.core.errors import Conflict, NotFound
from baogong.core.scoping import HOUSEHOLD_ROLES, Scope
from baogong.enterprises.models import CompoundPairing
from baogong.regions.models import Household, Region, ZoneStatusKind
from baogong.regions.selectors import household_get, household_list, region_effective_zone_status

from . import statements
from .models import (
    DEFAULT_CLOSES_AT,
    DEFAULT_OPENS_AT,
    DeliveryMode,
    OfferLine,
    Order,
    OrderLine,
    OrderWindow,
    PurchaseOrder,
    PurchaseOrderLine,
)

if TYPE_CHECKING:
    from datetime import time

# Roles that see purchase orders of the compounds under their region.
PURCHASE_ORDER_REGION_ROLES = frozenset({Role.COMMAND, Role.SUBDISTRICT, Role.COMMUNITY})
# How far ahead a household looks for the next delivery day it can order for.
LOOKAHEAD_DAYS = 14


# --- order windows -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """The ordering window of one delivery day for one compound, in aware datetimes."""

    delivery_date: date
    opens_at: datetime
    closes_at: datetime
    # The area whose rule applies; None when the platform defaults apply.
    rule_region_id: int | None

    def is_open(self, at: datetime) -> bool:
        return self.opens_at <= at < self.closes_at

    def has_closed(self, at: datetime) -> bool:
        return at >= self.closes_at


@dataclass(frozen=True)
class WindowRule:
    opens_days_before: int
    opens_at: time
    closes_days_before: int
    closes_at: time
    region_id: int | None


DEFAULT_WINDOW_RULE = WindowRule(1, DEFAULT_OPENS_AT, 1, DEFAULT_CLOSES_AT, None)


def order_window_rule_for(*, compound: Region) -> WindowRule:
    """The window rule of the nearest area above (or at) the compound that has one."""
    ancestor_ids = compound.ancestor_ids()
    rules = {row.region_id: row for row in OrderWindow.objects.filter(region_id__in=ancestor_ids)}
    for region_id in reversed(ancestor_ids):
        row = rules.get(region_id)
        if row is not None:
            return WindowRule(row.opens_days_before, row.opens_at, row.closes_days_before, row.closes_at, region_id)
    return DEFAULT_WINDOW_RULE


def window_from_rule(rule: WindowRule, delivery_date: date) -> Window:
    # Local (Asia/Shanghai) wall-clock times: "06:00" means 06:00 where the residents are.
    zone = timezone.get_default_timezone()
    opens = datetime.combine(delivery_date - timedelta(days=rule.opens_days_before), rule.opens_at, tzinfo=zone)
    closes = datetime.combine(delivery_date - timedelta(days=rule.closes_days_before), rule.closes_at, tzinfo=zone)
    return Window(delivery_date=delivery_date, opens_at=opens, closes_at=closes, rule_region_id=rule.region_id)


def order_window_get(*, compound: Region, delivery_date: date) -> Window:
    return window_from_rule(order_window_rule_for(compound=compound), delivery_date)


def order_delivery_date_current(*, compound: Region, at: datetime | None = None) -> date:
    """The delivery day a household of `compound` orders for at `at`.

    The day whose window is open, else the next one to open (so the page can
    say "ordering for the 12th opens at 06:00").
    """
    moment = at or timezone.now()
    rule = order_window_rule_for(compound=compound)
    today = timezone.localtime(moment).date()
    for offset in range(LOOKAHEAD_DAYS + 1):
        window = window_from_rule(rule, today + timedelta(days=offset))
        if not window.has_closed(moment):
            return window.delivery_date
    return today + timedelta(days=1)


def ordering_rules(*, ancestor_ids: list[int], at: datetime) -> tuple[WindowRule, str]:
    """The window rule and the zone status in force for a compound, given its ancestor ids (root first).

    The same answers as `order_window_rule_for` and `region_effective_zone_status`, read in one
    round trip for the order hot path.
    """
    moment = statements.db_datetime(at)
    window_rows, zone_rows = statements.run(
        [
            (statements.window_rules_select(len(ancestor_ids)), ancestor_ids),
            (statements.zone_statuses_select(len(ancestor_ids)), [*ancestor_ids, moment, moment]),
        ]
    )
    return ordering_rules_from_rows(
        ancestor_ids=ancestor_ids, window_rows=statements.rows(window_rows), zone_rows=statements.rows(zone_rows)
    )


def ordering_rules_from_rows(
    *, ancestor_ids: list[int], window_rows: list[tuple[Any, ...]], zone_rows: list[tuple[Any, ...]]
) -> tuple[WindowRule, str]:
    """`ordering_rules` from rows already read: window rules of any ancestors, and the zone
    statuses in force for any of them, newest first (`statements.zone_statuses_select`).
    """
    rules = {row[0]: row for row in window_rows}
    rule = DEFAULT_WINDOW_RULE
    for region_id in reversed(ancestor_ids):
        row = rules.get(region_id)
        if row is not None:
            rule = WindowRule(row[1], statements.as_time(row[2]), row[3], statements.as_time(row[4]), region_id)
            break
    latest: dict[int, str] = {}
    for region_id, status in zone_rows:
        latest.setdefault(region_id, status)
    zone = next((latest[i] for i in reversed(ancestor_ids) if i in latest), ZoneStatusKind.NORMAL)
    return rule, zone


# --- offers ---------------------------------------------------------------------------------------


def offer_line_list(*, supermarket_id: int, delivery_date: date) -> QuerySet[OfferLine]:
    """What a supermarket offers for a day (public within the platform: prices and quantities only)."""
    return (
        OfferLine.objects.filter(supermarket_id=supermarket_id, delivery_date=delivery_date, is_active=True)
        .select_related("kit", "commodity")
        .order_by("kind", "id")
    )


def offer_line_list_of_supplier(*, scope: Scope, delivery_date: date | None = None) -> QuerySet[OfferLine]:
    """A supermarket's own offer lines (all days or one), for its staff and the command office."""
    if scope.role == Role.SUPPLIER and scope.organisation_id is not None:
        queryset = OfferLine.objects.filter(supermarket_id=scope.organisation_id)
    elif scope.is_command:
        queryset = OfferLine.objects.all()
    else:
        return OfferLine.objects.none()
    if delivery_date is not None:
        queryset = queryset.filter(delivery_date=delivery_date)
    return queryset.select_related("kit", "commodity").order_by("delivery_date", "kind", "id")


def delivery_mode_for(*, compound: Region, at: datetime | None = None) -> str:
    """Sealed compounds get door delivery (nobody may leave home); controlled compounds collect
    by building and unit at a set slot (people may leave home but not the compound). Prevention and
    normal compounds also get door delivery: it keeps contacts down and volunteers' rounds unchanged.
    """
    status = region_effective_zone_status(region=compound, at=at)
    return DeliveryMode.PICKUP if status == ZoneStatusKind.CONTROLLED else DeliveryMode.DOOR


def pickup_slot_for(*, household: Household) -> str:
    unit = household.unit
    building = unit.parent
    return f"{building.name if building else ''} {unit.name}".strip()


def supermarket_of_compound(*, compound_id: int) -> int:
    """The paired supermarket of a compound (一一对接); Conflict when none is paired yet."""
    supermarket_id = (
        CompoundPairing.objects.filter(compound_id=compound_id).values_list("supermarket_id", flat=True).first()
    )
    if supermarket_id is None:
        raise Conflict(_("This compound has no paired supermarket yet; ask the subdistrict office."))
    return supermarket_id


def household_for_ordering_query(*, scope: Scope, household_id: int) -> tuple[str, tuple[Any, ...]] | None:
    """SQL of one household in the scope with where its orders go (run with other reads at once).

    Columns: household id, compound id, compound path, unit id, unit name, building id, building
    name, paired supermarket id (None when unpaired). No row when the household is outside the
    scope; None when the scope sees no households at all.

    A resident's scope is their own household (as in `household_list`), so their query (the
    06:00 rush) is written out; every other scope goes through `household_list`.
    """
    if scope.household_id is not None:
        if household_id != scope.household_id:
            return None
        return statements.HOUSEHOLD_FOR_ORDERING, (household_id,)
    pairing = (
        CompoundPairing.objects.filter(compound_id=OuterRef("compound_id")).order_by("pk").values("supermarket_id")
    )
    queryset = (
        household_list(scope=scope)
        .filter(pk=household_id)
        .annotate(paired_supermarket_id=Subquery(pairing.values("supermarket_id")[:1]))
        .order_by()
        .values_list(
            "pk",
            "compound_id",
            "compound__path",
            "unit_id",
            "unit__name",
            "unit__parent_id",
            "unit__parent__name",
            "paired_supermarket_id",
        )
    )
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:
        return None
    return sql, tuple(params)


@dataclass(frozen=True)
class HouseholdOffers:
    household: Household
    supermarket_id: int
    supermarket_name: str
    window: Window
    is_open: bool
    delivery_mode: str
    pickup_slot: str
    lines: list[OfferLine]


def household_offers_get(
    *, scope: Scope, household_id: int, delivery_date: date | None = None, at: datetime | None = None
) -> HouseholdOffers:
    """What a household (in the caller's scope) can order: its supermarket's offer for a day."""
    moment = at or timezone.now()
    household = household_get(scope=scope, household_id=household_id)
    pairing = CompoundPairing.objects.filter(compound_id=household.compound_id).select_related("supermarket").first()
    if pairing is None:
        raise Conflict(_("This compound has no paired supermarket yet; ask the subdistrict office."))
    compound = household.compound
    day = delivery_date or order_delivery_date_current(compound=compound, at=moment)
    window = order_window_get(compound=compound, delivery_date=day)
    mode = delivery_mode_for(compound=compound, at=moment)
    return HouseholdOffers(
        household=household,
        supermarket_id=pairing.supermarket_id,
        supermarket_name=pairing.supermarket.name,
        window=window,
        is_open=window.is_open(moment),
        delivery_mode=mode,
        pickup_slot=pickup_slot_for(household=household) if mode == DeliveryMode.PICKUP else "",
        lines=list(offer_line_list(supermarket_id=pairing.supermarket_id, delivery_date=day)),
    )


# --- orders ---------------------------------------------------------------------------------------


def order_list(
    *,
    scope: Scope,
    delivery_date: date | None = None,
    status: str | None = None,
    household_id: int | None = None,
) -> QuerySet[Order]:
    if scope.household_id is not None:
        queryset = Order.objects.filter(household_id=scope.household_id)
    elif scope.role == Role.SUPPLIER and scope.organisation_id is not None:
        queryset = Order.objects.filter(supermarket_id=scope.organisation_id)
    elif scope.role in HOUSEHOLD_ROLES and scope.region_path is not None:
        queryset = Order.objects.all()
        if scope.region_path:
            queryset = queryset.filter(compound__path__startswith=scope.region_path)
    else:
        return Order.objects.none()
    if delivery_date is not None:
        queryset = queryset.filter(delivery_date=delivery_date)
    if status:
        queryset = queryset.filter(status=status)
    if household_id is not None:
        queryset = queryset.filter(household_id=household_id)
    return queryset.select_related("supermarket").order_by("-created_at", "-id")


def order_get(*, scope: Scope, order_id: int) -> Order:
    order = order_list(scope=scope).filter(pk=order_id).first()
    if order is None:
        raise NotFound()
    return order


def order_lines_of(*, order: Order) -> list[OrderLine]:
    return list(order.lines.select_related("kit", "commodity").order_by("id"))


def _money(value: Any) -> str:
    return f"{value:.2f}"


class PresentedOrder(Protocol):
    """What `order_present` reads of an order: a stored `Order`, or the one placing has just written."""

    @property
    def pk(self) -> int: ...
    @property
    def household_id(self) -> int: ...
    @property
    def supermarket_id(self) -> int: ...
    @property
    def delivery_date(self) -> date: ...
    @property
    def status(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def is_proxy(self) -> bool: ...
    @property
    def placed_by_id(self) -> int | None: ...
    @property
    def read_back_confirmed(self) -> bool: ...
    @property
    def delivery_mode(self) -> str: ...
    @property
    def pickup_slot(self) -> str: ...
    @property
    def payment_method(self) -> str: ...
    @property
    def payment_status(self) -> str: ...
    @property
    def total(self) -> Decimal: ...
    @property
    def amount_due(self) -> Decimal: ...
    @property
    def is_partial(self) -> bool: ...
    @property
    def reason(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...


class PresentedLine(Protocol):
    """What `order_present` reads of an order line."""

    @property
    def offer_line_id(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def goods_name(self) -> str: ...
    @property
    def quantity(self) -> int: ...
    @property
    def confirmed_quantity(self) -> int | None: ...
    @property
    def unit_price(self) -> Decimal: ...
    @property
    def amount(self) -> Decimal: ...
    @property
    def short_reason(self) -> str: ...


def order_present(*, order: PresentedOrder, lines: Sequence[PresentedLine], supermarket_name: str) -> dict[str, Any]:
    """An order as the API and the idempotency record show it (JSON-ready, no personal data)."""
    return {
        "id": order.pk,
        "household_id": order.household_id,
        "supermarket_id": order.supermarket_id,
        "supermarket_name": supermarket_name,
        "delivery_date": order.delivery_date.isoformat(),
        "status": order.status,
        "channel": order.channel,
        "is_proxy": order.is_proxy,
        "placed_by_id": order.placed_by_id,
        "read_back_confirmed": order.read_back_confirmed,
        "delivery_mode": order.delivery_mode,
        "pickup_slot": order.pickup_slot,
        "payment_method": order.payment_method,
        "payment_status": order.payment_status,
        "total": _money(order.total),
        "amount_due": _money(order.amount_due),
        "is_partial": order.is_partial,
        "reason": order.reason,
        # In UTC and as the API's JSON encoder writes a time (milliseconds, "Z"): the first answer,
        # the stored one a retry replays and a later read are then the same bytes.
        "created_at": DjangoJSONEncoder().default(order.created_at.astimezone(UTC)),
        "lines": [
            {
                "offer_line_id": line.offer_line_id,
                "kind": line.kind,
                "name": line.goods_name,
                "quantity": line.quantity,
                "confirmed_quantity": line.confirmed_quantity,
                "unit_price": _money(line.unit_price),
                "amount": _money(line.amount),
                "short_reason": line.short_reason,
            }
            for line in lines
        ],
    }


def order_detail(*, scope: Scope, order_id: int) -> dict[str, Any]:
    order = order_get(scope=scope, order_id=order_id)
    return order_present(order=order, lines=order_lines_of(order=order), supermarket_name=order.supermarket.name)


# --- purchase orders and pick lists ---------------------------------------------------------------


def purchase_order_list(*, scope: Scope, delivery_date: date | None = None) -> QuerySet[PurchaseOrder]:
    if scope.role == Role.SUPPLIER and scope.organisation_id is not None:
        queryset = PurchaseOrder.objects.filter(supermarket_id=scope.organisation_id)
    elif scope.role in PURCHASE_ORDER_REGION_ROLES and scope.region_path is not None:
        queryset = PurchaseOrder.objects.all()
        if scope.region_path:
            queryset = queryset.filter(compound__path__startswith=scope.region_path)
    else:
        return PurchaseOrder.objects.none()
    if delivery_date is not None:
        queryset = queryset.filter(delivery_date=delivery_date)
    return queryset.select_related("supermarket", "compound").order_by("-delivery_date", "compound__path", "id")


def purchase_order_get(*, scope: Scope, purchase_order_id: int) -> PurchaseOrder:
    purchase_order = purchase_order_list(scope=scope).filter(pk=purchase_order_id).first()
    if purchase_order is None:
        raise NotFound()
    return purchase_order


def purchase_order_lines(*, purchase_order: PurchaseOrder) -> list[PurchaseOrderLine]:
    """Totals per item of a purchase order."""
    return list(
        purchase_order.lines.select_related("offer_line__kit", "offer_line__commodity").order_by(
            "offer_line__kind", "offer_line_id"
        )
    )


@dataclass(frozen=True)
class BuildingTotal:
    building_id: int
    building_name: str
    offer_line_id: int
    goods_name: str
    quantity: int
    confirmed_quantity: int | None


def purchase_order_building_totals(*, purchase_order: PurchaseOrder) -> list[BuildingTotal]:
    """The pick list: how much of each item goes to each building (one grouped query)."""
    rows = (
        OrderLine.objects.filter(order__purchase_order=purchase_order)
        .exclude(order__status="cancelled")
        .values("order__building_id", "order__building__name", "offer_line_id")
        .annotate(quantity=Sum("quantity"), confirmed=Sum("confirmed_quantity"))
        .order_by("order__building__path", "offer_line_id")
    )
    confirmed_known = purchase_order.status != "open"
    names = {
        line.offer_line_id: line.offer_line.goods_name for line in purchase_order_lines(purchase_order=purchase_order)
    }
    return [
        BuildingTotal(
            building_id=row["order__building_id"],
            building_name=row["order__building__name"],
            offer_line_id=row["offer_line_id"],
            goods_name=names.get(row["offer_line_id"], ""),
            quantity=row["quantity"],
            confirmed_quantity=(row["confirmed"] or 0) if confirmed_known else None,
        )
        for row in rows
    ]


@dataclass(frozen=True)
class PackEntryLine:
    goods_name: str
    quantity: int


@dataclass(frozen=True)
class PackEntry:
    """One bag to pack: an order, labelled by building, unit and room (never by name or phone)."""

    order_id: int
    building_name: str
    unit_name: str
    room: str
    status: str
    delivery_mode: str
    lines: list[PackEntryLine]


def purchase_order_pack_list(*, purchase_order: PurchaseOrder) -> list[PackEntry]:
    """The pack list, by building then unit then room; quantities are the confirmed ones once known."""
    orders = (
        purchase_order.orders.exclude(status__in=["cancelled", "short"])
        .select_related("building", "unit", "household")
        .prefetch_related("lines__kit", "lines__commodity")
        .order_by("building__path", "unit__path", "household__room", "id")
    )
    entries = []
    for order in orders:
        lines = []
        for line in order.lines.all():
            quantity = line.quantity if line.confirmed_quantity is None else line.confirmed_quantity
            if quantity:
                goods = line.kit or line.commodity
                lines.append(PackEntryLine(goods_name=goods.name if goods else "", quantity=quantity))
        entries.append(
            PackEntry(
                order_id=order.pk,
                building_name=order.building.name,
                unit_name=order.unit.name,
                room=order.household.room,
                status=order.status,
                delivery_mode=order.delivery_mode,
                lines=lines,
            )
        )
    return entries


def orders_awaiting_consolidation(*, delivery_date: date) -> list[tuple[int, int]]:
    """(supermarket, compound) pairs with placed orders for the day not yet in a purchase order."""
    rows = (
        Order.objects.filter(delivery_date=delivery_date, status="placed", purchase_order__isnull=True)
        .values_list("supermarket_id", "compound_id")
        .distinct()
        .order_by("supermarket_id", "compound_id")
    )
    return list(rows)
