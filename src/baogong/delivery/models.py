"""Delivery: vehicles (passes, checkpoints and proof of delivery come later)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
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
