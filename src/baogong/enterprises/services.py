"""Writes to organisations' relations: the compound ↔ supermarket pairing (一一对接)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext as _

from baogong.accounts.models import Role
from baogong.core.errors import PermissionDenied, ValidationFailed
from baogong.core.scoping import scope_of
from baogong.core.services import audit_record
from baogong.regions.models import Region, RegionLevel
from baogong.regions.selectors import region_get

from .models import CompoundPairing, EnterpriseType, Organisation

if TYPE_CHECKING:
    from baogong.accounts.models import User

# The command office pairs anywhere; a subdistrict re-pairs the compounds under it.
PAIRING_ROLES = frozenset({Role.COMMAND, Role.SUBDISTRICT})
MAX_PAIRING_DISTANCE_KM = 500.0


def _supermarket_validate(organisation: Organisation, *, field: str) -> None:
    if organisation.enterprise_type != EnterpriseType.SUPERMARKET or not organisation.is_active:
        raise ValidationFailed(_("Choose an active supermarket."), field=field)


@transaction.atomic
def compound_pairing_set(
    *,
    actor: User,
    compound: Region,
    supermarket: Organisation,
    backup: Organisation | None = None,
    distance_km: float | None = None,
) -> CompoundPairing:
    """Pair a compound with its supplying supermarket and a backup, replacing any earlier pairing.

    Orders already placed keep the supermarket they were placed with; the new
    pairing applies to orders placed from now on.
    """
    scope = scope_of(actor)
    if scope.role not in PAIRING_ROLES:
        raise PermissionDenied(_("Only the command office or a subdistrict office can change pairings."))
    region_get(scope=scope, region_id=compound.pk)
    if compound.level != RegionLevel.COMPOUND:
        raise ValidationFailed(_("Pair a compound, not another kind of area."), field="compound")
    _supermarket_validate(supermarket, field="supermarket")
    if backup is not None:
        _supermarket_validate(backup, field="backup")
        if backup.pk == supermarket.pk:
            raise ValidationFailed(_("The backup must be a different supermarket."), field="backup")
    if distance_km is not None and not (0 <= distance_km <= MAX_PAIRING_DISTANCE_KM):
        raise ValidationFailed(_("The distance must be between 0 and 500 km."), field="distance_km")
    previous = CompoundPairing.objects.filter(compound=compound).values("supermarket_id", "backup_id").first()
    pairing, _created = CompoundPairing.objects.update_or_create(
        compound=compound,
        defaults={"supermarket": supermarket, "backup": backup, "distance_km": distance_km},
    )
    audit_record(
        actor=actor,
        action="pairing.set",
        target_type="region",
        target_id=compound.pk,
        payload={
            "supermarket": supermarket.pk,
            "backup": backup.pk if backup else None,
            "previous_supermarket": previous["supermarket_id"] if previous else None,
            "previous_backup": previous["backup_id"] if previous else None,
        },
    )
    return pairing
