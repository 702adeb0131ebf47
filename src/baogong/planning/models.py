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


# --- the delivery-day plan ------------------------------------------------------------------------


class DayPlanStatus(models.TextChoices):
    # The plan's supermarkets are being allocated (one task each); its parts do not exist yet.
    ALLOCATING = "allocating", _("allocating")
    QUEUED = "queued", _("queued")
    RUNNING = "running", _("running")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")


class DayPlan(models.Model):
    """One delivery day planned for an area: allocation, then one routing part per subdistrict.

    Both stages run as separate tasks (possibly on several machines): first one
    per supermarket (`DayPlanAllocation`), then one per subdistrict
    (`DayPlanPart`). Each task adds itself to its stage's counters with an
    `UPDATE`; the allocation that brings `allocations_finished` to
    `allocations_total` splits the fleet and queues the parts, and the part
    that brings `parts_finished` to `parts_total` settles the status.
    """

    area = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("area"))
    delivery_date = models.DateField(_("delivery day"))
    status = models.CharField(_("status"), max_length=16, choices=DayPlanStatus.choices, default=DayPlanStatus.QUEUED)
    time_limit_s = models.FloatField(_("time limit per subdistrict (s)"))
    allocations_total = models.PositiveIntegerField(_("supermarkets"), default=0)
    allocations_finished = models.PositiveIntegerField(_("supermarkets allocated"), default=0)
    parts_total = models.PositiveIntegerField(_("subdistricts"), default=0)
    parts_finished = models.PositiveIntegerField(_("subdistricts finished"), default=0)
    parts_failed = models.PositiveIntegerField(_("subdistricts failed"), default=0)
    stops = models.PositiveIntegerField(_("stops"), default=0)
    stops_assigned = models.PositiveIntegerField(_("stops routed"), default=0)
    distance_km = models.FloatField(_("distance (km)"), default=0)
    vehicles_available = models.PositiveIntegerField(_("vehicles available"), default=0)
    vehicles_used = models.PositiveIntegerField(_("vehicles used"), default=0)
    # Sums over routes, so utilisation = load_kg / capacity_kg stays exact when parts add up.
    load_kg = models.FloatField(_("load (kg)"), default=0)
    capacity_kg = models.FloatField(_("capacity of vehicles used (kg)"), default=0)
    unmet_units = models.PositiveIntegerField(_("unmet demand (units)"), default=0)
    unrouted_kg = models.FloatField(_("demand not routed (kg)"), default=0)
    allocation_runs = models.JSONField(_("allocation runs"), default=list)
    notes = models.JSONField(_("notes"), default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("day plan")
        verbose_name_plural = _("day plans")
        ordering = ["-delivery_date", "-id"]
        indexes = [models.Index(fields=["delivery_date", "area"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(allocations_finished__lte=F("allocations_total")),
                name="day_plan_allocations_finished_within_total",
            ),
            models.CheckConstraint(
                condition=Q(parts_finished__lte=F("parts_total")), name="day_plan_parts_finished_within_total"
            ),
            models.CheckConstraint(
                condition=Q(parts_failed__lte=F("parts_finished")), name="day_plan_parts_failed_within_finished"
            ),
            models.CheckConstraint(condition=Q(stops_assigned__lte=F("stops")), name="day_plan_routed_within_stops"),
        ]

    def __str__(self) -> str:
        return f"{self.area_id} {self.delivery_date} #{self.pk}"

    @property
    def utilisation(self) -> float:
        return self.load_kg / self.capacity_kg if self.capacity_kg else 0.0

    @property
    def progress_percent(self) -> int:
        return round(100 * self.parts_finished / self.parts_total) if self.parts_total else 100


class DayPlanAllocation(models.Model):
    """One supermarket's allocation for a plan: its run, or why there is none, and how long it took."""

    plan = models.ForeignKey(DayPlan, on_delete=models.CASCADE, related_name="allocations")
    supermarket = models.ForeignKey("enterprises.Organisation", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=DayPlanStatus.choices, default=DayPlanStatus.QUEUED)
    run = models.ForeignKey(AllocationRun, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    error = models.CharField(max_length=255, blank=True)
    seconds = models.FloatField(default=0)
    # What the run sends to each compound gate, {"<compound id>": [kg, has chilled goods]}: the fleet
    # split adds these up instead of reading every line of every run after the last allocation.
    compound_kg = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["plan_id", "supermarket_id"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "supermarket"], name="day_plan_allocation_unique_supermarket"),
        ]

    def __str__(self) -> str:
        return f"{self.plan_id}/{self.supermarket_id}"


class DayPlanPart(models.Model):
    """One subdistrict of a plan: its share of the fleet, its stops and the solver's report."""

    plan = models.ForeignKey(DayPlan, on_delete=models.CASCADE, related_name="parts")
    subdistrict = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=DayPlanStatus.choices, default=DayPlanStatus.QUEUED)
    # The fleet is split between subdistricts before fan-out so parallel parts never share a vehicle.
    vehicle_ids = models.JSONField(default=list)
    # The allocation runs with lines for the subdistrict's compounds (a few of a district's dozens):
    # the only ones the part reads.
    run_ids = models.JSONField(default=list)
    stops = models.PositiveIntegerField(default=0)
    stops_assigned = models.PositiveIntegerField(default=0)
    distance_km = models.FloatField(default=0)
    vehicles_used = models.PositiveIntegerField(default=0)
    solver = models.JSONField(default=dict)
    error = models.CharField(max_length=255, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["plan_id", "subdistrict_id"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "subdistrict"], name="day_plan_part_unique_subdistrict"),
        ]

    def __str__(self) -> str:
        return f"{self.plan_id}/{self.subdistrict_id}"


class PlanRoute(models.Model):
    """One vehicle's day in a plan."""

    plan = models.ForeignKey(DayPlan, on_delete=models.CASCADE, related_name="routes")
    part = models.ForeignKey(DayPlanPart, on_delete=models.CASCADE, related_name="routes")
    vehicle = models.ForeignKey("delivery.Vehicle", on_delete=models.PROTECT, related_name="+")
    depot = models.ForeignKey("stock.StockPoint", on_delete=models.PROTECT, related_name="+")
    trips = models.PositiveSmallIntegerField(_("trips"))
    starts = models.TimeField(_("starts"))
    ends = models.TimeField(_("ends"))
    distance_km = models.FloatField(_("distance (km)"))
    duration_min = models.FloatField(_("duration (min)"))
    load_kg = models.FloatField(_("load (kg)"))
    payload_kg = models.FloatField(_("payload (kg)"))

    class Meta:
        ordering = ["plan_id", "vehicle__plate"]
        constraints = [models.UniqueConstraint(fields=["plan", "vehicle"], name="plan_route_one_per_vehicle")]

    def __str__(self) -> str:
        return f"{self.plan_id}/{self.vehicle_id}"

    @property
    def utilisation(self) -> float:
        # Several trips reuse the payload, so the day's capacity is payload × trips.
        return self.load_kg / (self.payload_kg * self.trips) if self.payload_kg and self.trips else 0.0


class PlanStop(models.Model):
    """A delivery to a compound gate; routed (route, trip, sequence, times) or not (reason).

    A compound whose goods are more than the largest suitable vehicle carries
    gets several drops (split delivery): drop n carries the goods of the
    households in `household_ids`; a compound delivered in one drop leaves it
    empty (all of its households).
    """

    plan = models.ForeignKey(DayPlan, on_delete=models.CASCADE, related_name="stops_planned")
    part = models.ForeignKey(DayPlanPart, on_delete=models.CASCADE, related_name="stops_planned")
    compound = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    drop = models.PositiveSmallIntegerField(_("drop"), default=1)
    household_ids = models.JSONField(default=list, blank=True)
    route = models.ForeignKey(PlanRoute, null=True, blank=True, on_delete=models.CASCADE, related_name="stops")
    trip = models.PositiveSmallIntegerField(null=True, blank=True)
    sequence = models.PositiveSmallIntegerField(null=True, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    demand_kg = models.FloatField(_("load (kg)"))
    volume_m3 = models.FloatField(_("volume (m³)"))
    cold_chain = models.BooleanField(_("cold chain"), default=False)
    households = models.PositiveIntegerField(_("households"))
    window_open = models.TimeField()
    window_close = models.TimeField()
    arrival = models.TimeField(_("ETA"), null=True, blank=True)
    departure = models.TimeField(null=True, blank=True)
    on_board_kg = models.FloatField(_("on board on arrival (kg)"), null=True, blank=True)
    unassigned_reason = models.CharField(_("not routed because"), max_length=32, blank=True)

    class Meta:
        ordering = ["route_id", "trip", "sequence", "id"]
        indexes = [models.Index(fields=["route", "trip", "sequence"])]
        constraints = [
            models.UniqueConstraint(fields=["plan", "compound", "drop"], name="plan_stop_one_per_compound_drop"),
            models.CheckConstraint(
                condition=Q(route__isnull=True, unassigned_reason__gt="")
                | Q(route__isnull=False, unassigned_reason=""),
                name="plan_stop_routed_or_explained",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan_id}/{self.compound_id}#{self.drop}"


class PlanRoster(models.Model):
    """One courier's walk in a sealed compound; `stops` is the walk (household id, building, unit, floor, room)."""

    plan = models.ForeignKey(DayPlan, on_delete=models.CASCADE, related_name="rosters")
    part = models.ForeignKey(DayPlanPart, on_delete=models.CASCADE, related_name="rosters")
    compound = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    number = models.PositiveSmallIntegerField(_("roster"))
    volunteer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    household_count = models.PositiveSmallIntegerField(_("households"))
    stops = models.JSONField(default=list)
    unstaffed_reason = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["plan_id", "compound_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "compound", "number"], name="plan_roster_unique_number"),
        ]

    def __str__(self) -> str:
        return f"{self.plan_id}/{self.compound_id}#{self.number}"


class PlanPickupSlot(models.Model):
    """One pickup slot at a controlled compound's distribution point; `households` lists who comes."""

    plan = models.ForeignKey(DayPlan, on_delete=models.CASCADE, related_name="pickup_slots")
    part = models.ForeignKey(DayPlanPart, on_delete=models.CASCADE, related_name="pickup_slots")
    compound = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    number = models.PositiveSmallIntegerField(_("slot"))
    starts = models.TimeField(_("from"))
    ends = models.TimeField(_("to"))
    household_count = models.PositiveSmallIntegerField(_("households"))
    households = models.JSONField(default=list)

    class Meta:
        ordering = ["plan_id", "compound_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "compound", "number"], name="plan_pickup_slot_unique_number"),
        ]

    def __str__(self) -> str:
        return f"{self.plan_id}/{self.compound_id}@{self.starts}"
