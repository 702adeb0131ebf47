"""Pairing compounds with supermarkets."""

from __future__ import annotations

import pytest

from baogong.accounts.models import Role
from baogong.core.errors import NotFound, PermissionDenied, ValidationFailed
from baogong.core.models import AuditLog
from baogong.enterprises.models import CompoundPairing
from baogong.enterprises.services import compound_pairing_set
from baogong.orders.tests.factories import build_ordering_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def ow():
    return build_ordering_world()


def test_subdistrict_repairs_a_compound_under_it_and_it_is_audited(ow):
    pairing = compound_pairing_set(
        actor=ow.world.users[Role.SUBDISTRICT],
        compound=ow.world.regions["A2"],
        supermarket=ow.other_supermarket,
        backup=ow.supermarket,
        distance_km=2.5,
    )

    assert (pairing.supermarket_id, pairing.backup_id, pairing.distance_km) == (
        ow.other_supermarket.pk,
        ow.supermarket.pk,
        2.5,
    )
    assert CompoundPairing.objects.filter(compound=ow.world.regions["A2"]).count() == 1
    assert AuditLog.objects.get(action="pairing.set").payload == {
        "supermarket": ow.other_supermarket.pk,
        "backup": ow.supermarket.pk,
        "previous_supermarket": ow.supermarket.pk,
        "previous_backup": None,
    }


def test_pairing_is_refused_for_other_roles_other_areas_and_bad_choices(ow):
    subdistrict = ow.world.users[Role.SUBDISTRICT]
    with pytest.raises(PermissionDenied):
        compound_pairing_set(actor=ow.community, compound=ow.world.regions["A2"], supermarket=ow.other_supermarket)
    with pytest.raises(NotFound):
        compound_pairing_set(actor=subdistrict, compound=ow.world.regions["B1"], supermarket=ow.supermarket)
    with pytest.raises(ValidationFailed) as not_compound:
        compound_pairing_set(actor=subdistrict, compound=ow.world.regions["A"], supermarket=ow.supermarket)
    with pytest.raises(ValidationFailed) as same_backup:
        compound_pairing_set(
            actor=subdistrict, compound=ow.world.regions["A2"], supermarket=ow.supermarket, backup=ow.supermarket
        )
    with pytest.raises(ValidationFailed) as not_supermarket:
        compound_pairing_set(
            actor=subdistrict, compound=ow.world.regions["A2"], supermarket=ow.world.organisations["D"]
        )

    assert (not_compound.value.field, same_backup.value.field, not_supermarket.value.field) == (
        "compound",
        "backup",
        "supermarket",
    )
    assert CompoundPairing.objects.get(compound=ow.world.regions["A2"]).supermarket_id == ow.supermarket.pk
    assert not AuditLog.objects.filter(action="pairing.set").exists()
