"""Stock points, balances and the append-only stock ledger.

Quantities are whole counted units of the commodity (`Commodity.unit`): bags,
boxes, kilograms. Integers make `on_hand == sum(ledger)` exact.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class StockPointKind(models.TextChoices):
    GOVERNMENT_RESERVE = "government_reserve", _("government reserve")
    AGREEMENT_RESERVE = "agreement_reserve", _("agreement reserve")
    SUPERMARKET = "supermarket", _("supermarket")
    COMMUNITY_POINT = "community_point", _("community point")


class StockPoint(models.Model):
    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=128)
    kind = models.CharField(_("kind"), max_length=24, choices=StockPointKind.choices)
    # Where it is: scoping for region-bound roles goes through this.
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="stock_points")
    # Who operates it: scoping for organisation-bound roles goes through this.
    organisation = models.ForeignKey(
        "enterprises.Organisation", on_delete=models.PROTECT, related_name="stock_points", null=True, blank=True
    )
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("stock point")
        verbose_name_plural = _("stock points")
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name


class StockBalance(models.Model):
    """Cached on-hand per point, commodity and lot.

    Changed only by `stock.services`, in the same transaction that appends the
    ledger row, through F() or conditional updates. The CHECK makes a negative
    balance impossible even if a future service forgets its condition.
    """

    point = models.ForeignKey(StockPoint, on_delete=models.PROTECT, related_name="balances")
    commodity = models.ForeignKey("catalog.Commodity", on_delete=models.PROTECT, related_name="balances")
    lot = models.CharField(_("lot"), max_length=32, blank=True, default="")
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    on_hand = models.BigIntegerField(_("on hand"), default=0)

    class Meta:
        verbose_name = _("stock balance")
        verbose_name_plural = _("stock balances")
        constraints = [
            models.UniqueConstraint(fields=["point", "commodity", "lot"], name="stock_balance_unique_lot"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="stock_balance_on_hand_not_negative"),
        ]
        indexes = [models.Index(fields=["commodity", "point"])]

    def __str__(self) -> str:
        return f"{self.point_id}/{self.commodity_id}/{self.lot or '-'}: {self.on_hand}"


class MovementKind(models.TextChoices):
    RECEIPT = "receipt", _("receipt")
    ISSUE = "issue", _("issue")
    TRANSFER_OUT = "transfer_out", _("transfer out")
    TRANSFER_IN = "transfer_in", _("transfer in")
    ADJUSTMENT = "adjustment", _("adjustment")
    COUNT = "count", _("count")


class StockMovement(models.Model):
    """One line of the ledger. Append-only: database triggers refuse UPDATE and DELETE.

    `quantity` is the signed change to the balance; `balance_after` the
    lot's on-hand right after it, so a reader can follow a lot without summing.
    A transfer is two rows sharing `transfer_group`.
    """

    created_at = models.DateTimeField(_("time"), auto_now_add=True)
    point = models.ForeignKey(StockPoint, on_delete=models.PROTECT, related_name="movements")
    commodity = models.ForeignKey("catalog.Commodity", on_delete=models.PROTECT, related_name="movements")
    balance = models.ForeignKey(StockBalance, on_delete=models.PROTECT, related_name="movements")
    lot = models.CharField(_("lot"), max_length=32, blank=True, default="")
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=MovementKind.choices)
    quantity = models.BigIntegerField(_("quantity"))
    balance_after = models.BigIntegerField(_("balance after"))
    transfer_group = models.UUIDField(null=True, blank=True)
    counterparty = models.ForeignKey(
        StockPoint, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("counterparty")
    )
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    reason = models.CharField(_("reason"), max_length=255)
    reference = models.CharField(_("reference"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock ledger")
        indexes = [
            models.Index(fields=["point", "-created_at"]),
            models.Index(fields=["balance", "id"]),
            models.Index(fields=["commodity", "-created_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(balance_after__gte=0), name="stock_movement_balance_not_negative"),
            models.CheckConstraint(
                condition=Q(kind__in=["receipt", "transfer_in"], quantity__gt=0)
                | Q(kind__in=["issue", "transfer_out"], quantity__lt=0)
                | Q(kind__in=["adjustment", "count"]),
                name="stock_movement_sign_matches_kind",
            ),
            models.CheckConstraint(
                condition=~Q(reason=""),
                name="stock_movement_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.quantity:+d} @ {self.point_id}"
