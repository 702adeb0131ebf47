"""Organisations: government departments (with their P5 duty lists) and enterprises."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class OrganisationKind(models.TextChoices):
    DEPARTMENT = "department", _("government department")
    ENTERPRISE = "enterprise", _("enterprise")


class EnterpriseType(models.TextChoices):
    SUPERMARKET = "supermarket", _("supermarket")
    WHOLESALE_MARKET = "wholesale_market", _("wholesale market")
    PHARMACY = "pharmacy", _("pharmacy")
    LOGISTICS = "logistics", _("logistics company")
    AGREEMENT_RESERVE = "agreement_reserve", _("agreement-reserve holder")
    PRODUCER = "producer", _("producer")


class Organisation(models.Model):
    kind = models.CharField(_("kind"), max_length=16, choices=OrganisationKind.choices)
    enterprise_type = models.CharField(_("enterprise type"), max_length=24, choices=EnterpriseType.choices, blank=True)
    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=128)
    # Where it sits or what it answers for; a department's region is its jurisdiction.
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="organisations")
    address = models.CharField(_("address"), max_length=255, blank=True)
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    # Supermarkets: how many households' orders a day it can pick and pack.
    daily_household_capacity = models.PositiveIntegerField(_("households served per day"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["kind", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="department", enterprise_type="") | Q(kind="enterprise") & ~Q(enterprise_type=""),
                name="organisation_enterprise_type_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class DutyRole(models.TextChoices):
    LEAD = "lead", _("lead (牵头)")
    COOPERATING = "cooperating", _("cooperating (配合)")


class DepartmentDuty(models.Model):
    """One line of a department's written duty list (P5)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="duties")
    measure = models.CharField(_("measure"), max_length=128)
    role = models.CharField(_("role"), max_length=16, choices=DutyRole.choices)
    description = models.TextField(_("duty"))

    class Meta:
        verbose_name = _("department duty")
        verbose_name_plural = _("department duties")
        ordering = ["organisation", "measure"]

    def __str__(self) -> str:
        return f"{self.organisation}: {self.measure}"


class Contact(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(_("name"), max_length=64)
    title = models.CharField(_("title"), max_length=64, blank=True)
    phone = models.CharField(_("phone"), max_length=20)
    is_on_duty_24h = models.BooleanField(_("24-hour duty"), default=False)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")

    def __str__(self) -> str:
        return f"{self.name} ({self.organisation})"


class CompoundPairing(models.Model):
    """一一对接: the supermarket that supplies a compound, and its backup."""

    compound = models.OneToOneField("regions.Region", on_delete=models.PROTECT, related_name="pairing")
    supermarket = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="paired_compounds")
    backup = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="backup_compounds"
    )
    distance_km = models.FloatField(_("distance (km)"), null=True, blank=True)

    class Meta:
        verbose_name = _("compound pairing")
        verbose_name_plural = _("compound pairings")
        constraints = [
            models.CheckConstraint(condition=~Q(supermarket=models.F("backup")), name="pairing_backup_differs"),
        ]

    def __str__(self) -> str:
        return f"{self.compound_id} → {self.supermarket_id}"
