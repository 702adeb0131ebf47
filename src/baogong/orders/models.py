"""Ordering: what supermarkets offer per delivery day, households' orders, payments and purchase orders.

Invariants the database holds on its own (so no code path, however buggy or
concurrent, can break them): an offer line never reserves more than it has
(`reserved <= quantity`), a household never takes more than its cap of a line
or package kind (`taken <= cap` on a unique counter row), and an idempotency
key is claimed once per account.
"""

from __future__ import annotations

from datetime import time

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

DEFAULT_OPENS_AT = time(6, 0)
DEFAULT_CLOSES_AT = time(16, 0)


# The fields' defaults are given as functions: Django's system check takes a fixed time within ten
# seconds of the current UTC time for a mistaken "now" and warns (fields.W161), which failed
# `check --deploy --fail-level WARNING` every day from 15:59:50 to 16:00:10 UTC.
def default_opens_at() -> time:
    return DEFAULT_OPENS_AT


def default_closes_at() -> time:
    return DEFAULT_CLOSES_AT


class OrderWindow(models.Model):
    """When households of an area may order for a delivery day.

    Defaults (no row anywhere above a compound): ordering for day D opens at
    06:00 on D-1, when residents are used to the morning rush, and closes at
    16:00 on D-1, the traditional deadline for building totals, which leaves
    the evening and night for supermarkets to pick and pack. The row of the
    nearest ancestor of a compound wins.
    """

    region = models.OneToOneField(
        "regions.Region", on_delete=models.PROTECT, related_name="order_window", verbose_name=_("area")
    )
    opens_days_before = models.PositiveSmallIntegerField(_("opens (days before delivery)"), default=1)
    opens_at = models.TimeField(_("opens at"), default=default_opens_at)
    closes_days_before = models.PositiveSmallIntegerField(_("closes (days before delivery)"), default=1)
    closes_at = models.TimeField(_("closes at"), default=default_closes_at)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)

    class Meta:
        verbose_name = _("order window")
        verbose_name_plural = _("order windows")
        constraints = [
            models.CheckConstraint(
                condition=Q(opens_days_before__gt=F("closes_days_before"))
                | Q(opens_days_before=F("closes_days_before"), opens_at__lt=F("closes_at")),
                name="order_window_opens_before_close",
            ),
            models.CheckConstraint(condition=Q(opens_days_before__lte=14), name="order_window_opens_within_two_weeks"),
        ]

    def __str__(self) -> str:
        opens = f"D-{self.opens_days_before} {self.opens_at:%H:%M}"
        return f"{self.region_id}: {opens} → D-{self.closes_days_before} {self.closes_at:%H:%M}"


class OfferKind(models.TextChoices):
    PACKAGE = "package", _("standard package")
    ITEM = "item", _("individual item")


def _goods_name(line: OfferLine | OrderLine) -> str:
    """The kit's or commodity's name in the active language (the kit is not fetched when there is none)."""
    goods = line.kit if line.kit_id else line.commodity
    return goods.name if goods is not None else ""


class OfferLine(models.Model):
    """One thing a supermarket offers for one delivery day: a standard package or an item.

    `reserved` grows as orders arrive and shrinks when orders are cancelled.
    The CHECK `offer_line_not_oversold` (`reserved <= quantity`) is what
    refuses an order that would oversell: the database evaluates it on the
    row as it is after any concurrent writer, and the refusal rolls the whole
    order back (`orders/statements.py`).
    """

    supermarket = models.ForeignKey(
        "enterprises.Organisation", on_delete=models.PROTECT, related_name="offer_lines", verbose_name=_("supermarket")
    )
    delivery_date = models.DateField(_("delivery day"))
    kind = models.CharField(_("kind"), max_length=16, choices=OfferKind.choices)
    kit = models.ForeignKey("catalog.Kit", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    commodity = models.ForeignKey(
        "catalog.Commodity", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    price = models.DecimalField(_("price (yuan)"), max_digits=10, decimal_places=2)
    quantity = models.PositiveIntegerField(_("quantity offered"))
    reserved = models.PositiveIntegerField(_("quantity ordered"), default=0)
    # Packages: the cap counts per package kind (one vegetable package a day,
    # whichever of the supermarket's vegetable packages); items: per line.
    household_cap = models.PositiveSmallIntegerField(_("limit per household"), default=1)
    weight_kg = models.DecimalField(_("weight (kg)"), max_digits=9, decimal_places=3, null=True, blank=True)
    is_active = models.BooleanField(_("on offer"), default=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    published_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("offer line")
        verbose_name_plural = _("offer lines")
        ordering = ["supermarket_id", "delivery_date", "kind", "id"]
        indexes = [models.Index(fields=["supermarket", "delivery_date"])]
        constraints = [
            models.CheckConstraint(condition=Q(reserved__gte=0), name="offer_line_reserved_not_negative"),
            models.CheckConstraint(condition=Q(reserved__lte=F("quantity")), name="offer_line_not_oversold"),
            models.CheckConstraint(condition=Q(price__gte=0), name="offer_line_price_not_negative"),
            models.CheckConstraint(condition=Q(household_cap__gte=1), name="offer_line_cap_positive"),
            models.CheckConstraint(
                condition=Q(kind="package", kit__isnull=False, commodity__isnull=True)
                | Q(kind="item", commodity__isnull=False, kit__isnull=True),
                name="offer_line_kind_matches_goods",
            ),
            models.UniqueConstraint(
                fields=["supermarket", "delivery_date", "kit"],
                condition=Q(kit__isnull=False),
                name="offer_line_unique_kit",
            ),
            models.UniqueConstraint(
                fields=["supermarket", "delivery_date", "commodity"],
                condition=Q(commodity__isnull=False),
                name="offer_line_unique_commodity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.supermarket_id} {self.delivery_date} {self.kit_id or self.commodity_id}"

    @property
    def available(self) -> int:
        return self.quantity - self.reserved

    @property
    def goods_name(self) -> str:
        return _goods_name(self)


class HouseholdQuota(models.Model):
    """How much of a capped thing a household has ordered for a delivery day.

    One row per (household, day, key); `taken` grows only through one upsert
    that the CHECK `household_quota_within_cap` refuses past the cap, so fifty
    simultaneous attempts by one household can never get past it.
    """

    # No index of its own: the unique (household, day, key) index leads with it. Every order
    # writes here, and each index is one more to keep up on the 06:00 rush's hottest writes.
    household = models.ForeignKey("regions.Household", on_delete=models.PROTECT, related_name="+", db_index=False)
    delivery_date = models.DateField()
    # "kit:<kit kind>" for packages, "offer:<offer line id>" for items.
    key = models.CharField(max_length=48)
    taken = models.PositiveIntegerField(default=0)
    cap = models.PositiveIntegerField()

    class Meta:
        verbose_name = _("household quota")
        verbose_name_plural = _("household quotas")
        constraints = [
            models.UniqueConstraint(fields=["household", "delivery_date", "key"], name="household_quota_unique"),
            models.CheckConstraint(condition=Q(taken__gte=0), name="household_quota_taken_not_negative"),
            models.CheckConstraint(condition=Q(taken__lte=F("cap")), name="household_quota_within_cap"),
        ]

    def __str__(self) -> str:
        return f"{self.household_id} {self.delivery_date} {self.key}: {self.taken}/{self.cap}"


class Channel(models.TextChoices):
    ONLINE = "online", _("online (self-service)")
    PHONE = "phone", _("phone")
    WECHAT = "wechat", _("WeChat")
    DOOR_TO_DOOR = "door_to_door", _("door to door")
    HOTLINE = "hotline", _("hotline")


PROXY_CHANNELS = (Channel.PHONE, Channel.WECHAT, Channel.DOOR_TO_DOOR, Channel.HOTLINE)


class DeliveryMode(models.TextChoices):
    DOOR = "door", _("door delivery")
    PICKUP = "pickup", _("pickup by building and unit")


class OrderStatus(models.TextChoices):
    PLACED = "placed", _("placed")
    CONFIRMED = "confirmed", _("confirmed by the supermarket")
    PICKED = "picked", _("picked and packed")
    LOADED = "loaded", _("loaded")
    AT_GATE = "at_gate", _("at the compound gate")
    VERIFIED = "verified", _("checked at the gate")
    DELIVERED = "delivered", _("delivered")
    CANCELLED = "cancelled", _("cancelled")
    SHORT = "short", _("not available (short)")
    FAILED = "failed", _("delivery failed")


# Orders that still hold goods, in the order they move.
OPEN_STATUSES = (
    OrderStatus.PLACED,
    OrderStatus.CONFIRMED,
    OrderStatus.PICKED,
    OrderStatus.LOADED,
    OrderStatus.AT_GATE,
    OrderStatus.VERIFIED,
)


class PaymentMethod(models.TextChoices):
    ONLINE = "online", _("paid online")
    CASH = "cash", _("cash at the gate")
    SCAN = "scan", _("scan to pay at the gate")
    FREE = "free", _("free (relief)")


class PaymentStatus(models.TextChoices):
    PAID = "paid", _("paid")
    DUE = "due", _("to pay on delivery")
    WAIVED = "waived", _("free of charge")
    REFUNDED = "refunded", _("refunded")


class Order(models.Model):
    """A household's order from its paired supermarket for one delivery day.

    `placed_by` is the account that entered it: the resident, or the community
    worker who took it by phone, WeChat, door to door or from the hotline
    (then `read_back_confirmed` records that the order was read back to the
    household and confirmed). `total` is what was ordered; `amount_due` what
    the household pays after shortages.
    """

    # household, compound and supermarket have no index of their own: an index in Meta leads with
    # each, and serves their lookups as well, with one index fewer to write per order.
    household = models.ForeignKey(
        "regions.Household",
        on_delete=models.PROTECT,
        related_name="orders",
        verbose_name=_("household"),
        db_index=False,
    )
    compound = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+", db_index=False)
    building = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    supermarket = models.ForeignKey(
        "enterprises.Organisation",
        on_delete=models.PROTECT,
        related_name="orders",
        verbose_name=_("supermarket"),
        db_index=False,
    )
    delivery_date = models.DateField(_("delivery day"))
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("placed by")
    )
    read_back_confirmed = models.BooleanField(_("read back and confirmed"), default=False)
    read_back_note = models.CharField(_("read-back note"), max_length=255, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=OrderStatus.choices, default=OrderStatus.PLACED)
    delivery_mode = models.CharField(_("delivery"), max_length=16, choices=DeliveryMode.choices)
    pickup_slot = models.CharField(_("pickup slot"), max_length=128, blank=True)
    payment_method = models.CharField(_("payment"), max_length=16, choices=PaymentMethod.choices)
    payment_status = models.CharField(_("payment status"), max_length=16, choices=PaymentStatus.choices)
    total = models.DecimalField(_("total (yuan)"), max_digits=12, decimal_places=2)
    amount_due = models.DecimalField(_("amount due (yuan)"), max_digits=12, decimal_places=2)
    is_partial = models.BooleanField(_("partly short"), default=False)
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    purchase_order = models.ForeignKey(
        "PurchaseOrder", null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    created_at = models.DateTimeField(_("placed at"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["supermarket", "delivery_date", "compound", "status"]),
            models.Index(fields=["household", "delivery_date"]),
            models.Index(fields=["compound", "delivery_date"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_not_negative"),
            models.CheckConstraint(
                condition=Q(amount_due__gte=0, amount_due__lte=F("total")), name="order_amount_due_within_total"
            ),
            models.CheckConstraint(
                condition=Q(channel="online") | Q(read_back_confirmed=True), name="order_proxy_read_back"
            ),
            models.CheckConstraint(
                condition=Q(delivery_mode="door") | ~Q(pickup_slot=""), name="order_pickup_has_slot"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.delivery_date} {self.status}"

    @property
    def is_proxy(self) -> bool:
        return self.channel != Channel.ONLINE


class OrderLine(models.Model):
    # No index of its own: the unique (order, offer line) index leads with it.
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", db_index=False)
    offer_line = models.ForeignKey(OfferLine, on_delete=models.PROTECT, related_name="order_lines")
    kind = models.CharField(max_length=16, choices=OfferKind.choices)
    kit = models.ForeignKey("catalog.Kit", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    commodity = models.ForeignKey(
        "catalog.Commodity", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    # Set when the supermarket confirms: what it will really deliver.
    confirmed_quantity = models.PositiveIntegerField(_("confirmed quantity"), null=True, blank=True)
    unit_price = models.DecimalField(_("unit price (yuan)"), max_digits=10, decimal_places=2)
    amount = models.DecimalField(_("amount (yuan)"), max_digits=12, decimal_places=2)
    short_reason = models.CharField(_("shortage reason"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["order_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "offer_line"], name="order_line_unique_offer"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="order_line_quantity_positive"),
            models.CheckConstraint(
                condition=Q(confirmed_quantity__isnull=True) | Q(confirmed_quantity__lte=F("quantity")),
                name="order_line_confirmed_within_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.quantity} × {self.offer_line_id}"

    @property
    def goods_name(self) -> str:
        return _goods_name(self)


class OrderEvent(models.Model):
    """The status history of an order: one row per transition, never edited."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=16, choices=OrderStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=OrderStatus.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("order event")
        verbose_name_plural = _("order events")
        ordering = ["order_id", "id"]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.from_status or '-'} → {self.to_status}"


class PaymentKind(models.TextChoices):
    CHARGE = "charge", _("payment")
    REFUND = "refund", _("refund")


class Payment(models.Model):
    """Money recorded against an order: a charge (online, cash or scan) or a refund."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    kind = models.CharField(max_length=16, choices=PaymentKind.choices)
    method = models.CharField(max_length=16, choices=PaymentMethod.choices)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    gateway = models.CharField(max_length=64, blank=True)
    reference = models.CharField(max_length=128, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["order_id", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive")]

    def __str__(self) -> str:
        return f"{self.order_id} {self.kind} {self.amount}"


class IdempotencyKey(models.Model):
    """The first answer to a create request, kept so a retry gets the same answer.

    Written once, complete with its answer and order, in the order's own
    transaction (`orders/statements.py`): a key row is either absent or holds
    a finished response. The unique index refuses a second row for the same
    account and key, which rolls back the second request's order; that request
    then replays this row.
    """

    # No index of its own: the unique (user, key) index leads with it.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(default=0)
    response = models.JSONField(default=dict)
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"


class PurchaseOrderStatus(models.TextChoices):
    OPEN = "open", _("waiting for the supermarket")
    CONFIRMED = "confirmed", _("confirmed")
    SHORT_CONFIRMED = "short_confirmed", _("confirmed with shortages")


class PurchaseOrder(models.Model):
    """All orders of one compound to one supermarket for one delivery day, made at cut-off."""

    supermarket = models.ForeignKey(
        "enterprises.Organisation", on_delete=models.PROTECT, related_name="purchase_orders"
    )
    compound = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    delivery_date = models.DateField(_("delivery day"))
    status = models.CharField(
        _("status"), max_length=16, choices=PurchaseOrderStatus.choices, default=PurchaseOrderStatus.OPEN
    )
    order_count = models.PositiveIntegerField(_("orders"), default=0)
    total = models.DecimalField(_("total (yuan)"), max_digits=14, decimal_places=2, default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("purchase order")
        verbose_name_plural = _("purchase orders")
        ordering = ["-delivery_date", "compound_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["supermarket", "compound", "delivery_date"], name="purchase_order_unique_per_day"
            ),
        ]

    def __str__(self) -> str:
        return f"PO {self.supermarket_id}/{self.compound_id} {self.delivery_date}"


class PurchaseOrderLine(models.Model):
    purchase_order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="lines")
    offer_line = models.ForeignKey(OfferLine, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(_("quantity ordered"))
    confirmed_quantity = models.PositiveIntegerField(_("quantity confirmed"), null=True, blank=True)
    short_reason = models.CharField(_("shortage reason"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("purchase order line")
        verbose_name_plural = _("purchase order lines")
        ordering = ["purchase_order_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["purchase_order", "offer_line"], name="purchase_order_line_unique"),
            models.CheckConstraint(
                condition=Q(confirmed_quantity__isnull=True) | Q(confirmed_quantity__lte=F("quantity")),
                name="purchase_order_line_confirmed_within_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.purchase_order_id}: {self.quantity} × {self.offer_line_id}"
