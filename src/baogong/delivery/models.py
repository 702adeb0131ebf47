"""Delivery: the transport capacity pool, green passes, checkpoint checks, gate arrivals, disinfection."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class VehicleType(models.TextChoices):
    VAN = "van", _("light van")
    REFRIGERATED_VAN = "refrigerated_van", _("refrigerated van")
    LIGHT_TRUCK = "light_truck", _("light truck")
    TRUCK = "truck", _("truck")


class Vehicle(models.Model):
    plate = models.CharField(_("plate"), max_length=16, unique=True)
    vehicle_type = models.CharField(_("vehicle type"), max_length=24, choices=VehicleType.choices)
    payload_kg = models.PositiveIntegerField(_("payload (kg)"))
    volume_m3 = models.DecimalField(_("load volume (m³)"), max_digits=6, decimal_places=2)
    is_cold_chain = models.BooleanField(_("cold chain"), default=False)
    owner = models.ForeignKey(
        "enterprises.Organisation", on_delete=models.PROTECT, related_name="vehicles", verbose_name=_("owner")
    )
    # Where the vehicle starts its day; routes begin and end here.
    home = models.ForeignKey(
        "stock.StockPoint",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="vehicles",
        verbose_name=_("home stock point"),
    )

    class Meta:
        verbose_name = _("vehicle")
        verbose_name_plural = _("vehicles")
        ordering = ["plate"]
        constraints = [
            models.CheckConstraint(
                condition=Q(payload_kg__gt=0) & Q(volume_m3__gt=0), name="vehicle_positive_capacity"
            ),
        ]

    def __str__(self) -> str:
        return self.plate


class ItineraryStatus(models.TextChoices):
    GREEN = "green", _("green")
    YELLOW = "yellow", _("yellow")
    RED = "red", _("red")


class Driver(models.Model):
    """A driver of the capacity pool with the health credentials a checkpoint asks for."""

    name = models.CharField(_("name"), max_length=64)
    phone = models.CharField(_("phone"), max_length=20)
    licence_number = models.CharField(_("driving licence number"), max_length=32, unique=True)
    employer = models.ForeignKey(
        "enterprises.Organisation", on_delete=models.PROTECT, related_name="drivers", verbose_name=_("employer")
    )
    itinerary_status = models.CharField(
        _("itinerary code"), max_length=8, choices=ItineraryStatus.choices, default=ItineraryStatus.GREEN
    )
    itinerary_updated_at = models.DateTimeField(_("itinerary code updated at"))
    last_negative_test_at = models.DateTimeField(_("last negative nucleic-acid test"), null=True, blank=True)

    class Meta:
        verbose_name = _("driver")
        verbose_name_plural = _("drivers")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.licence_number})"


class GreenPassCounter(models.Model):
    """The last serial handed out for one 6-digit area code.

    Incremented only by a conditional UPDATE in `pass_issue`, whose row lock
    serialises concurrent issuers of one area, so two passes never share a number.
    """

    area_code = models.CharField(max_length=6, unique=True)
    last_serial = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(last_serial__lte=999_999), name="green_pass_counter_six_digits"),
        ]

    def __str__(self) -> str:
        return f"{self.area_code}: {self.last_serial}"


class GreenPassStatus(models.TextChoices):
    ACTIVE = "active", _("active")
    REVOKED = "revoked", _("revoked")


class GreenPass(models.Model):
    """绿色通行证: one vehicle, one driver, one route, one validity window.

    `region` is where the pass was issued (the issuer's area); scoping and the
    checkpoint's "is this one of ours" go through it. At most one active pass
    per vehicle overlaps any moment: `pass_issue` checks it under a lock on the
    vehicle, and on PostgreSQL an exclusion constraint (migration 0003) backs it.
    """

    number = models.CharField(_("pass number"), max_length=12, unique=True)
    area_code = models.CharField(_("area code"), max_length=6)
    serial = models.PositiveIntegerField(_("serial"))
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="green_passes")
    vehicle = models.ForeignKey(Vehicle, on_delete=models.PROTECT, related_name="passes", verbose_name=_("vehicle"))
    driver = models.ForeignKey(Driver, on_delete=models.PROTECT, related_name="passes", verbose_name=_("driver"))
    valid_from = models.DateTimeField(_("valid from"))
    valid_until = models.DateTimeField(_("valid until"))
    origin_stock_point = models.ForeignKey(
        "stock.StockPoint",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("origin stock point"),
    )
    origin_organisation = models.ForeignKey(
        "enterprises.Organisation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("origin organisation"),
    )
    destinations = models.ManyToManyField("regions.Region", related_name="+", verbose_name=_("destinations"))
    status = models.CharField(
        _("status"), max_length=8, choices=GreenPassStatus.choices, default=GreenPassStatus.ACTIVE
    )
    revoked_reason = models.CharField(_("reason for revocation"), max_length=255, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    issued_at = models.DateTimeField(_("issued at"), auto_now_add=True)

    class Meta:
        verbose_name = _("green pass")
        verbose_name_plural = _("green passes")
        ordering = ["-issued_at", "-pk"]
        indexes = [models.Index(fields=["vehicle", "status", "valid_from"])]
        constraints = [
            models.UniqueConstraint(fields=["area_code", "serial"], name="green_pass_unique_serial"),
            models.CheckConstraint(
                condition=Q(valid_until__gt=models.F("valid_from")), name="green_pass_valid_until_after_from"
            ),
            models.CheckConstraint(
                condition=Q(origin_stock_point__isnull=False, origin_organisation__isnull=True)
                | Q(origin_stock_point__isnull=True, origin_organisation__isnull=False),
                name="green_pass_one_origin",
            ),
            models.CheckConstraint(
                condition=Q(status="active", revoked_at__isnull=True)
                | Q(status="revoked", revoked_at__isnull=False) & ~Q(revoked_reason=""),
                name="green_pass_revocation_complete",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def origin_name(self) -> str:
        origin = self.origin_stock_point or self.origin_organisation
        return origin.name if origin is not None else ""


class CheckResult(models.TextChoices):
    PASS = "pass", _("PASS")
    STOP = "stop", _("STOP")


class StopReason(models.TextChoices):
    UNKNOWN_PASS = "unknown_pass", _("unknown pass")
    FORGED = "forged", _("forged or altered QR code")
    REVOKED = "revoked", _("pass revoked")
    EXPIRED = "expired", _("pass expired")
    NOT_YET_VALID = "not_yet_valid", _("pass not yet valid")
    WRONG_ROUTE = "wrong_route", _("destination not on the pass")
    PLATE_MISMATCH = "plate_mismatch", _("plate does not match the pass")
    TEST_TOO_OLD = "test_too_old", _("driver's negative test older than 48 hours")
    ITINERARY_FLAGGED = "itinerary_flagged", _("driver's itinerary code is not green")


class PassCheck(models.Model):
    """One check at a checkpoint, refusals included; rows are only ever added."""

    green_pass = models.ForeignKey(
        GreenPass, null=True, blank=True, on_delete=models.PROTECT, related_name="checks", verbose_name=_("pass")
    )
    # What was presented, as read: the number typed or the number the QR claimed (may be forged).
    presented = models.CharField(_("presented"), max_length=255, blank=True)
    officer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    checkpoint_region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("checkpoint")
    )
    route_destination = models.ForeignKey(
        "regions.Region", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    plate_seen = models.CharField(_("plate seen"), max_length=16)
    checked_at = models.DateTimeField(_("checked at"))
    result = models.CharField(_("result"), max_length=8, choices=CheckResult.choices)
    reasons = models.JSONField(_("reasons"), default=list, blank=True)

    class Meta:
        verbose_name = _("pass check")
        verbose_name_plural = _("pass checks")
        ordering = ["-checked_at", "-pk"]
        indexes = [models.Index(fields=["checkpoint_region", "-checked_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(result="pass", reasons=[]) | Q(result="stop") & ~Q(reasons=[]),
                name="pass_check_reasons_match_result",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.presented} {self.result} {self.checked_at:%Y-%m-%d %H:%M}"


class GateArrival(models.Model):
    """A vehicle arriving at a compound gate."""

    vehicle = models.ForeignKey(Vehicle, on_delete=models.PROTECT, related_name="gate_arrivals")
    green_pass = models.ForeignKey(GreenPass, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    compound = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="gate_arrivals")
    arrived_at = models.DateTimeField(_("arrived at"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    note = models.CharField(_("note"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("gate arrival")
        verbose_name_plural = _("gate arrivals")
        ordering = ["-arrived_at", "-pk"]
        indexes = [models.Index(fields=["compound", "-arrived_at"])]

    def __str__(self) -> str:
        return f"{self.vehicle_id} @ {self.compound_id} {self.arrived_at:%Y-%m-%d %H:%M}"


class VehicleDisinfection(models.Model):
    """P7: a vehicle is disinfected before it leaves (the stock point, or the compound after unloading)."""

    vehicle = models.ForeignKey(Vehicle, on_delete=models.PROTECT, related_name="disinfections")
    disinfected_at = models.DateTimeField(_("disinfected at"))
    place = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("where"))
    agent = models.CharField(_("disinfectant"), max_length=64)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("vehicle disinfection")
        verbose_name_plural = _("vehicle disinfections")
        ordering = ["-disinfected_at", "-pk"]
        indexes = [models.Index(fields=["vehicle", "-disinfected_at"])]

    def __str__(self) -> str:
        return f"{self.vehicle_id} {self.disinfected_at:%Y-%m-%d %H:%M}"


class GateReceipt(models.Model):
    """The gate verification of one compound's goods for one delivery day, with the zero-contact handover.

    Written once, when the volunteer completes the checklist, and never edited:
    a compound has at most one receipt a day (the unique constraint is what
    makes a second completion, even a simultaneous one, a conflict). The
    handover is recorded here: who took the goods in, when, and where they
    were put down, since nobody hands anything from hand to hand.
    """

    compound = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="gate_receipts", verbose_name=_("compound")
    )
    delivery_date = models.DateField(_("delivery day"))
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("received by")
    )
    received_at = models.DateTimeField(_("received at"))
    placed_at = models.CharField(_("goods placed at"), max_length=128)
    note = models.CharField(_("note"), max_length=255, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("gate receipt")
        verbose_name_plural = _("gate receipts")
        ordering = ["-delivery_date", "compound_id"]
        constraints = [
            models.UniqueConstraint(fields=["compound", "delivery_date"], name="gate_receipt_one_per_compound_day"),
            models.CheckConstraint(condition=~Q(placed_at=""), name="gate_receipt_placed_at_given"),
        ]

    def __str__(self) -> str:
        return f"{self.compound_id} {self.delivery_date}"


class GateReceiptLine(models.Model):
    """One checklist line as counted: what the purchase order said would come and what did."""

    receipt = models.ForeignKey(GateReceipt, on_delete=models.PROTECT, related_name="lines")
    purchase_order_line = models.ForeignKey("orders.PurchaseOrderLine", on_delete=models.PROTECT, related_name="+")
    expected_quantity = models.PositiveIntegerField(_("expected"))
    received_quantity = models.PositiveIntegerField(_("received"))
    # What reaches households: received less damaged and wrong items, never more than expected.
    accepted_quantity = models.PositiveIntegerField(_("accepted"))

    class Meta:
        verbose_name = _("gate receipt line")
        verbose_name_plural = _("gate receipt lines")
        ordering = ["receipt_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["receipt", "purchase_order_line"], name="gate_receipt_line_unique"),
            models.CheckConstraint(
                condition=Q(accepted_quantity__lte=F("expected_quantity"))
                & Q(accepted_quantity__lte=F("received_quantity")),
                name="gate_receipt_line_accepted_within_expected_and_received",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.receipt_id}/{self.purchase_order_line_id}: {self.received_quantity}/{self.expected_quantity}"

    @property
    def shortfall(self) -> int:
        return self.expected_quantity - self.accepted_quantity


class DiscrepancyKind(models.TextChoices):
    SHORT = "short", _("short")
    DAMAGED = "damaged", _("damaged")
    WRONG_ITEM = "wrong_item", _("wrong item")


class GateDiscrepancy(models.Model):
    """Something on a checklist line that did not arrive as ordered, with an optional photo."""

    line = models.ForeignKey(GateReceiptLine, on_delete=models.PROTECT, related_name="discrepancies")
    kind = models.CharField(_("kind"), max_length=16, choices=DiscrepancyKind.choices)
    quantity = models.PositiveIntegerField(_("quantity"))
    note = models.CharField(_("note"), max_length=255, blank=True)
    # Served only through the scoped photo view, never straight from MEDIA_URL.
    photo = models.FileField(_("photo"), upload_to="gate/%Y/%m/", blank=True)
    photo_content_type = models.CharField(max_length=32, blank=True)

    class Meta:
        verbose_name = _("gate discrepancy")
        verbose_name_plural = _("gate discrepancies")
        ordering = ["line_id", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="gate_discrepancy_quantity_positive"),
            models.UniqueConstraint(fields=["line", "kind"], name="gate_discrepancy_one_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.line_id} {self.kind} {self.quantity}"


class FollowUpStatus(models.TextChoices):
    OPEN = "open", _("open")
    CLOSED = "closed", _("closed")


class FollowUp(models.Model):
    """A discrepancy someone has to chase (the hotline picks these up): what, who, where, raised when."""

    discrepancy = models.OneToOneField(GateDiscrepancy, on_delete=models.PROTECT, related_name="follow_up")
    compound = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    delivery_date = models.DateField(_("delivery day"))
    supermarket = models.ForeignKey(
        "enterprises.Organisation", on_delete=models.PROTECT, related_name="+", verbose_name=_("supermarket")
    )
    summary = models.CharField(_("what"), max_length=255)
    households_affected = models.PositiveIntegerField(_("households affected"))
    status = models.CharField(_("status"), max_length=8, choices=FollowUpStatus.choices, default=FollowUpStatus.OPEN)
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    raised_at = models.DateTimeField(_("raised at"))

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ["-raised_at", "-pk"]
        indexes = [models.Index(fields=["status", "-raised_at"]), models.Index(fields=["compound", "delivery_date"])]

    def __str__(self) -> str:
        return f"{self.compound_id} {self.delivery_date}: {self.summary}"
