"""Loading the seed catalogue."""

from __future__ import annotations

from decimal import Decimal

import pytest

from baogong.catalog.data import COMMODITIES, DEMAND_LINES, KITS
from baogong.catalog.models import Commodity, CommodityCategory, Kit, KitLine
from baogong.catalog.services import CatalogLoadResult, catalog_seed_load
from baogong.core.models import AuditLog
from baogong.scenario.parameters import parameters_load

pytestmark = pytest.mark.django_db


def test_load_creates_every_commodity_and_kit_once():
    result = catalog_seed_load(actor=None)
    assert result == CatalogLoadResult(
        commodities_created=len(COMMODITIES), commodities_updated=0, kits_created=len(KITS), kits_updated=0
    )
    assert Commodity.objects.count() == len(COMMODITIES)
    assert set(Commodity.objects.values_list("category", flat=True)) == set(CommodityCategory.values)

    again = catalog_seed_load(actor=None)
    assert again == CatalogLoadResult(0, 0, 0, 0)
    assert AuditLog.objects.filter(action="catalog.seed_load").count() == 1


def test_load_repairs_a_changed_commodity_and_kit_line():
    catalog_seed_load(actor=None)
    Commodity.objects.filter(code="rice_5kg").update(name_en="Changed")
    KitLine.objects.filter(kit__code="relief_kit_8", commodity__code="mask_surgical").update(quantity=9)

    result = catalog_seed_load(actor=None)
    assert result == CatalogLoadResult(0, 1, 0, 1)
    assert Commodity.objects.get(code="rice_5kg").name_en == "Rice"
    assert KitLine.objects.get(kit__code="relief_kit_8", commodity__code="mask_surgical").quantity == 3


def test_relief_kit_is_the_eight_ones():
    catalog_seed_load(actor=None)
    lines = dict(KitLine.objects.filter(kit__code="relief_kit_8").values_list("commodity__code", "quantity"))
    assert lines == {
        "veg_box": 1,
        "rice_5kg": 1,
        "flour_5kg": 1,
        "oil_5l": 1,
        "thermometer": 1,
        "disinfectant_84": 1,
        "alcohol_75": 1,
        "mask_surgical": 3,
    }


def test_vegetable_package_is_five_and_a_half_kilograms_of_six_kinds():
    catalog_seed_load(actor=None)
    kit = Kit.objects.get(code="veg_package_std")
    lines = list(kit.lines.select_related("commodity"))
    assert len(lines) == 6
    assert sum(line.quantity * line.commodity.weight_kg for line in lines) == Decimal("5.5")


def test_medical_tiers_follow_p8():
    tiers = {c.code: c.medical_tier for c in COMMODITIES if c.medical_tier}
    assert {code for code, tier in tiers.items() if tier == 1} == {
        "mask_surgical",
        "mask_n95",
        "protective_suit",
        "goggles",
        "gloves_medical",
        "hand_sanitiser",
        "ir_thermometer",
    }
    assert {code for code, tier in tiers.items() if tier == 2} == {
        "isolation_gown",
        "medical_cap",
        "shoe_covers",
        "face_shield",
        "chlorine_tablets",
    }
    assert {code for code, tier in tiers.items() if tier == 3} == {"medical_alcohol", "test_reagent"}


def test_per_capita_demand_matches_the_county_parameters():
    demand = parameters_load()["county_500k"]["daily_demand_kg_per_person"]
    for line, categories in DEMAND_LINES.items():
        total = sum(
            Decimal(c.daily_kg_per_person)
            for c in COMMODITIES
            if c.category in categories and c.daily_kg_per_person is not None
        )
        assert total == Decimal(str(demand[line])), line
