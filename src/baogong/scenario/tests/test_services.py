"""Scenario generation: counts from the parameter file, structure, ledger, determinism, refusal."""

from __future__ import annotations

import math

import pytest
from django.utils import translation

from baogong.accounts.models import Role, User
from baogong.core.errors import Conflict, ValidationFailed
from baogong.core.models import AuditLog
from baogong.delivery.models import Vehicle
from baogong.enterprises.models import CompoundPairing, DepartmentDuty, Organisation
from baogong.regions.models import VULNERABILITY_BITS, Household, Region, RegionLevel, ZoneStatus
from baogong.regions.services import region_create
from baogong.scenario.departments import DEPARTMENTS
from baogong.scenario.households import VOLUNTEER_PASSWORD
from baogong.scenario.parameters import preset_get
from baogong.scenario.selectors import scenario_digest
from baogong.scenario.services import scenario_generate
from baogong.stock.models import StockBalance, StockMovement, StockPoint
from baogong.stock.selectors import stock_ledger_mismatches

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    return scenario_generate(actor=None, preset="demo", seed=1)


def test_demo_counts_match_the_parameter_file(demo):
    # Given the demo preset of parameters.yaml: 1 county, 2 subdistricts, 6 communities,
    # 15 compounds, 2,400 households, 1 volunteer per 10 households.
    preset = preset_get(name="demo")
    assert (preset.households, preset.urban_compounds, preset.neighbourhood_committees) == (2400, 15, 6)

    levels = {level: Region.objects.filter(level=level).count() for level in RegionLevel}
    assert levels[RegionLevel.COUNTY] == 1
    assert levels[RegionLevel.SUBDISTRICT] == 2
    assert levels[RegionLevel.COMMUNITY] == 6
    assert levels[RegionLevel.COMPOUND] == 15
    assert Household.objects.count() == 2400
    assert User.objects.filter(role=Role.VOLUNTEER).count() == 240
    assert demo.counts["households"] == 2400
    assert demo.counts["volunteers"] == 240
    assert demo.counts["regions"] == Region.objects.count()
    assert demo.counts["residents"] == sum(Household.objects.values_list("size", flat=True))

    supply = preset.supply
    by_type = {
        t: Organisation.objects.filter(enterprise_type=t).count()
        for t in ("supermarket", "wholesale_market", "pharmacy", "logistics", "agreement_reserve")
    }
    assert by_type == {
        "supermarket": supply["paired_supermarkets"],
        "wholesale_market": supply["wholesale_markets"],
        "pharmacy": supply["pharmacies"],
        "logistics": supply["logistics_companies"],
        "agreement_reserve": supply["agreement_reserve_holders"],
    }
    assert Organisation.objects.filter(kind="department").count() == len(DEPARTMENTS) == 14
    assert DepartmentDuty.objects.count() == sum(len(d.duties) for d in DEPARTMENTS)
    assert Vehicle.objects.count() == supply["delivery_vehicles"] == 8
    # One government reserve, one per agreement holder, one per supermarket.
    assert StockPoint.objects.count() == 1 + 2 + 4


def test_paths_and_compound_columns_are_consistent(demo):
    for region in Region.objects.select_related("parent"):
        expected = f"{region.parent.path if region.parent else '/'}{region.pk}/"
        assert region.path == expected
    mismatched = [
        h.pk
        for h in Household.objects.select_related("unit")
        if h.unit.ancestor_ids()[RegionLevel.COMPOUND - 1] != h.compound_id
    ]
    assert mismatched == []
    assert not Household.objects.exclude(unit__level=RegionLevel.UNIT).exists()


def test_every_compound_has_a_pairing_with_a_different_backup(demo):
    compounds = set(Region.objects.filter(level=RegionLevel.COMPOUND).values_list("pk", flat=True))
    pairings = list(CompoundPairing.objects.select_related("supermarket", "backup"))
    assert {p.compound_id for p in pairings} == compounds
    for pairing in pairings:
        assert pairing.backup is not None
        assert pairing.backup_id != pairing.supermarket_id
        assert pairing.supermarket.enterprise_type == "supermarket"
        assert pairing.backup.enterprise_type == "supermarket"


def test_opening_stock_goes_through_the_ledger(demo):
    assert stock_ledger_mismatches() == []
    assert StockMovement.objects.count() == StockBalance.objects.count() == demo.counts["stock_balances"] > 0
    assert set(StockMovement.objects.values_list("kind", flat=True)) == {"receipt"}
    assert not StockBalance.objects.filter(on_hand__lte=0).exists()
    # Grain is sized from per-capita demand x population x the 20-day target, shared by all holders.
    residents = demo.counts["residents"]
    rice_units = sum(StockBalance.objects.filter(commodity__code="rice_5kg").values_list("on_hand", flat=True))
    expected = 0.15 * residents * 20 / 5
    assert expected <= rice_units <= expected + 7  # one unit rounded up per holder at most


def test_households_sizes_and_vulnerable_shares_are_plausible(demo):
    sizes = list(Household.objects.values_list("size", flat=True))
    assert min(sizes) == 1
    assert max(sizes) <= 8
    assert 2.5 <= sum(sizes) / len(sizes) <= 2.8
    vulnerable = Household.objects.exclude(vulnerability_mask=0).count() / len(sizes)
    assert 0.10 <= vulnerable <= 0.35
    alone = Household.objects.extra(
        where=["vulnerability_mask & %s != 0"], params=[VULNERABILITY_BITS["elderly_alone"]]
    )
    assert not alone.exclude(size=1).exists()
    assert 0.04 <= alone.count() / len(sizes) <= 0.10
    offline = Household.objects.filter(can_order_online=False).count() / len(sizes)
    assert 0.20 <= offline <= 0.30
    phones = Household.objects.values_list("phone", flat=True)
    assert all(len(p) == 11 and p.startswith("1") and p.isdigit() for p in phones)


def test_zone_statuses_include_sealed_and_controlled_with_reasons(demo):
    statuses = list(ZoneStatus.objects.all())
    kinds = {z.status for z in statuses}
    assert {"sealed", "controlled"} <= kinds
    assert all(z.reason for z in statuses)
    for zone in statuses:
        assert zone.region.level == RegionLevel.COMPOUND
        if zone.status == "sealed":
            assert (zone.ends_at - zone.starts_at).days == 7
        else:
            assert zone.ends_at is None


def test_volunteers_cannot_sign_in_until_given_a_password(demo):
    volunteer = User.objects.filter(role=Role.VOLUNTEER).order_by("pk").first()
    assert volunteer.password == VOLUNTEER_PASSWORD
    assert not volunteer.has_usable_password()
    assert volunteer.region.level == RegionLevel.COMPOUND


def test_vehicles_belong_to_logistics_companies_with_unique_plates(demo):
    vehicles = list(Vehicle.objects.select_related("owner", "home"))
    assert {v.owner.enterprise_type for v in vehicles} == {"logistics"}
    assert len({v.plate for v in vehicles}) == len(vehicles)
    assert {v.home.kind for v in vehicles} == {"supermarket"}


def test_one_audit_row_records_the_run(demo):
    entry = AuditLog.objects.get(action="scenario.generate")
    assert entry.payload["preset"] == "demo"
    assert entry.payload["seed"] == 1
    assert entry.payload["counts"]["households"] == 2400
    assert entry.payload["digest"] == demo.digest


def test_the_same_seed_gives_the_same_content_and_another_seed_does_not(demo):
    first = scenario_digest(preset="demo", seed=1)
    second = scenario_digest(preset="demo", seed=1)
    other = scenario_digest(preset="demo", seed=2)
    assert first == second == demo.digest
    assert other != first


def test_a_second_generate_is_refused_and_changes_nothing(demo):
    regions, households, audits = Region.objects.count(), Household.objects.count(), AuditLog.objects.count()
    with translation.override("en"), pytest.raises(Conflict) as error:
        scenario_generate(actor=None, preset="demo", seed=2)
    assert "already holds regions" in str(error.value.message)
    assert (Region.objects.count(), Household.objects.count(), AuditLog.objects.count()) == (
        regions,
        households,
        audits,
    )


def test_keys_continue_after_the_generated_rows(demo):
    # Explicit keys must leave the sequences past them (PostgreSQL identity columns).
    root = Region.objects.get(level=RegionLevel.COUNTY)
    created = region_create(actor=None, parent=root, level=RegionLevel.SUBDISTRICT, code="NEW-1", name="新街道")
    assert created.pk == Region.objects.order_by("-pk").values_list("pk", flat=True)[0]
    assert created.pk > max(Region.objects.exclude(pk=created.pk).values_list("pk", flat=True))


@pytest.mark.parametrize(
    ("field", "kwargs"), [("seed", {"seed": -1}), ("subdistrict_fraction", {"seed": 1, "subdistrict_fraction": 0})]
)
def test_bad_arguments_are_refused_before_anything_is_written(field, kwargs):
    with pytest.raises(ValidationFailed) as error:
        scenario_generate(actor=None, preset="demo", **kwargs)
    assert error.value.field == field
    assert not Region.objects.exists()
    assert not AuditLog.objects.exists()


def test_a_fraction_fills_only_the_first_subdistricts():
    result = scenario_generate(actor=None, preset="demo", seed=1, subdistrict_fraction=0.5)
    first = Region.objects.filter(level=RegionLevel.SUBDISTRICT).order_by("code").first()
    assert result.counts["subdistricts_filled"] == 1
    assert Household.objects.count() == Household.objects.filter(compound__path__startswith=first.path).count() > 0
    assert math.isclose(result.counts["households"], Household.objects.count())
    assert stock_ledger_mismatches() == []
