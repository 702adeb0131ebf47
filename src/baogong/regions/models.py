"""Region tree, zone status history and households."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class RegionLevel(models.IntegerChoices):
    COUNTY = 1, _("county / district")
    SUBDISTRICT = 2, _("subdistrict / township")
    COMMUNITY = 3, _("community / village")
    COMPOUND = 4, _("compound")
    BUILDING = 5, _("building")
    UNIT = 6, _("unit")


class RegionQuerySet(models.QuerySet["Region"]):
    def subtree_of(self, region: Region) -> RegionQuerySet:
        return self.filter(path__startswith=region.path)

    def at_level(self, level: int) -> RegionQuerySet:
        return self.filter(level=level)


class Region(models.Model):
    """A node of the administrative tree.

    `path` is the materialised path of primary keys ("/1/7/42/"): a subtree is
    one indexed prefix scan, which is what every scoping selector needs. It is
    written only by `region_create` (and the generator's bulk loader, which
    assigns keys itself).
    """

    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    level = models.PositiveSmallIntegerField(_("level"), choices=RegionLevel.choices)
    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=128)
    path = models.CharField(max_length=255, db_index=True, editable=False)
    is_rural = models.BooleanField(_("rural"), default=False)
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)

    objects = RegionQuerySet.as_manager()

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["path"]
        constraints = [
            models.CheckConstraint(
                condition=Q(parent__isnull=True, level=RegionLevel.COUNTY) | Q(parent__isnull=False, level__gt=1),
                name="region_root_is_county",
            ),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True) | Q(latitude__gte=-90, latitude__lte=90),
                name="region_latitude_range",
            ),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True) | Q(longitude__gte=-180, longitude__lte=180),
                name="region_longitude_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def ancestor_ids(self) -> list[int]:
        return [int(part) for part in self.path.strip("/").split("/") if part]


class ZoneStatusKind(models.TextChoices):
    SEALED = "sealed", _("sealed (封控)")
    CONTROLLED = "controlled", _("controlled (管控)")
    PREVENTION = "prevention", _("prevention (防范)")
    NORMAL = "normal", _("normal")


# Order of restriction, most restrictive first; used to pick the effective status.
ZONE_SEVERITY = {
    ZoneStatusKind.SEALED: 3,
    ZoneStatusKind.CONTROLLED: 2,
    ZoneStatusKind.PREVENTION: 1,
    ZoneStatusKind.NORMAL: 0,
}
# P7: a suspected case seals the compound for 7 days.
SEALED_DEFAULT_PERIOD = timedelta(days=7)


class ZoneStatus(models.Model):
    """One period of a zone status for one region. Rows are never edited:
    ending a period early or changing status appends a new row whose start
    supersedes the earlier one, so the full history stays readable."""

    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="zone_statuses")
    status = models.CharField(_("status"), max_length=16, choices=ZoneStatusKind.choices)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=255)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("zone status")
        verbose_name_plural = _("zone statuses")
        ordering = ["region", "-starts_at", "-id"]
        indexes = [models.Index(fields=["region", "-starts_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=models.F("starts_at")),
                name="zone_status_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.region} {self.status} {self.starts_at:%Y-%m-%d}"


class VulnerabilityTag(models.TextChoices):
    """The P2 categories."""

    POOR_REGISTERED = "poor_registered", _("registered poor household")
    DIBAO = "dibao", _("minimum subsistence (低保)")
    TEKUN = "tekun", _("extreme poverty (特困)")
    POOR_DISABLED = "poor_disabled", _("poor disabled person")
    ELDERLY_ALONE = "elderly_alone", _("empty-nest / alone elderly")
    LOST_ONLY_CHILD = "lost_only_child", _("family that lost its only child")
    CHRONIC_PATIENT = "chronic_patient", _("chronic patient")
    REDUCED_MOBILITY = "reduced_mobility", _("reduced mobility")
    OTHER = "other", _("other needing temporary aid")


VULNERABILITY_BITS: dict[str, int] = {tag.value: 1 << i for i, tag in enumerate(VulnerabilityTag)}


def vulnerability_mask_of(tags: list[str] | set[str]) -> int:
    mask = 0
    for tag in tags:
        mask |= VULNERABILITY_BITS[tag]
    return mask


def vulnerability_tags_of(mask: int) -> list[str]:
    return [tag for tag, bit in VULNERABILITY_BITS.items() if mask & bit]


class Household(models.Model):
    """A household, addressed down to unit and room.

    `compound` repeats an ancestor of `unit` on purpose: every list, count and
    plan groups households by compound, and one indexed column beats a join on
    the path for ten million rows. Only region services and the importer set it,
    from the unit's own path.
    """

    unit = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="households")
    compound = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="compound_households")
    room = models.CharField(_("room"), max_length=16)
    head_name = models.CharField(_("head of household"), max_length=64)
    size = models.PositiveSmallIntegerField(_("household size"))
    phone = models.CharField(_("phone"), max_length=20)
    id_number = models.CharField(_("ID number"), max_length=18, blank=True)
    # Bit i set <=> the i-th VulnerabilityTag applies. A bitmask rather than a
    # join table or JSON: filters ("any tag", "this tag") stay one indexed
    # integer comparison on both databases and bulk loading stays one row.
    vulnerability_mask = models.PositiveIntegerField(_("vulnerability"), default=0, db_index=True)
    can_order_online = models.BooleanField(_("can order online"), default=True)
    notes = models.CharField(_("notes"), max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")
        ordering = ["unit_id", "room"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "room"], name="household_unique_address"),
            models.CheckConstraint(condition=Q(size__gte=1, size__lte=30), name="household_size_range"),
        ]
        indexes = [models.Index(fields=["compound", "unit", "room"]), models.Index(fields=["phone"])]

    def __str__(self) -> str:
        return f"{self.unit_id}-{self.room}"

    @property
    def vulnerability_tags(self) -> list[str]:
        return vulnerability_tags_of(self.vulnerability_mask)

    @property
    def is_vulnerable(self) -> bool:
        return self.vulnerability_mask != 0
