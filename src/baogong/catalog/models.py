"""Commodities and kits (as data, not code)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


def localized_name(name_zh: str, name_en: str) -> str:
    """The name in the active language: Chinese for zh-*, and when no language is active; else English."""
    language = get_language() or "zh-hans"
    return name_zh if language.startswith("zh") else name_en


class CommodityCategory(models.TextChoices):
    RICE = "rice", _("rice")
    FLOUR = "flour", _("flour")
    EDIBLE_OIL = "edible_oil", _("edible oil")
    PORK = "pork", _("pork")
    OTHER_MEAT = "other_meat", _("other meat and poultry")
    STORABLE_VEGETABLES = "storable_vegetables", _("storable vegetables")
    LEAFY_VEGETABLES = "leafy_vegetables", _("leafy vegetables")
    EGGS = "eggs", _("eggs")
    MILK = "milk", _("milk")
    AQUATIC = "aquatic", _("aquatic products")
    FRUIT = "fruit", _("fruit")
    INSTANT_FOOD = "instant_food", _("instant food")
    DRINKING_WATER = "drinking_water", _("drinking water")
    SALT_CONDIMENTS = "salt_condiments", _("salt and condiments")
    INFANT_FORMULA = "infant_formula", _("infant formula")
    SPECIAL_MEDICAL_FOOD = "special_medical_food", _("special medical food")
    DAILY_NECESSITIES = "daily_necessities", _("daily necessities")
    PROTECTIVE_MEDICAL = "protective_medical", _("protective and medical supplies")
    MEDICINE = "medicine", _("medicine")


class MedicalTier(models.IntegerChoices):
    """P8: tier 1 front-line protection, tier 2 isolation and mass testing, tier 3 specialist."""

    TIER_1 = 1, _("tier 1: everyday front-line protection")
    TIER_2 = 2, _("tier 2: isolation and mass testing")
    TIER_3 = 3, _("tier 3: specialist or short shelf life")


class Commodity(models.Model):
    code = models.CharField(_("code"), max_length=32, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=64)
    name_en = models.CharField(_("name (English)"), max_length=64)
    category = models.CharField(_("category"), max_length=32, choices=CommodityCategory.choices, db_index=True)
    unit = models.CharField(_("unit"), max_length=16, help_text=_("what one counted unit is, e.g. 'bag 10 kg', 'kg'"))
    weight_kg = models.DecimalField(_("weight per unit (kg)"), max_digits=9, decimal_places=3)
    volume_l = models.DecimalField(_("volume per unit (litres)"), max_digits=9, decimal_places=3)
    shelf_life_days = models.PositiveIntegerField(_("shelf life (days)"), null=True, blank=True)
    is_cold_chain = models.BooleanField(_("cold chain"), default=False)
    # Consumption per person per day in kg (litres for liquids): the basis of
    # days-of-supply. Null for goods not consumed per head (masks, thermometers).
    daily_kg_per_person = models.DecimalField(
        _("daily consumption per person (kg)"), max_digits=8, decimal_places=4, null=True, blank=True
    )
    medical_tier = models.PositiveSmallIntegerField(
        _("medical tier"), choices=MedicalTier.choices, null=True, blank=True
    )
    reserve_days_target = models.PositiveSmallIntegerField(_("reserve target (days)"), null=True, blank=True)

    class Meta:
        verbose_name = _("commodity")
        verbose_name_plural = _("commodities")
        ordering = ["category", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(weight_kg__gt=0) & Q(volume_l__gt=0), name="commodity_positive_size"),
            models.CheckConstraint(
                condition=Q(medical_tier__isnull=True)
                | Q(category__in=["protective_medical", "medicine"], medical_tier__in=[1, 2, 3]),
                name="commodity_tier_only_for_medical",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return localized_name(self.name_zh, self.name_en)


class KitKind(models.TextChoices):
    RELIEF_KIT = "relief_kit", _("relief kit")
    VEGETABLE_PACKAGE = "vegetable_package", _("standard vegetable package")
    SCHOOL_CLASS_KIT = "school_class_kit", _("school class kit")
    SUBDISTRICT_KIT = "subdistrict_kit", _("subdistrict standing kit")


class Kit(models.Model):
    code = models.CharField(_("code"), max_length=32, unique=True)
    kind = models.CharField(_("kind"), max_length=24, choices=KitKind.choices)
    name_zh = models.CharField(_("name (Chinese)"), max_length=64)
    name_en = models.CharField(_("name (English)"), max_length=64)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        verbose_name = _("kit")
        verbose_name_plural = _("kits")
        ordering = ["kind", "code"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return localized_name(self.name_zh, self.name_en)


class KitLine(models.Model):
    kit = models.ForeignKey(Kit, on_delete=models.CASCADE, related_name="lines")
    commodity = models.ForeignKey(Commodity, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(_("quantity"))

    class Meta:
        verbose_name = _("kit line")
        verbose_name_plural = _("kit lines")
        constraints = [
            models.UniqueConstraint(fields=["kit", "commodity"], name="kit_line_unique_commodity"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="kit_line_positive_quantity"),
        ]

    def __str__(self) -> str:
        return f"{self.kit_id}: {self.quantity} × {self.commodity_id}"
