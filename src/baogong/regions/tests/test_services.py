from datetime import timedelta

import pytest
from django.utils import timezone

from baogong.core.errors import ValidationFailed
from baogong.core.models import AuditLog
from baogong.regions.models import Household, Region, RegionLevel, ZoneStatus
from baogong.regions.selectors import (
    region_effective_zone_status,
    region_effective_zone_statuses,
    region_with_zone_status,
)
from baogong.regions.services import region_create, zone_status_set
from baogong.regions.tests.factories import household, make_tree

pytestmark = pytest.mark.django_db


def test_region_paths_follow_the_tree():
    tree = make_tree()
    assert tree.unit.path == (
        f"/{tree.county.pk}/{tree.subdistrict.pk}/{tree.community.pk}/{tree.compound.pk}/{tree.building.pk}/"
        f"{tree.unit.pk}/"
    )
    assert set(Region.objects.subtree_of(tree.community)) == {tree.community, tree.compound, tree.building, tree.unit}


def test_region_at_wrong_level_is_refused_and_nothing_written():
    tree = make_tree()
    before = (Region.objects.count(), AuditLog.objects.count())
    with pytest.raises(ValidationFailed) as error:
        region_create(actor=None, parent=tree.community, level=RegionLevel.BUILDING, code="X1", name="x")
    assert error.value.field == "level"
    assert (Region.objects.count(), AuditLog.objects.count()) == before


def test_sealing_a_compound_defaults_to_seven_days_and_is_audited():
    tree = make_tree()
    start = timezone.now()
    zone = zone_status_set(actor=None, region=tree.compound, status="sealed", reason="suspected case", starts_at=start)
    assert zone.ends_at - zone.starts_at == timedelta(days=7)
    audit = AuditLog.objects.get(action="zone_status.set")
    assert (audit.target_id, audit.payload["status"], audit.payload["zone_status"]) == (
        str(tree.compound.pk),
        "sealed",
        zone.pk,
    )


def test_sealed_period_ends_after_seven_days():
    tree = make_tree()
    start = timezone.now() - timedelta(days=8)
    zone_status_set(actor=None, region=tree.compound, status="sealed", reason="case", starts_at=start)
    now = timezone.now()
    assert region_effective_zone_status(region=tree.compound, at=start + timedelta(days=6)) == "sealed"
    assert region_effective_zone_status(region=tree.compound, at=now) == "normal"


def test_history_is_kept_and_latest_period_wins():
    tree = make_tree()
    t0 = timezone.now() - timedelta(days=2)
    zone_status_set(actor=None, region=tree.compound, status="sealed", reason="case", starts_at=t0)
    zone_status_set(
        actor=None, region=tree.compound, status="controlled", reason="no new cases", starts_at=t0 + timedelta(days=1)
    )
    assert ZoneStatus.objects.filter(region=tree.compound).count() == 2
    annotated = region_with_zone_status(Region.objects.filter(pk=tree.compound.pk)).get()
    assert annotated.zone_status == "controlled"


def test_zone_status_reason_stays_on_the_period_not_in_the_audit_log():
    tree = make_tree()
    start = timezone.now().replace(microsecond=0)
    zone = zone_status_set(
        actor=None, region=tree.compound, status="sealed", reason="  case in 502, Zhang 13912340000 ", starts_at=start
    )
    assert zone.reason == "case in 502, Zhang 13912340000"
    audit = AuditLog.objects.get(action="zone_status.set")
    assert (audit.target_type, audit.target_id) == ("region", str(tree.compound.pk))
    assert audit.payload == {
        "status": "sealed",
        "starts_at": start.isoformat().replace("+00:00", "Z"),
        "ends_at": (start + timedelta(days=7)).isoformat().replace("+00:00", "Z"),
        "zone_status": zone.pk,
    }


def test_effective_status_is_inherited_from_the_nearest_ancestor():
    tree = make_tree()
    zone_status_set(actor=None, region=tree.subdistrict, status="prevention", reason="district order")
    zone_status_set(actor=None, region=tree.community, status="controlled", reason="community order")
    assert region_effective_zone_status(region=tree.unit) == "controlled"


def test_effective_statuses_of_many_regions_are_read_together_with_the_same_answers(django_assert_num_queries):
    tree = make_tree()
    zone_status_set(actor=None, region=tree.subdistrict, status="prevention", reason="district order")
    zone_status_set(actor=None, region=tree.building, status="sealed", reason="case")
    other = region_create(actor=None, parent=tree.subdistrict, level=RegionLevel.COMMUNITY, name="Other", code="OTH")
    regions = [tree.county, tree.compound, tree.unit, other]

    with django_assert_num_queries(1):
        statuses = region_effective_zone_statuses(regions=regions)

    assert statuses == {
        tree.county.pk: "normal",
        tree.compound.pk: "prevention",
        tree.unit.pk: "sealed",
        other.pk: "prevention",
    }
    assert statuses == {region.pk: region_effective_zone_status(region=region) for region in regions}


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("status", {"status": "closed", "reason": "x"}),
        ("reason", {"status": "sealed", "reason": " "}),
        ("ends_at", {"status": "controlled", "reason": "x", "ends_at": timezone.now() - timedelta(days=1)}),
    ],
)
def test_bad_zone_status_input_names_the_field_and_changes_nothing(field, kwargs):
    tree = make_tree()
    with pytest.raises(ValidationFailed) as error:
        zone_status_set(actor=None, region=tree.compound, **kwargs)
    assert error.value.field == field
    assert ZoneStatus.objects.count() == 0


def test_household_gets_its_compound_and_audit_holds_no_personal_data():
    tree = make_tree()
    created = household(tree.unit, room="1203", phone="13912340000", vulnerability_tags=["dibao", "elderly_alone"])
    assert (created.compound, created.vulnerability_tags, created.is_vulnerable) == (
        tree.compound,
        ["dibao", "elderly_alone"],
        True,
    )
    audit = AuditLog.objects.get(action="household.create")
    assert "13912340000" not in str(audit.payload)
    assert Household.objects.count() == 1
