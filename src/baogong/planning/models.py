"""Stored allocation runs: what each household ordered, got, and why; what is carried to the next day.

A run is written once by `planning.services.allocation_run_create` and never
edited, except that a later run for the same supermarket and day marks it
superseded (`is_current`). The CHECKs keep the totals honest: nobody gets more
than ordered, a run never hands out more than it had, and unmet demand is
exactly demand minus allocation.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .allocation import AllocationRules


class AllocationRun(models.Model):
    supermarket = models.ForeignKey(
        "enterprises.Organisation", on_delete=models.PROTECT, related_name="+", verbose_name=_("supermarket")
    )
    # The depot whose stock was counted, when the run was not against the supermarket's own points.
    stock_point = models.ForeignKey(
        "stock.StockPoint", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("depot")
    )
    delivery_date = models.DateField(_("delivery day"))
    is_current = models.BooleanField(_("current"), default=True)
    rules = models.JSONField(_("rules"))
    supply_total = models.PositiveIntegerField(_("supply"))
    demand_total = models.PositiveIntegerField(_("demand"))
    allocated_total = models.PositiveIntegerField(_("allocated"))
    unmet_total = models.PositiveIntegerField(_("unmet demand"))
    household_count = models.PositiveIntegerField(_("households"))
    # Pick lines before and after the proposed standard-package conversions (null: no capacity set).
    pick_lines_ordered = models.PositiveIntegerField(_("pick lines ordered"), null=True, blank=True)
    pick_lines_planned = models.PositiveIntegerField(_("pick lines after conversions"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("allocation run")
        verbose_name_plural = _("allocation runs")
        ordering = ["-delivery_date", "-id"]
        indexes = [models.Index(fields=["supermarket", "delivery_date"])]
        constraints = [
            models.UniqueConstraint(
                fields=["supermarket", "delivery_date"],
                condition=Q(is_current=True),
                name="allocation_run_one_current_per_day",
            ),
            models.CheckConstraint(
                condition=Q(allocated_total__lte=F("supply_total")) & Q(allocated_total__lte=F("demand_total")),
                name="allocation_run_allocated_within_supply_and_demand",
            ),
            models.CheckConstraint(
                condition=Q(unmet_total=F("demand_total") - F("allocated_total")),
                name="allocation_run_unmet_is_the_rest",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.supermarket_id} {self.delivery_date} #{self.pk}"

    @property
    def allocation_rules(self) -> AllocationRules:
        return AllocationRules.from_dict(self.rules)


class SupplySource(models.TextChoices):
    EXPLICIT = "explicit", _("given for the run")
    STOCK = "stock", _("on hand")
    ASSEMBLED = "assembled", _("kits that can be packed from stock on hand")
    OFFER = "offer", _("quantity offered")
    NONE = "none", _("no known supply")


class AllocationItem(models.Model):
    """One item of a run: its supply, where that figure came from, demand, allocation and unmet demand."""

    run = models.ForeignKey(AllocationRun, on_delete=models.CASCADE, related_name="items")
    commodity = models.ForeignKey(
        "catalog.Commodity", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kit = models.ForeignKey("catalog.Kit", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    supply_source = models.CharField(_("supply from"), max_length=16, choices=SupplySource.choices)
    supply = models.PositiveIntegerField(_("supply"))
    demand = models.PositiveIntegerField(_("demand"))
    allocated = models.PositiveIntegerField(_("allocated"))
    unmet = models.PositiveIntegerField(_("unmet demand"))
    # Of the demand, how much was carried over from the day before.
    carried_in = models.PositiveIntegerField(_("carried over"), default=0)

    class Meta:
        verbose_name = _("allocated item")
        verbose_name_plural = _("allocated items")
        ordering = ["run_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kit__isnull=True, commodity__isnull=False) | Q(kit__isnull=False, commodity__isnull=True),
                name="allocation_item_one_kind_of_goods",
            ),
            models.UniqueConstraint(
                fields=["run", "commodity"],
                condition=Q(commodity__isnull=False),
                name="allocation_item_unique_commodity",
            ),
            models.UniqueConstraint(
                fields=["run", "kit"], condition=Q(kit__isnull=False), name="allocation_item_unique_kit"
            ),
            models.CheckConstraint(
                condition=Q(allocated__lte=F("supply")) & Q(allocated__lte=F("demand")),
                name="allocation_item_allocated_within_supply_and_demand",
            ),
            models.CheckConstraint(
                condition=Q(unmet=F("demand") - F("allocated")), name="allocation_item_unmet_is_the_rest"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.run_id}: {self.commodity_id or self.kit_id} {self.allocated}/{self.demand}"

    @property
    def goods_name(self) -> str:
        goods = self.kit if self.kit_id else self.commodity
        return goods.name if goods is not None else ""


class AllocationTier(models.TextChoices):
    RELIEF = "relief", _("relief")
    VULNERABLE = "vulnerable", _("vulnerable")
    CARRIED_OVER = "carried_over", _("carried over")
    GENERAL = "general", _("general")


class AllocationRule(models.TextChoices):
    IN_FULL = "in_full", _("served in full")
    CAPPED = "capped", _("capped at ordered")
    FLOOR = "floor", _("floor")
    FAIR_SHARE = "fair_share", _("fair share")
    EXHAUSTED = "exhausted", _("nothing left after higher tiers")
    NO_SUPPLY = "no_supply", _("no supply")


class AllocationRounding(models.TextChoices):
    EXACT = "exact", _("exact")
    UP = "up", _("rounded up")
    DOWN = "down", _("rounded down")


class AllocationLine(models.Model):
    """One household's claim on one item in one tier, and the rule that decided it."""

    run = models.ForeignKey(AllocationRun, on_delete=models.CASCADE, related_name="lines")
    item = models.ForeignKey(AllocationItem, on_delete=models.CASCADE, related_name="lines")
    household = models.ForeignKey("regions.Household", on_delete=models.PROTECT, related_name="+")
    tier = models.CharField(_("tier"), max_length=16, choices=AllocationTier.choices)
    is_prioritised = models.BooleanField(_("priority tier"))
    weight = models.PositiveSmallIntegerField(_("persons"))
    ordered = models.PositiveIntegerField(_("ordered"))
    floor = models.PositiveIntegerField(_("floor"))
    # The exact share is a fraction; four places are enough to explain the rounding.
    share = models.DecimalField(_("fair share"), max_digits=12, decimal_places=4)
    allocated = models.PositiveIntegerField(_("allocated"))
    rule = models.CharField(_("rule"), max_length=16, choices=AllocationRule.choices)
    rounding = models.CharField(_("rounding"), max_length=8, choices=AllocationRounding.choices)

    class Meta:
        verbose_name = _("allocation line")
        verbose_name_plural = _("allocation lines")
        ordering = ["item_id", "id"]
        indexes = [models.Index(fields=["run", "household"])]
        constraints = [
            models.UniqueConstraint(fields=["item", "household", "tier"], name="allocation_line_unique_claim"),
            models.CheckConstraint(condition=Q(allocated__lte=F("ordered")), name="allocation_line_within_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id}/{self.household_id}: {self.allocated}/{self.ordered}"

    @property
    def unmet(self) -> int:
        return self.ordered - self.allocated

    @property
    def explanation(self) -> str:
        """Why this household got what it got, in the reader's language."""
        tier = gettext("priority tier %(tier)s") % {"tier": AllocationTier(self.tier).label}
        share = f"{self.share.quantize(Decimal('0.01'))}"
        reasons = {
            AllocationRule.IN_FULL: gettext("served in full"),
            AllocationRule.CAPPED: gettext("capped at ordered"),
            AllocationRule.FLOOR: gettext("floor of %(floor)s") % {"floor": self.floor},
            AllocationRule.EXHAUSTED: gettext("nothing left after higher tiers"),
            AllocationRule.NO_SUPPLY: gettext("no supply"),
        }
        if self.rule == AllocationRule.FAIR_SHARE:
            if self.rounding == AllocationRounding.EXACT:
                reason = gettext("fair share %(share)s") % {"share": share}
            else:
                reason = gettext("fair share %(share)s → %(allocated)s (largest remainder)") % {
                    "share": share,
                    "allocated": self.allocated,
                }
        else:
            reason = reasons[AllocationRule(self.rule)]
        return f"{tier}: {reason}" if self.is_prioritised else reason


class AllocationCarryOver(models.Model):
    """Demand a run could not meet, carried to the next delivery day for the same supermarket.

    The next day's run reads the rows of the current run of the day before and
    gives them the "carried over" tier, less what the household ordered again.
    """

    run = models.ForeignKey(AllocationRun, on_delete=models.CASCADE, related_name="carry_overs")
    item = models.ForeignKey(AllocationItem, on_delete=models.CASCADE, related_name="carry_overs")
    household = models.ForeignKey("regions.Household", on_delete=models.PROTECT, related_name="+")
    for_date = models.DateField(_("carried to"))
    quantity = models.PositiveIntegerField(_("quantity"))

    class Meta:
        verbose_name = _("carried-over demand")
        verbose_name_plural = _("carried-over demand")
        ordering = ["item_id", "household_id"]
        indexes = [models.Index(fields=["for_date", "run"])]
        constraints = [
            models.UniqueConstraint(fields=["item", "household"], name="allocation_carry_over_unique"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="allocation_carry_over_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id}/{self.household_id} → {self.for_date}: {self.quantity}"


class PackageConversionReason(models.TextChoices):
    PICK_CAPACITY = "pick_capacity", _("packing capacity short")


class PackageConversion(models.Model):
    """A proposal (P1) to give a household a standard package instead of individual items."""

    run = models.ForeignKey(AllocationRun, on_delete=models.CASCADE, related_name="conversions")
    household = models.ForeignKey("regions.Household", on_delete=models.PROTECT, related_name="+")
    package = models.ForeignKey("catalog.Kit", on_delete=models.PROTECT, related_name="+")
    # [{"commodity": id, "quantity": n}, …]: the item lines the package replaces.
    replaced = models.JSONField(_("items replaced"))
    lines_saved = models.PositiveIntegerField(_("pick lines saved"))
    reason = models.CharField(_("reason"), max_length=16, choices=PackageConversionReason.choices)

    class Meta:
        verbose_name = _("standard-package conversion")
        verbose_name_plural = _("standard-package conversions")
        ordering = ["run_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "household"], name="package_conversion_one_per_household"),
            models.CheckConstraint(condition=Q(lines_saved__gte=1), name="package_conversion_saves_a_line"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id}/{self.household_id} → {self.package_id}"

    @property
    def explanation(self) -> str:
        return gettext(
            "packing capacity %(capacity)s pick lines < %(ordered)s ordered: "
            "%(lines)s item lines → 1 standard package (saves %(saved)s)"
        ) % {
            "capacity": self.run.allocation_rules.pick_line_capacity,
            "ordered": self.run.pick_lines_ordered,
            "lines": len(self.replaced),
            "saved": self.lines_saved,
        }
