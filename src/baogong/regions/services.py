"""Writes to the region tree, zone statuses and households."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from baogong.core.errors import ValidationFailed
from baogong.core.services import audit_record

from .models import (
    SEALED_DEFAULT_PERIOD,
    Household,
    Region,
    RegionLevel,
    ZoneStatus,
    ZoneStatusKind,
    vulnerability_mask_of,
)

if TYPE_CHECKING:
    from baogong.accounts.models import User


@transaction.atomic
def region_create(
    *,
    actor: User | None,
    parent: Region | None,
    level: int,
    code: str,
    name: str,
    latitude: float | None = None,
    longitude: float | None = None,
    is_rural: bool = False,
) -> Region:
    """Create a node; the level must be exactly one below the parent's."""
    expected = RegionLevel.COUNTY if parent is None else parent.level + 1
    if level != expected:
        raise ValidationFailed(
            _("A region under this parent must be at level %(level)s.") % {"level": expected}, field="level"
        )
    region = Region(
        parent=parent,
        level=level,
        code=code,
        name=name,
        latitude=latitude,
        longitude=longitude,
        is_rural=is_rural,
        path="",
    )
    region.full_clean(exclude=["path"])
    region.save()
    region.path = f"{parent.path if parent else '/'}{region.pk}/"
    Region.objects.filter(pk=region.pk).update(path=region.path)
    audit_record(
        actor=actor,
        action="region.create",
        target_type="region",
        target_id=region.pk,
        payload={"code": code, "name": name, "level": level, "parent": parent.pk if parent else None},
    )
    return region


@transaction.atomic
def zone_status_set(
    *,
    actor: User | None,
    region: Region,
    status: str,
    reason: str,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
) -> ZoneStatus:
    """Append a zone status period for a region.

    A sealed compound without an explicit end is sealed for 7 days (P7). The
    new row supersedes any earlier period from its start, so history is kept
    and nothing is edited.
    """
    if status not in ZoneStatusKind.values:
        raise ValidationFailed(_("Unknown zone status."), field="status")
    if not reason.strip():
        raise ValidationFailed(_("A reason is required."), field="reason")
    start = starts_at or timezone.now()
    end = ends_at
    if end is None and status == ZoneStatusKind.SEALED and region.level == RegionLevel.COMPOUND:
        end = start + SEALED_DEFAULT_PERIOD
    if end is not None and end <= start:
        raise ValidationFailed(_("The end must be after the start."), field="ends_at")
    zone = ZoneStatus.objects.create(
        region=region, status=status, starts_at=start, ends_at=end, reason=reason.strip(), set_by=actor
    )
    audit_record(
        actor=actor,
        action="zone_status.set",
        target_type="region",
        target_id=region.pk,
        # The reason is free text that may name a resident ("case in room 502, Zhang"): it stays on
        # the zone status row, which the emergency's purge empties; the append-only log only points to it.
        payload={"status": status, "starts_at": start, "ends_at": end, "zone_status": zone.pk},
    )
    return zone


@transaction.atomic
def household_create(
    *,
    actor: User | None,
    unit: Region,
    room: str,
    head_name: str,
    size: int,
    phone: str,
    id_number: str = "",
    vulnerability_tags: list[str] | None = None,
    can_order_online: bool = True,
    notes: str = "",
) -> Household:
    if unit.level != RegionLevel.UNIT:
        raise ValidationFailed(_("A household must be placed in a unit."), field="unit")
    household = Household(
        unit=unit,
        compound_id=unit.ancestor_ids()[RegionLevel.COMPOUND - 1],
        room=room,
        head_name=head_name,
        size=size,
        phone=phone,
        id_number=id_number,
        vulnerability_mask=vulnerability_mask_of(vulnerability_tags or []),
        can_order_online=can_order_online,
        notes=notes,
    )
    household.full_clean()
    household.save()
    # Never put the phone or ID number into the audit payload: the audit log
    # must not become a copy of the personal data it guards.
    audit_record(
        actor=actor,
        action="household.create",
        target_type="household",
        target_id=household.pk,
        payload={"unit": unit.pk, "room": room, "size": size},
    )
    return household
